package knmvoxbone

import (
	"context"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/voxbone/emulator"
)

// TestCoalescedOrderTakenOverAfterCrash: two accounts' searches (each with an
// Idempotency-Key) share one order, and its instance dies as the checkout takes effect.
// While the dead instance's lease lasts, a retry on the survivor buys nothing and names the
// order; once it has expired, the survivor settles the order (its routing failing first),
// each account's numbers are held for it and marked pending, each retry gets exactly its
// own, and a later recovery routes every DID. One order, nothing lost or doubled.
func TestCoalescedOrderTakenOverAfterCrash(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	e, store, clock := leaseFixture(t)
	sctx, crash := context.WithCancel(ctx)
	defer crash()
	sw := &crashSwitch{e: e, endpoint: "cart.checkout", nth: 1, effect: true, cancel: crash}
	dying := httptest.NewServer(sw)
	defer dying.Close()
	ds := testSettings(dying.URL)
	ds.RequestTimeout = 5 * time.Second
	ds.Routing.VoiceURI = "sip:{e164}@sbc.example.com"
	ds.CoalesceWindow = 300 * time.Millisecond
	a := newTestCarrier(t, ds, Deps{Store: crashStore{Store: store, crashed: &sw.crashed},
		Owner: func() string { return "a" }, Now: clock.Now})
	accts := []string{account(t, store, 1), account(t, store, 2)}
	want := map[string]int{accts[0]: 2, accts[1]: 3}
	search := func(c *Carrier, ctx context.Context, acct string) ([]knm.SearchRow, error) {
		opts := searchAs(acct, want[acct], time.Minute)
		opts.IdempotencyKey = "key-" + acct
		return c.FindNumbers(ctx, opts)
	}
	var wg sync.WaitGroup
	for _, acct := range accts {
		wg.Go(func() {
			rows, err := search(a, sctx, acct)
			if len(rows) != 0 || !mentions(err, "voxbone order knm-", "held for account "+acct) {
				t.Errorf("search of %s during the crash: %d rows, %v", acct, len(rows), err)
			}
		})
	}
	wg.Wait()
	if !sw.crashed.Load() || len(e.Orders()) != 1 || len(e.DIDs()) != 5 {
		t.Fatalf("crashed %v, %d orders, %d DIDs", sw.crashed.Load(), len(e.Orders()), len(e.DIDs()))
	}

	good := httptest.NewServer(e)
	defer good.Close()
	gs := ds
	gs.BaseURL = testSettings(good.URL).BaseURL
	b := newTestCarrier(t, gs, Deps{Store: store, Owner: func() string { return "b" }, Now: clock.Now})
	e.AddFault(emulator.Fault{Endpoint: "configuration", Status: 500})

	// The owner's lease lasts: a retry waits, then names the order, and buys nothing.
	rctx, rcancel := context.WithTimeout(ctx, 500*time.Millisecond)
	rows, err := search(b, rctx, accts[0])
	rcancel()
	if len(rows) != 0 || !mentions(err, "voxbone order knm-", "held for account "+accts[0]) {
		t.Errorf("retry during the lease: %d rows, %v", len(rows), err)
	}

	clock.Advance(11 * time.Second)
	if rep, err := b.Recover(ctx); err != nil || rep.Imported != 1 {
		t.Fatalf("recover after the lease: %+v, %v", rep, err)
	}
	seen := map[string]string{}
	for _, acct := range accts {
		rows, err := search(b, ctx, acct)
		if err != nil || len(rows) != want[acct] {
			t.Fatalf("retry of %s after takeover: %d rows, %v", acct, len(rows), err)
		}
		for _, r := range rows {
			n, err := store.GetNumber(ctx, r.Number)
			if err != nil || n.AssignedTo != acct || n.State != knm.StateReserved {
				t.Errorf("%s given to %s: %+v, %v", r.Number, acct, n, err)
			}
			if st, _ := RoutingOf(r.CarrierData); st != RoutingPending {
				t.Errorf("%s given to %s as routed (%q) while its routing failed", r.Number, acct, st)
			}
			if prev, ok := seen[r.Number]; ok {
				t.Errorf("%s given to %s and %s", r.Number, prev, acct)
			}
			seen[r.Number] = acct
		}
	}

	e.ClearFaults()
	clock.Advance(10 * time.Minute)
	if rep, err := b.Recover(ctx); err != nil || rep.Routed != 1 {
		t.Fatalf("routing recovery: %+v, %v", rep, err)
	}
	checkRouted(t, &fixture{e: e, store: store}, 5)
	checkInvariants(t, e, store, 1)
}
