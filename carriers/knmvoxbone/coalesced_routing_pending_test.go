package knmvoxbone

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/knmproject/knm/voxbone/emulator"
)

// TestCoalescedOrderRoutingFailureIsToldToEveryCaller: three accounts' searches share one
// order whose configuration request fails. Each caller gets its own numbers, every one of
// them marked routing pending (never shown as routed), and one recovery routes them all.
func TestCoalescedOrderRoutingFailureIsToldToEveryCaller(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := routedFixture(t, emulator.Config{}, nil)
	f.c.settings.CoalesceWindow = 300 * time.Millisecond
	f.e.AddFault(emulator.Fault{Endpoint: "configuration", Status: 500})
	var wg sync.WaitGroup
	seen := map[string]bool{}
	var mu sync.Mutex
	for i := range 3 {
		acct := account(t, f.store, 20+i)
		wg.Go(func() {
			rows, err := f.c.FindNumbers(ctx, searchAs(acct, 2, time.Minute))
			if err != nil || len(rows) != 2 {
				t.Errorf("%s: %d rows, %v", acct, len(rows), err)
			}
			mu.Lock()
			defer mu.Unlock()
			for _, r := range rows {
				if st, _ := RoutingOf(r.CarrierData); st != RoutingPending {
					t.Errorf("%s given to %s with routing %q while configuration failed", r.Number, acct, st)
				}
				if seen[r.Number] {
					t.Errorf("%s given twice", r.Number)
				}
				seen[r.Number] = true
			}
		})
	}
	wg.Wait()
	if n := len(f.e.Orders()); n != 1 {
		t.Fatalf("%d orders, want 1 shared", n)
	}
	checkNeverSilentlyRouted(t, f.e, f.store)
	f.e.ClearFaults()
	later := newTestCarrier(t, f.s, Deps{Store: f.store})
	if rep, err := later.Recover(ctx); err != nil || len(rep.Unsettled) > 0 || rep.RoutingPending != 0 {
		t.Fatalf("recover: %+v, %v", rep, err)
	}
	checkRouted(t, f, 6)
	checkInvariants(t, f.e, f.store, 1)
}
