package knmvoxbone

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/store/sqlite"
	"github.com/knmproject/knm/voxbone/emulator"
)

// testClock is a settable clock shared by a store and its carriers.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// leaseFixture: an emulator, a store on a settable clock, and two registered instances, a
// (lease of 10 s) and b (an hour).
func leaseFixture(t *testing.T) (*emulator.Emulator, knm.Store, *testClock) {
	t.Helper()
	clock := &testClock{now: time.Now().UTC()}
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "knm.db"), sqlite.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	for id, ttl := range map[string]time.Duration{"a": 10 * time.Second, "b": time.Hour} {
		if err := s.RegisterInstance(context.Background(), &knm.Instance{ID: id}, ttl); err != nil {
			t.Fatal(err)
		}
	}
	e := emulator.New(emulator.Config{})
	threeGroups(t, e)
	return e, s, clock
}

// TestRecoverTakesOverOnlyAfterLeaseExpiry: an order whose instance died after its checkout
// took effect is not touched while that instance's lease lasts, is taken over and settled by
// another instance as soon as the lease has expired, and the dead owner's late write is
// refused.
func TestRecoverTakesOverOnlyAfterLeaseExpiry(t *testing.T) {
	ctx := context.Background()
	e, store, clock := leaseFixture(t)
	sctx, scancel := context.WithCancel(ctx)
	defer scancel()
	sw := &crashSwitch{e: e, endpoint: "cart.checkout", nth: 1, effect: true, cancel: scancel}
	dying := httptest.NewServer(sw)
	defer dying.Close()
	a := newTestCarrier(t, testSettings(dying.URL), Deps{Store: crashStore{Store: store, crashed: &sw.crashed},
		Owner: func() string { return "a" }, Now: clock.Now})
	res, err := a.Order(sctx, OrderRequest{GroupID: 5116, Quantity: 3, Country: "US"})
	if err != nil || res.State != StateCheckoutSent {
		t.Fatalf("the dying order: %+v, %v", res, err)
	}
	good := httptest.NewServer(e)
	defer good.Close()
	b := newTestCarrier(t, testSettings(good.URL), Deps{Store: store, Owner: func() string { return "b" },
		Now: clock.Now})

	rep, err := b.Recover(ctx)
	if err != nil || rep.Examined != 0 || rep.Running != 1 {
		t.Fatalf("recover while a's lease lasts: %+v, %v", rep, err)
	}
	row, err := store.GetJournal(ctx, res.OrderID)
	if err != nil || row.State != string(StateCheckoutSent) || row.Owner != "a" || row.Fence != 1 {
		t.Fatalf("row while a's lease lasts: %+v, %v", row, err)
	}

	clock.Advance(11 * time.Second)
	rep, err = b.Recover(ctx)
	if err != nil || rep.Examined != 1 || rep.Imported != 1 {
		t.Fatalf("recover after a's lease ended: %+v, %v", rep, err)
	}
	row, err = store.GetJournal(ctx, res.OrderID)
	if err != nil || row.State != string(StateImported) || row.Owner != "b" || row.Fence != 2 {
		t.Fatalf("row after takeover: %+v, %v", row, err)
	}
	checkInvariants(t, e, store, 1)

	stale := *row
	stale.Owner, stale.Fence, stale.State = "a", 1, string(StateFailed)
	if err := store.UpdateJournal(ctx, &stale); !knm.IsLeaseLost(err) {
		t.Fatalf("the dead owner's write: %v, want lease lost", err)
	}
}

// TestRecoverLeavesOwnFlightsAlone: an unfinished order of this very instance is settled by
// its recovery only once it no longer runs here.
func TestRecoverLeavesOwnFlightsAlone(t *testing.T) {
	ctx := context.Background()
	e, store, clock := leaseFixture(t)
	srv := httptest.NewServer(e)
	defer srv.Close()
	b := newTestCarrier(t, testSettings(srv.URL), Deps{Store: store, Owner: func() string { return "b" },
		Now: clock.Now})
	o, err := b.createOrder(ctx, orderPayload{OrderID: newOrderID()})
	if err != nil {
		t.Fatal(err)
	}
	b.flights.begin(o.OrderID)
	rep, err := b.Recover(ctx)
	if err != nil || rep.Examined != 0 || rep.Running != 1 {
		t.Fatalf("recover during the flight: %+v, %v", rep, err)
	}
	b.flights.end(o.OrderID)
	rep, err = b.Recover(ctx)
	if err != nil || rep.Examined != 1 || rep.Failed != 1 {
		t.Fatalf("recover after the flight: %+v, %v", rep, err)
	}
	row, err := store.GetJournal(ctx, o.OrderID)
	if err != nil || row.Owner != "b" || row.Fence != 1 || row.State != string(StateFailed) {
		t.Fatalf("own row after recover: %+v, %v", row, err)
	}
}

// TestRecoverWithoutLeaseLeavesOwnedOrders: a process holding no lease settles orders
// without an owner, and reports (does not touch) those of an instance whose lease ended.
func TestRecoverWithoutLeaseLeavesOwnedOrders(t *testing.T) {
	ctx := context.Background()
	e, store, clock := leaseFixture(t)
	srv := httptest.NewServer(e)
	defer srv.Close()
	a := newTestCarrier(t, testSettings(srv.URL), Deps{Store: store, Owner: func() string { return "a" },
		Now: clock.Now})
	o, err := a.createOrder(ctx, orderPayload{OrderID: newOrderID()})
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(11 * time.Second)
	anon := newTestCarrier(t, testSettings(srv.URL), Deps{Store: store, Now: clock.Now})
	rep, err := anon.Recover(ctx)
	if err != nil || rep.Examined != 1 || len(rep.Unsettled) != 1 {
		t.Fatalf("recover without a lease: %+v, %v", rep, err)
	}
	row, err := store.GetJournal(ctx, o.OrderID)
	if err != nil || row.Owner != "a" || row.State != string(StatePlanned) {
		t.Fatalf("row: %+v, %v", row, err)
	}
}
