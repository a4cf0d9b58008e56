package knmvoxbone

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/voxbone/emulator"
)

// TestPlanPurchaseBuysNothingAndMatchesTheSearch quotes a search, checks the emulator saw
// no cart, then runs the search and checks it bought what the quote said.
func TestPlanPurchaseBuysNothingAndMatchesTheSearch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, emulator.Config{})
	q := PurchaseQuery{Country: "US", Dialcode: "+1", Prefix: "256", Want: 3}
	plan, err := f.c.PlanPurchase(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if plan.FromPool != 0 || plan.ToBuy != 3 || plan.CostCents <= 0 || plan.Short != "" || len(plan.Lines) == 0 {
		t.Fatalf("plan %+v", plan)
	}
	if len(f.e.DIDs()) != 0 || len(f.e.Carts()) != 0 {
		t.Fatalf("the quote bought or carted: %d DIDs, %d carts", len(f.e.DIDs()), len(f.e.Carts()))
	}
	rows, err := search256(ctx, f.c, 3)
	if err != nil || len(rows) != 3 {
		t.Fatalf("search: %d rows, %v", len(rows), err)
	}
	orders, err := f.c.OrdersForQuery(ctx, "US-256-test", false)
	if err != nil || len(orders) != 1 || orders[0].CostCents != plan.CostCents || len(orders[0].Numbers) != 3 {
		t.Fatalf("orders of the search: %+v %v", orders, err)
	}
	if running, err := f.c.OrdersForQuery(ctx, "US-256-test", true); err != nil || len(running) != 0 {
		t.Fatalf("unfinished orders after the search: %d %v", len(running), err)
	}
	// Now the pool serves it, and a quote says so.
	if plan, err = f.c.PlanPurchase(ctx, q); err != nil || plan.FromPool != 3 || plan.ToBuy != 0 {
		t.Fatalf("quote after the purchase: %+v %v", plan, err)
	}
	// A cap shows in the quote as the reason it falls short.
	q.Prefix, q.Want = "205", 40
	if plan, err = f.c.PlanPurchase(ctx, q); err != nil || plan.Short == "" || plan.ToBuy > f.s.MaxOrderQuantity {
		t.Fatalf("capped quote: %+v %v", plan, err)
	}
}

// TestSettleOrderWaitsForIdleThenSettlesWithoutBuyingAgain leaves an order whose process
// died after the checkout, refuses to settle it while it may still be running, then
// settles it as recovery does: the bought DIDs imported, nothing bought twice.
func TestSettleOrderWaitsForIdleThenSettlesWithoutBuyingAgain(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, emulator.Config{})
	sctx, scancel := context.WithCancel(ctx)
	defer scancel()
	sw := &crashSwitch{e: f.e, endpoint: "cart.checkout", nth: 1, effect: true, cancel: scancel}
	dying := httptest.NewServer(sw)
	defer dying.Close()
	old := newTestCarrier(t, testSettings(dying.URL), Deps{Store: crashStore{Store: f.store, crashed: &sw.crashed}})
	_, _ = search256(sctx, old, 2)
	running, err := f.c.OrdersForQuery(ctx, "US-256-test", true)
	if err != nil || len(running) != 1 || running[0].State != StateCheckoutSent {
		t.Fatalf("the dead order: %+v %v", running, err)
	}
	id := running[0].OrderID
	if _, err := f.c.SettleOrder(ctx, id, time.Hour); !knm.IsErrorName(err, knm.ErrConflict) {
		t.Fatalf("settling a fresh order: %v", err)
	}
	res, err := f.c.SettleOrder(ctx, id, 0)
	if err != nil || res.State != StateImported || len(res.Numbers) != 2 {
		t.Fatalf("settled: %+v %v", res, err)
	}
	if again, err := f.c.SettleOrder(ctx, id, 0); err != nil || again.State != StateImported {
		t.Fatalf("settling a final order: %+v %v", again, err)
	}
	checkInvariants(t, f.e, f.store, 1)
	if _, err := f.c.SettleOrder(ctx, "no-such-order", 0); !knm.IsErrorName(err, knm.ErrNotFound) {
		t.Fatalf("unknown order: %v", err)
	}
}
