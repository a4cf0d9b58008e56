package knmvoxbone

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/voxbone/emulator"
)

// TestCallerLeavingGatheredBatchIsToldItsOrder: two accounts' searches share one order; one
// caller gives up while the cart is being filled (after the batch was gathered, before the
// checkout), the other waits. The order still buys the share of the one who left and holds
// its numbers for its account, so that caller must be told which order holds them, not
// merely that its search timed out.
func TestCallerLeavingGatheredBatchIsToldItsOrder(t *testing.T) {
	t.Parallel()
	testCallerLeavingGatheredBatchIsToldItsOrder(t, openSQLite(t))
}

func testCallerLeavingGatheredBatchIsToldItsOrder(t *testing.T, store knm.Store) {
	ctx := context.Background()
	actx, leave := context.WithCancel(ctx)
	defer leave()
	var once sync.Once
	f := newMoneyFixture(t, store, emulator.Config{}, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if endpointOf(r) == "cart.create" {
				once.Do(func() {
					leave()                            // caller a gives up while the cart is filled
					time.Sleep(200 * time.Millisecond) // and has gone before the checkout
				})
			}
			h.ServeHTTP(w, r)
		})
	})
	f.c.settings.CoalesceWindow = 300 * time.Millisecond
	a, b := account(t, f.store, 1), account(t, f.store, 2)
	var (
		wg    sync.WaitGroup
		aRows []knm.SearchRow
		aErr  error
	)
	wg.Go(func() { aRows, aErr = f.c.FindNumbers(actx, searchAs(a, 2, time.Minute)) })
	wg.Go(func() {
		rows, err := f.c.FindNumbers(ctx, searchAs(b, 2, time.Minute))
		if err != nil || len(rows) != 2 {
			t.Errorf("the caller who waited: %d rows, %v", len(rows), err)
		}
	})
	wg.Wait()
	if n := len(f.e.Orders()); n != 1 {
		t.Fatalf("%d orders, want 1 shared", n)
	}
	held := waitHeld(t, f.store, a, 2)
	if len(aRows) == 0 && !mentions(aErr, "voxbone order knm-", "held for account "+a) {
		t.Errorf("the caller who left got nothing and was told %v, while %d numbers were bought and held for it",
			aErr, len(held))
	}
	checkInvariants(t, f.e, f.store, 1)
}
