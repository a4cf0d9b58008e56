package manager

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/knmproject/knm"
)

// TestSearchWaitsForACommittedCarrier: a carrier that has sent a purchase for the search is
// waited for past the deadline (within the settle bound) and its numbers are returned.
func TestSearchWaitsForACommittedCarrier(t *testing.T) {
	forEachStore(t, func(t *testing.T, s knm.Store) {
		buying := newFake("knm_buying", row("+14155550007", "knm_buying", knm.StateAvailable))
		buying.commit = "order-1"
		buying.delay = 600 * time.Millisecond
		e := newEnv(t, s, Policy{CarrierModules: []string{"knm_buying"}, SearchTimeout: 100 * time.Millisecond,
			SearchSettleTimeout: time.Minute}, buying)
		res, err := e.m.Search(context.Background(), SearchRequest{Prefix: "415", Quantity: 1, AccountID: accS,
			ResellerID: accR})
		if err != nil {
			t.Fatal(err)
		}
		if got := numbersOf(res.Numbers); !slices.Equal(got, []string{"+14155550007"}) {
			t.Fatalf("numbers = %v", got)
		}
		if r := reportOf(t, res, "knm_buying"); r.Status != CarrierOK {
			t.Fatalf("report = %+v", r)
		}
	})
}

// TestSearchNamesTheOrderPastTheSettleBound: a committed carrier still running after the
// settle bound is cancelled, and the report names its order; what it offered is kept.
func TestSearchNamesTheOrderPastTheSettleBound(t *testing.T) {
	forEachStore(t, func(t *testing.T, s knm.Store) {
		buying := newFake("knm_buying")
		buying.offer = []knm.SearchRow{row("+14155550008", "knm_buying", knm.StateAvailable)}
		buying.commit = "order-2"
		buying.delay = time.Minute
		e := newEnv(t, s, Policy{CarrierModules: []string{"knm_buying"}, SearchTimeout: 100 * time.Millisecond,
			SearchSettleTimeout: 200 * time.Millisecond}, buying)
		res, err := e.m.Search(context.Background(), SearchRequest{Prefix: "415", Quantity: 2, AccountID: accS,
			ResellerID: accR})
		if err != nil {
			t.Fatal(err)
		}
		if got := numbersOf(res.Numbers); !slices.Equal(got, []string{"+14155550008"}) {
			t.Fatalf("numbers = %v, want the offered one; %+v", got, res.Carriers)
		}
		r := reportOf(t, res, "knm_buying")
		// The carrier's own context ends with the bound too: it may answer first, with an error.
		if (r.Status != CarrierTimeout && r.Status != CarrierError) || r.Order != "order-2" || r.Count != 1 {
			t.Fatalf("report = %+v", r)
		}
		select {
		case <-buying.cancelled:
		case <-time.After(10 * time.Second):
			t.Fatal("the carrier was not cancelled after the settle bound")
		}
	})
}

// TestSearchKeepsOfferedRowsOfATimedOutCarrier: a carrier that never committed is cancelled
// at the deadline, but the numbers it offered (its pool) are still returned.
func TestSearchKeepsOfferedRowsOfATimedOutCarrier(t *testing.T) {
	forEachStore(t, func(t *testing.T, s knm.Store) {
		slow := newFake("knm_slow")
		slow.offer = []knm.SearchRow{row("+14155550009", "knm_slow", knm.StateAvailable)}
		slow.delay = time.Minute
		e := newEnv(t, s, Policy{CarrierModules: []string{"knm_slow"}, SearchTimeout: 100 * time.Millisecond}, slow)
		res, err := e.m.Search(context.Background(), SearchRequest{Prefix: "415", Quantity: 2, AccountID: accS,
			ResellerID: accR})
		if err != nil {
			t.Fatal(err)
		}
		if got := numbersOf(res.Numbers); !slices.Equal(got, []string{"+14155550009"}) {
			t.Fatalf("numbers = %v", got)
		}
		if r := reportOf(t, res, "knm_slow"); r.Status != CarrierTimeout || r.Order != "" {
			t.Fatalf("report = %+v", r)
		}
		select {
		case <-slow.cancelled:
		case <-time.After(10 * time.Second):
			t.Fatal("the slow carrier was not cancelled at the deadline")
		}
	})
}
