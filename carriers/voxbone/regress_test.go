package voxbone

import (
	"context"
	"testing"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/voxbone/emulator"
)

// TestFailedKeyRetryBuys: an idempotent order that failed before its checkout (out of
// stock) bought nothing, so a retry with the same key buys once stock is back, and a
// further repeat replays that second order instead of buying again.
func TestFailedKeyRetryBuys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, nil, emulator.Config{})
	if err := f.e.SetStock(5116, 0); err != nil {
		t.Fatal(err)
	}
	req := OrderRequest{GroupID: 5116, Quantity: 1, Country: "US", IdempotencyKey: "retry-me"}
	if res, err := f.c.Order(ctx, req); err == nil {
		t.Fatalf("out of stock order succeeded: %+v", res)
	}
	// Twice failed, so the key hops over more than one failed order.
	if _, err := f.c.Order(ctx, req); err == nil {
		t.Fatal("second out of stock order succeeded")
	}
	if err := f.e.SetStock(5116, 5); err != nil {
		t.Fatal(err)
	}
	res, err := f.c.Order(ctx, req)
	if err != nil || res.State != StateImported || res.Replayed || len(res.Numbers) != 1 {
		t.Fatalf("retry after restock: %+v, %v", res, err)
	}
	again, err := f.c.Order(ctx, req)
	if err != nil || !again.Replayed || again.OrderID != res.OrderID {
		t.Fatalf("repeat of the bought order: %+v, %v", again, err)
	}
	// A different request under the same key is still refused.
	other := req
	other.Quantity = 2
	if _, err := f.c.Order(ctx, other); !knm.IsErrorName(err, knm.ErrInvalid) {
		t.Errorf("different request under the key: %v", err)
	}
	if n := len(f.e.Orders()); n != 1 {
		t.Errorf("%d orders placed, want 1", n)
	}
	checkInvariants(t, f.e, f.store, 1)
}
