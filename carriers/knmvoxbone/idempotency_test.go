package knmvoxbone

import (
	"context"
	"sync"
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
	f := newFixture(t, emulator.Config{})
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

// TestConcurrentIdempotentOrders: many requests with one key at once buy once; every
// loser replays the winner's order.
func TestConcurrentIdempotentOrders(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, emulator.Config{})
	req := OrderRequest{GroupID: 5117, Quantity: 2, Country: "US", IdempotencyKey: "same"}
	var wg sync.WaitGroup
	ids := make([]string, 8)
	for i := range ids {
		wg.Go(func() {
			res, err := f.c.Order(ctx, req)
			if err != nil {
				t.Errorf("order: %v", err)
				return
			}
			ids[i] = res.OrderID
		})
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Errorf("orders %v", ids)
			break
		}
	}
	checkInvariants(t, f.e, f.store, 1)
}

// TestConcurrentRetriesOfFailedKey: concurrent retries, on two carriers, of a key whose
// first order failed before its checkout buy once between them.
func TestConcurrentRetriesOfFailedKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, emulator.Config{})
	c2 := newTestCarrier(t, f.s, Deps{Store: f.store})
	if err := f.e.SetStock(5116, 0); err != nil {
		t.Fatal(err)
	}
	req := OrderRequest{GroupID: 5116, Quantity: 1, Country: "US", IdempotencyKey: "k"}
	if _, err := f.c.Order(ctx, req); err == nil {
		t.Fatal("out of stock order succeeded")
	}
	if err := f.e.SetStock(5116, 5); err != nil {
		t.Fatal(err)
	}
	done := make(chan *OrderResult, 16)
	for i := range 16 {
		c := f.c
		if i%2 == 1 {
			c = c2
		}
		go func() {
			r, err := c.Order(ctx, req)
			if err != nil {
				t.Log(err)
			}
			done <- r
		}()
	}
	ids := map[string]int{}
	for range 16 {
		if r := <-done; r != nil {
			ids[r.OrderID]++
		}
	}
	if len(ids) != 1 || len(f.e.Orders()) != 1 {
		t.Fatalf("order ids %v, %d orders placed", ids, len(f.e.Orders()))
	}
	checkInvariants(t, f.e, f.store, 1)
}
