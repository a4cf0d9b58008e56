package knmvoxbone

import (
	"context"
	"testing"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/voxbone/emulator"
)

// TestOrderByKeyFindsWhatARepeatReplays: OrderByKey names the order a repeat of the request
// would replay, and claims and buys nothing. A key unused or used only by orders that failed
// before their checkout names none; a key used for another request is refused as Order
// refuses it.
func TestOrderByKeyFindsWhatARepeatReplays(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, emulator.Config{})
	req := OrderRequest{GroupID: 5116, Quantity: 1, Country: "US", IdempotencyKey: "look-me-up"}
	if res, err := f.c.OrderByKey(ctx, req); res != nil || err != nil {
		t.Fatalf("unused key: %+v, %v", res, err)
	}
	if err := f.e.SetStock(5116, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := f.c.Order(ctx, req); err == nil {
		t.Fatal("out of stock order succeeded")
	}
	if res, err := f.c.OrderByKey(ctx, req); res != nil || err != nil {
		t.Fatalf("key of a failed order only: %+v, %v", res, err)
	}
	if err := f.e.SetStock(5116, 5); err != nil {
		t.Fatal(err)
	}
	bought, err := f.c.Order(ctx, req)
	if err != nil || bought.State != StateImported {
		t.Fatalf("order: %+v, %v", bought, err)
	}
	got, err := f.c.OrderByKey(ctx, req)
	if err != nil || got == nil || got.OrderID != bought.OrderID || !got.Replayed ||
		len(got.Numbers) != 1 || got.Numbers[0] != bought.Numbers[0] {
		t.Fatalf("lookup of the bought order: %+v, %v", got, err)
	}
	other := req
	other.Quantity = 2
	if _, err := f.c.OrderByKey(ctx, other); !knm.IsErrorName(err, knm.ErrInvalid) {
		t.Errorf("another request under the key: %v", err)
	}

	if n := len(f.e.Orders()); n != 1 {
		t.Errorf("%d orders placed, want 1", n)
	}
	checkInvariants(t, f.e, f.store, 1)
}
