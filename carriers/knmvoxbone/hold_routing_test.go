package knmvoxbone

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/voxbone/emulator"
)

// TestHeldNumbersRoutedLaterStillExpire: a search's caller leaves once its checkout is sent,
// and the order's routing fails, so its numbers are held for the account and marked pending.
// Recovery routes them later (a write that clears the mark); when the hold expires the
// numbers still go back to the pool instead of staying reserved for the account forever;
// one the account edited meanwhile stays its own.
func TestHeldNumbersRoutedLaterStillExpire(t *testing.T) {
	t.Parallel()
	testHeldNumbersRoutedLaterStillExpire(t, openSQLite(t))
}

func testHeldNumbersRoutedLaterStillExpire(t *testing.T, store knm.Store) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	e := emulator.New(emulator.Config{})
	threeGroups(t, e)
	answered := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if endpointOf(r) == "cart.checkout" { // the checkout waits until the caller has gone
			select {
			case <-answered:
			case <-time.After(10 * time.Second):
			}
		}
		e.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	s := testSettings(srv.URL)
	s.RequestTimeout = 15 * time.Second
	s.Routing.VoiceURI = "sip:{e164}@sbc.example.com"
	c := newTestCarrier(t, s, Deps{Store: store})
	c.settleTimeout = 20 * time.Second
	e.AddFault(emulator.Fault{Endpoint: "configuration", Status: 500})

	acct := account(t, store, 1)
	sctx, leave := context.WithCancel(ctx)
	opts := searchAs(acct, 2, time.Minute)
	opts.Progress = newLeaveOnCommit(leave)
	rows, err := c.FindNumbers(sctx, opts)
	close(answered)
	if len(rows) != 0 || !mentions(err, "held for account "+acct) {
		t.Fatalf("search: %d rows, %v", len(rows), err)
	}
	for _, n := range waitHeld(t, store, acct, 2) {
		if st, _ := RoutingOf(n.CarrierData); st != RoutingPending {
			t.Fatalf("%s held but routing %q", n.Number, st)
		}
	}

	waitOrdersFinal(t, c)
	e.ClearFaults()
	later := newTestCarrier(t, s, Deps{Store: store})
	later.now = func() time.Time { return time.Now().Add(10 * time.Minute) } // routing retry due
	if rep, err := later.Recover(ctx); err != nil || rep.Routed != 1 {
		t.Fatalf("recover: %+v, %v", rep, err)
	}
	// The account edits one held number: that one stays its own after the hold expires.
	held := waitHeld(t, store, acct, 2)
	kept := held[0].Clone()
	kept.Features = map[string]json.RawMessage{"cnam": json.RawMessage(`{"display_name":"kept"}`)}
	if err := store.UpdateNumber(ctx, kept); err != nil {
		t.Fatal(err)
	}
	expired := newTestCarrier(t, s, Deps{Store: store})
	expired.now = func() time.Time { return time.Now().Add(s.HoldTTL + time.Hour) }
	if n, err := expired.ReleaseExpiredHolds(ctx); err != nil || n != 1 {
		t.Errorf("%d held numbers released after the hold expired, %v", n, err)
	}
	ns, err := store.FindNumbers(ctx, knm.NumberFilter{Module: ModuleName})
	if err != nil || len(ns) != 2 {
		t.Fatalf("%d numbers, %v", len(ns), err)
	}
	for _, n := range ns {
		if n.Number == kept.Number {
			if n.State != knm.StateReserved || n.AssignedTo != acct {
				t.Errorf("%s edited by its account but released: %s %q", n.Number, n.State, n.AssignedTo)
			}
			continue
		}
		if n.State != knm.StateAvailable || n.AssignedTo != "" {
			t.Errorf("%s left %s for %q after its hold expired", n.Number, n.State, n.AssignedTo)
		}
		if st, _ := RoutingOf(n.CarrierData); st != "" {
			t.Errorf("%s routing %s after recovery", n.Number, st)
		}
	}
	checkInvariants(t, e, store, 1)
}

// waitOrdersFinal waits until every order of c's journal is final (the batch that bought
// for a caller who left goes on after the search answered).
func waitOrdersFinal(t *testing.T, c *Carrier) {
	t.Helper()
	for start := time.Now(); time.Since(start) < 20*time.Second; time.Sleep(20 * time.Millisecond) {
		os, err := c.ListOrders(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(os, func(o *OrderResult) bool { return !o.State.Final() }) {
			return
		}
	}
	t.Fatal("orders never became final")
}
