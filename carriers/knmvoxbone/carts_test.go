package knmvoxbone

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/knmproject/knm/voxbone"
	"github.com/knmproject/knm/voxbone/emulator"
)

func TestPurgeCarts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, emulator.Config{})
	vx := f.c.client
	mk := func(ref string) int {
		c, err := vx.CreateCart(ctx, voxbone.CreateCartRequest{CustomerReference: ref})
		if err != nil {
			t.Fatal(err)
		}
		return c.CartIdentifier
	}
	orphan := mk(OrderPrefix + "orphan")   // no journal row
	planned := mk(OrderPrefix + "planned") // journal before checkout
	sent := mk(OrderPrefix + "sent")       // checkout may have happened: keep
	other := mk("someone-else")            // not knm's: keep
	for id, st := range map[string]OrderState{OrderPrefix + "planned": StateCartCreated,
		OrderPrefix + "sent": StateCheckoutSent} {
		if _, err := f.c.createOrder(ctx, orderPayload{OrderID: id}); err != nil {
			t.Fatal(err)
		}
		e, _ := f.store.GetJournal(ctx, id)
		o, _ := decodeOrder(e)
		if err := f.c.advance(ctx, o, st); err != nil {
			t.Fatal(err)
		}
	}
	// Young carts are kept.
	if ids, err := f.c.PurgeCarts(ctx, false); err != nil || len(ids) != 0 {
		t.Fatalf("young: %v, %v", ids, err)
	}
	f.c.now = func() time.Time { return time.Now().Add(time.Hour) }
	ids, err := f.c.PurgeCarts(ctx, true)
	slices.Sort(ids)
	want := []int{orphan, planned}
	slices.Sort(want)
	if err != nil || !slices.Equal(ids, want) || len(f.e.Carts()) != 4 {
		t.Fatalf("dry run %v (want %v), %v, %d carts", ids, want, err, len(f.e.Carts()))
	}
	if _, err := f.c.PurgeCarts(ctx, false); err != nil {
		t.Fatal(err)
	}
	var left []int
	for _, c := range f.e.Carts() {
		left = append(left, c.CartIdentifier)
	}
	slices.Sort(left)
	keep := []int{sent, other}
	slices.Sort(keep)
	if !slices.Equal(left, keep) {
		t.Errorf("carts left %v, want %v", left, keep)
	}
}
