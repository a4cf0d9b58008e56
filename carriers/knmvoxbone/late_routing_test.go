package knmvoxbone

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/knmproject/knm/voxbone/emulator"
)

// backOrderFixture is a routed fixture whose group 5116 lists 5 DIDs in stock but holds 2,
// so an order of 3 is back-ordered by the emulator for one DID, delivered by
// DeliverBackOrders once stock is set.
func backOrderFixture(t *testing.T) *fixture {
	t.Helper()
	e := emulator.New(emulator.Config{})
	threeGroups(t, e)
	if err := e.SetStock(5116, 2); err != nil {
		t.Fatal(err)
	}
	listed := &rewriter{e: e, endpoint: "didgroup.list", edit: func(_ *http.Request, m map[string]any) {
		gs, _ := m["didGroups"].([]any)
		for _, g := range gs {
			if g := g.(map[string]any); g["didGroupId"] == float64(5116) {
				g["stock"] = 5
			}
		}
	}}
	srv := httptest.NewServer(listed)
	t.Cleanup(srv.Close)
	store := openSQLite(t)
	s := testSettings(srv.URL)
	s.Routing.VoiceURI = "sip:{e164}@sbc.example.com"
	return &fixture{e: e, srv: srv, store: store, c: newTestCarrier(t, s, Deps{Store: store}), s: s}
}

// TestLateDeliveryRouted: DIDs Voxbone delivers after the order's checkout (a real
// back-order) are routed as the first delivery was, whichever path imports them: Recover
// of an order awaiting delivery, Recover's look at a partial order, reconcile --import.
// The late DID joins the order's routing job, which ends done with all three DIDs.
func TestLateDeliveryRouted(t *testing.T) {
	t.Parallel()
	for _, path := range []string{"awaiting", "partial", "reconcile"} {
		t.Run(path, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			f := backOrderFixture(t)
			want := StateAwaitingDelivery
			if path != "awaiting" {
				f.c.deliveryDeadline, want = -time.Hour, StatePartial
				f.c.lateInterval = func(time.Duration) time.Duration { return 0 }
			}
			res, err := f.c.Order(ctx, OrderRequest{GroupID: 5116, Quantity: 3, Country: "US"})
			if err != nil || res.State != want || len(res.Numbers) != 2 {
				t.Fatalf("order: %+v, %v", res, err)
			}
			checkRouted(t, f, 2)
			if err := f.e.SetStock(5116, 1); err != nil {
				t.Fatal(err)
			}
			if n := f.e.DeliverBackOrders(); n != 1 {
				t.Fatalf("%d back-ordered DIDs delivered, want 1", n)
			}
			importLate(t, f, path)
			checkRouted(t, f, 3)
			got, err := f.c.GetOrder(ctx, res.OrderID)
			if err != nil || got.State != StateImported || len(got.Numbers) != 3 {
				t.Fatalf("order after the late delivery: %+v, %v", got, err)
			}
			e, err := f.store.GetJournal(ctx, routeRowID(res.OrderID))
			if err != nil || e.State != RoutingDone {
				t.Fatalf("routing job %+v, %v", e, err)
			}
			var j routeJob
			if err := json.Unmarshal(e.Payload, &j); err != nil || len(j.DIDs) != 3 {
				t.Fatalf("routing job DIDs %+v, %v", j.DIDs, err)
			}
			for _, d := range j.DIDs {
				if !d.Done {
					t.Errorf("DID %s not done in the routing job", d.Number)
				}
			}
		})
	}
}

// importLate brings the late DID in through path.
func importLate(t *testing.T, f *fixture, path string) {
	t.Helper()
	ctx := context.Background()
	if path == "reconcile" {
		f.c.lateHorizon = 0 // Recover leaves partial orders alone: reconcile imports
		rep, err := f.c.Reconcile(ctx, true)
		if err != nil || rep.Imported != 1 || len(rep.LateDeliveries) != 1 {
			t.Fatalf("reconcile --import: %+v, %v", rep, err)
		}
		return
	}
	rep, err := f.c.Recover(ctx)
	if err != nil || len(rep.Unsettled) != 0 {
		t.Fatalf("recover: %+v, %v", rep, err)
	}
}
