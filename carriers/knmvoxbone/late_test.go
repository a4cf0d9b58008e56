package knmvoxbone

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/voxbone/emulator"
)

// countingServer serves h and counts the requests it gets.
func countingServer(t *testing.T, h http.Handler) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// TestRecoverLateDelivery: a DID Voxbone delivers after the order became partial is
// brought in by Recover alone (no reconcile): through its order, in service for the
// order's assign_to account, the order imported, the money counted once.
func TestRecoverLateDelivery(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ld := newLateDelivery(t)
	store := openSQLite(t)
	acct := strings.Repeat("b", 32)
	c := lateCarrier(t, ld, store, acct)
	c.lateInterval = func(time.Duration) time.Duration { return 0 } // polled twice in a row
	var spent, orders atomic.Int64
	c.metrics.Spent = func(cents int) { spent.Add(int64(cents)) }
	c.metrics.Order = func(OrderState, int) { orders.Add(1) }
	res, err := c.Order(ctx, OrderRequest{GroupID: 5116, Quantity: 3, Country: "US", AssignTo: acct})
	if err != nil || res.State != StatePartial || len(res.Numbers) != 2 {
		t.Fatalf("order: %+v, %v", res, err)
	}
	paid := spent.Load()
	if want := int64(res.CostCents * 2 / 3); paid != want {
		t.Fatalf("spent %d cents for 2 of 3 DIDs, want %d", paid, want)
	}

	// Not delivered yet: Recover looks, finds nothing new, the order stays partial as it was.
	rep, err := c.Recover(ctx)
	if err != nil || rep.Examined != 0 || rep.LateChecked != 1 || rep.LateImported != 0 || rep.LateCompleted != 0 || len(rep.Unsettled) != 0 {
		t.Fatalf("recover before the delivery: %+v, %v", rep, err)
	}
	got, err := c.GetOrder(ctx, res.OrderID)
	if err != nil || got.State != StatePartial || len(got.Numbers) != 2 || !strings.Contains(got.Error, "delivered 2 of 3") {
		t.Fatalf("order before the delivery: %+v, %v", got, err)
	}
	if spent.Load() != paid || orders.Load() != 1 {
		t.Fatalf("a look finding nothing counted: spent %d (want %d), %d order events", spent.Load(), paid, orders.Load())
	}

	ld.deliver.Store(true)
	rep, err = c.Recover(ctx)
	if err != nil || rep.LateChecked != 1 || rep.LateImported != 1 || rep.LateCompleted != 1 || len(rep.Unsettled) != 0 {
		t.Fatalf("recover after the delivery: %+v, %v", rep, err)
	}
	n, err := store.GetNumber(ctx, ld.late)
	if err != nil || n.State != knm.StateInService || n.AssignedTo != acct || n.ModuleName != ModuleName {
		t.Fatalf("late DID stored %+v, %v", n, err)
	}
	got, err = c.GetOrder(ctx, res.OrderID)
	if err != nil || got.State != StateImported || len(got.Numbers) != 3 || !slices.Contains(got.Numbers, ld.late) || got.Error != "" {
		t.Fatalf("order after the late delivery: %+v, %v", got, err)
	}
	if want := int64(got.CostCents); spent.Load() != want {
		t.Errorf("spent %d cents, want %d", spent.Load(), want)
	}
	if orders.Load() != 2 { // partial, then imported
		t.Errorf("%d final order events, want 2", orders.Load())
	}

	// Nothing left: an imported order is not looked at again, reconcile finds nothing, and
	// nothing is counted twice.
	if rep, err := c.Recover(ctx); err != nil || rep.LateChecked != 0 || rep.LateImported != 0 {
		t.Errorf("recover again: %+v, %v", rep, err)
	}
	if rep, err := c.Reconcile(ctx, true); err != nil || rep.Imported != 0 || len(rep.LateDeliveries) != 0 || len(rep.UnknownToKnm) != 0 {
		t.Errorf("reconcile after recover: %+v, %v", rep, err)
	}
	if want := int64(got.CostCents); spent.Load() != want || orders.Load() != 2 {
		t.Errorf("after another recover and reconcile: spent %d cents (want %d), %d order events", spent.Load(), want, orders.Load())
	}
}

// TestRecoverLateHorizon: a partial order checked out more than LateDeliveryHorizon ago, or
// placed on another Voxbone account, gets no request from Recover and is left as it is;
// the same order within the horizon, on its account, is looked at and completed.
func TestRecoverLateHorizon(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ld := newLateDelivery(t)
	store := openSQLite(t)
	c := lateCarrier(t, ld, store, "")
	res, err := c.Order(ctx, OrderRequest{GroupID: 5116, Quantity: 3, Country: "US"})
	if err != nil || res.State != StatePartial {
		t.Fatalf("order: %+v, %v", res, err)
	}
	before, err := store.GetJournal(ctx, res.OrderID)
	if err != nil {
		t.Fatal(err)
	}
	ld.deliver.Store(true)
	srv, calls := countingServer(t, ld.srv.Config.Handler)

	old := newTestCarrier(t, testSettings(srv.URL), store, nil)
	old.now = func() time.Time { return time.Now().Add(LateDeliveryHorizon + time.Hour) }
	other := newTestCarrier(t, testSettings(srv.URL), store, nil)
	other.account = "another-account"
	for name, c := range map[string]*Carrier{"past the horizon": old, "another account": other} {
		rep, err := c.Recover(ctx)
		if err != nil || rep.LateChecked != 0 || rep.LateImported != 0 || len(rep.Unsettled) != 0 {
			t.Errorf("%s: recover %+v, %v", name, rep, err)
		}
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("%d voxbone request(s) for a partial order Recover must leave alone", n)
	}
	if e, err := store.GetJournal(ctx, res.OrderID); err != nil || e.Rev != before.Rev || OrderState(e.State) != StatePartial {
		t.Errorf("order row touched: %+v, %v", e, err)
	}
	if _, err := store.GetNumber(ctx, ld.late); !knm.IsErrorName(err, knm.ErrNotFound) {
		t.Errorf("late DID stored: %v", err)
	}

	// Within the horizon the same server is asked, and the order completed.
	now := newTestCarrier(t, testSettings(srv.URL), store, nil)
	now.now = func() time.Time { return time.Now().Add(LateDeliveryHorizon - time.Hour) }
	if rep, err := now.Recover(ctx); err != nil || rep.LateChecked != 1 || rep.LateImported != 1 || rep.LateCompleted != 1 {
		t.Fatalf("recover within the horizon: %+v, %v", rep, err)
	}
	if calls.Load() == 0 {
		t.Error("no request within the horizon")
	}
	if got, err := now.GetOrder(ctx, res.OrderID); err != nil || got.State != StateImported || len(got.Numbers) != 3 {
		t.Errorf("order within the horizon: %+v, %v", got, err)
	}
}

// TestRecoverLateBatch: one Recover run looks at no more than lateBatch partial orders, the
// least recently looked at first, so successive runs go round all of them.
func TestRecoverLateBatch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, nil, emulator.Config{})
	f.c.lateBatch = 2
	f.c.lateInterval = func(time.Duration) time.Duration { return 0 } // two runs in a row
	// The delivery deadline is left as it is: a partial order looked at before it (a
	// shortened deadline, say) stays partial, it never waits again.
	var ids []string
	for range 3 {
		res, err := f.c.Order(ctx, OrderRequest{GroupID: 5117, Quantity: 1, Country: "US"})
		if err != nil || res.State != StateImported {
			t.Fatal(res, err)
		}
		// Voxbone delivered 1 of 2: the row becomes a partial order of 2.
		e, err := f.store.GetJournal(ctx, res.OrderID)
		if err != nil {
			t.Fatal(err)
		}
		var p orderPayload
		if err := json.Unmarshal(e.Payload, &p); err != nil {
			t.Fatal(err)
		}
		p.Plan[0].Quantity = 2
		e.Payload, _ = json.Marshal(p)
		e.State = string(StatePartial)
		if err := f.store.UpdateJournal(ctx, e); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res.OrderID)
	}
	checkedAt := func() map[string]time.Time {
		out := map[string]time.Time{}
		for _, id := range ids {
			e, err := f.store.GetJournal(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			o, err := decodeOrder(e)
			if err != nil {
				t.Fatal(err)
			}
			if OrderState(e.State) != StatePartial {
				t.Errorf("order %s: %s, want partial", id, e.State)
			}
			if o.p.LateCheckedAt != nil {
				out[id] = *o.p.LateCheckedAt
			}
		}
		return out
	}
	run := func() {
		t.Helper()
		calls := f.e.Calls("did.list")
		rep, err := f.c.Recover(ctx)
		if err != nil || rep.LateChecked != 2 || rep.LateImported != 0 || len(rep.Unsettled) != 0 {
			t.Fatalf("recover: %+v, %v", rep, err)
		}
		if n := f.e.Calls("did.list") - calls; n != 2 {
			t.Errorf("%d DID listings, want 2 (one per order looked at)", n)
		}
	}
	run()
	first := checkedAt()
	if len(first) != 2 {
		t.Fatalf("%d orders looked at by the first run, want 2", len(first))
	}
	run()
	second := checkedAt()
	if len(second) != 3 {
		t.Fatalf("the second run did not look at the order the first left: %v", second)
	}
	// The second run looked at the one left, then the earlier of the first run's two.
	var earliest string
	for id, at := range first {
		if earliest == "" || at.Before(first[earliest]) {
			earliest = id
		}
	}
	for id, at := range first {
		if moved := !second[id].Equal(at); moved != (id == earliest) {
			t.Errorf("order %s looked at again: %v, want %v", id, moved, id == earliest)
		}
	}
}
