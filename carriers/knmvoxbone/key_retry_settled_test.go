package knmvoxbone

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/voxbone/emulator"
)

// TestKeyRetriesOfSettledSearchBuyNothing: once a search with an Idempotency-Key has bought
// and answered, retries of it (many at once, several times) replay its numbers, which the
// caller has taken out of the pool. None joins a batch an earlier retry opened and left, so
// nothing is bought twice.
func TestKeyRetriesOfSettledSearchBuyNothing(t *testing.T) {
	t.Parallel()
	testKeyRetriesOfSettledSearchBuyNothing(t, openSQLite(t))
}

func testKeyRetriesOfSettledSearchBuyNothing(t *testing.T, store knm.Store) {
	ctx := context.Background()
	f := newMoneyFixture(t, store, emulator.Config{}, nil)
	f.c.settings.CoalesceWindow = 2 * time.Second // every retry below falls in one window
	acct := account(t, f.store, 1)
	opts := searchAs(acct, 2, time.Minute)
	opts.IdempotencyKey = "buy-once"
	first, err := f.c.FindNumbers(ctx, opts)
	if err != nil || len(first) != 2 {
		t.Fatalf("first search: %d rows, %v", len(first), err)
	}
	for _, r := range first { // the caller took them: the pool cannot answer a retry
		n, err := f.store.GetNumber(ctx, r.Number)
		if err != nil {
			t.Fatal(err)
		}
		n.State, n.AssignedTo = knm.StateInService, acct
		if err := f.store.UpdateNumber(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	want := numbersOf(first)
	slices.Sort(want)
	for round := range 5 {
		var wg sync.WaitGroup
		for i := range 6 {
			wg.Go(func() {
				o := opts
				o.Deadline = time.Now().Add(time.Minute)
				rows, err := f.c.FindNumbers(ctx, o)
				got := numbersOf(rows)
				slices.Sort(got)
				if err != nil || !slices.Equal(got, want) {
					t.Errorf("round %d retry %d: %v, %v; want %v", round, i, got, err, want)
				}
			})
		}
		wg.Wait()
	}
	checkInvariants(t, f.e, f.store, 1)
	if n := len(f.e.DIDs()); n != 2 {
		t.Errorf("%d DIDs bought for a search of 2", n)
	}
}
