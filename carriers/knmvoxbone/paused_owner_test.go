package knmvoxbone

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/knmproject/knm"
)

// TestPausedOwnerAfterTakeoverTellsTheTruth: the instance running a shared order stalls
// right after its checkout took effect (a long GC pause, SIGSTOP) past its lease; another
// instance takes the order over and holds each account's numbers for it. When the stalled
// instance wakes up, its callers, still waiting, must not be told that Voxbone delivered
// nothing: they get their numbers or the order that holds them. Nothing is bought twice.
func TestPausedOwnerAfterTakeoverTellsTheTruth(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	e, store, clock := leaseFixture(t)
	checkedOut, resume := make(chan struct{}), make(chan struct{})
	stall := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if endpointOf(r) != "cart.checkout" {
			e.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, r) // the checkout takes effect, then the instance stalls
		close(checkedOut)
		<-resume
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
	}))
	defer stall.Close()
	as := testSettings(stall.URL)
	as.RequestTimeout = 30 * time.Second
	as.CoalesceWindow = 200 * time.Millisecond
	a := newTestCarrier(t, as, Deps{Store: store, Owner: func() string { return "a" }, Now: clock.Now})
	a.settleTimeout = 40 * time.Second
	accts := []string{account(t, store, 1), account(t, store, 2)}
	var wg sync.WaitGroup
	for _, acct := range accts {
		wg.Go(func() {
			rows, err := a.FindNumbers(ctx, searchAs(acct, 2, 50*time.Second))
			t.Logf("%s: %v, %v", acct, numbersOf(rows), err)
			if len(rows) != 2 && !mentions(err, "voxbone order knm-", "held for account "+acct) {
				t.Errorf("%s: %d rows, told %v", acct, len(rows), err)
			}
			for _, r := range rows { // its own: those held for it by the instance that took over
				if n, err := store.GetNumber(ctx, r.Number); err != nil || n.AssignedTo != acct {
					t.Errorf("%s given %s, which is %+v, %v", acct, r.Number, n, err)
				}
			}
		})
	}
	<-checkedOut
	good := httptest.NewServer(e)
	defer good.Close()
	b := newTestCarrier(t, testSettings(good.URL), Deps{Store: store, Owner: func() string { return "b" },
		Now: clock.Now})
	clock.Advance(11 * time.Second)
	if rep, err := b.Recover(ctx); err != nil || rep.Imported != 1 {
		t.Fatalf("takeover: %+v, %v", rep, err)
	}
	for _, acct := range accts {
		waitHeld(t, store, acct, 2)
	}
	close(resume)
	wg.Wait()
	checkInvariants(t, e, store, 1)
	for _, acct := range accts {
		ns, err := store.FindNumbers(ctx, knm.NumberFilter{AssignedTo: &acct, Module: ModuleName})
		if err != nil || len(ns) != 2 {
			t.Errorf("%s has %d numbers, %v", acct, len(ns), err)
		}
	}
}
