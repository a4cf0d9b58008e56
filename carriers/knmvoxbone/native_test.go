package knmvoxbone

import (
	"context"
	"math"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/voxbone/emulator"
)

func TestQuoteHasNoSideEffects(t *testing.T) {
	t.Parallel()
	f := newFixture(t, emulator.Config{})
	qs, err := f.c.Quote(context.Background(), QuoteRequest{Country: "US", AreaCode: "256"})
	if err != nil {
		t.Fatal(err)
	}
	if len(qs) != 3 || qs[0].Stock != 5 || qs[0].Currency != "USD" || qs[0].AreaCode != "256" || qs[0].Monthly <= 0 {
		t.Fatalf("quotes %+v", qs)
	}
	for _, r := range f.e.Requests() {
		if r.Method != "GET" {
			t.Errorf("quote sent %s %s", r.Method, r.Path)
		}
	}
	if len(f.e.Carts()) != 0 || len(f.e.Orders()) != 0 {
		t.Error("quote created carts or orders")
	}
}

func TestNativeOrder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, emulator.Config{})
	acct := strings.Repeat("b", 32)
	if err := f.store.CreateAccount(ctx, &knm.Account{ID: acct, Name: "b", Enabled: true}); err != nil {
		t.Fatal(err)
	}
	var spent atomic.Int64
	f.c.metrics.Spent = func(cents int) { spent.Add(int64(cents)) }
	balance := f.e.Balance()
	req := OrderRequest{GroupID: 5116, Quantity: 3, Country: "US", IdempotencyKey: "k1", AssignTo: acct}
	first, err := f.c.Order(ctx, req)
	if err != nil || first.State != StateImported || len(first.Numbers) != 3 || first.Replayed {
		t.Fatalf("first order %+v, %v", first, err)
	}
	for _, num := range first.Numbers {
		n, err := f.store.GetNumber(ctx, num)
		if err != nil || n.State != knm.StateInService || n.AssignedTo != acct {
			t.Errorf("%s stored %+v, %v", num, n, err)
		}
	}
	again, err := f.c.Order(ctx, req)
	if err != nil || !again.Replayed || again.OrderID != first.OrderID || !slices.Equal(again.Numbers, first.Numbers) {
		t.Fatalf("repeat %+v, %v", again, err)
	}
	if n := len(f.e.Orders()); n != 1 {
		t.Errorf("%d orders for one idempotency key", n)
	}
	// The money metric matches what Voxbone debited, and a repeat adds nothing.
	if debited := int64(math.Round((balance - f.e.Balance()) * 100)); debited == 0 || spent.Load() != debited {
		t.Errorf("spent metric %d cents, Voxbone debited %d cents", spent.Load(), debited)
	}
	got, err := f.c.GetOrder(ctx, first.OrderID)
	if err != nil || got.State != StateImported {
		t.Errorf("GetOrder %+v, %v", got, err)
	}
	if all, err := f.c.ListOrders(ctx); err != nil || len(all) != 1 {
		t.Errorf("ListOrders %d, %v", len(all), err)
	}

	// Refused before buying: too many, no stock, too expensive, unknown account.
	for name, r := range map[string]OrderRequest{
		"quantity": {GroupID: 5116, Quantity: 21},
		"stock":    {GroupID: 5117, Quantity: 6},
		"account":  {GroupID: 5117, Quantity: 1, AssignTo: strings.Repeat("9", 32)},
	} {
		if _, err := f.c.Order(ctx, r); err == nil {
			t.Errorf("%s: order accepted", name)
		}
	}
	if _, err := f.c.Order(ctx, OrderRequest{GroupID: 424242, Quantity: 1}); !knm.IsErrorName(err, knm.ErrNotFound) {
		t.Errorf("unknown group: %v, want not_found", err)
	}
	f.c.settings.MaxOrderCost = 0.01
	if _, err := f.c.Order(ctx, OrderRequest{GroupID: 5117, Quantity: 1}); !knm.IsErrorName(err,
		knm.ErrNotEnoughCredit) {
		t.Errorf("cost: %v", err)
	}
	if n := len(f.e.Orders()); n != 1 {
		t.Errorf("refused orders bought something: %d orders", n)
	}
	checkInvariants(t, f.e, f.store, 1)
}
