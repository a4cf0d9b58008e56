package knmvoxbone

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/voxbone/emulator"
)

// slowClaimStore delays the claims of search keys containing slow, as a loaded database
// does.
type slowClaimStore struct {
	knm.Store
	slow  string
	delay time.Duration
}

func (s slowClaimStore) ClaimIdempotencyKey(ctx context.Context, key, ref string) (string, bool, error) {
	if strings.Contains(key, s.slow) {
		time.Sleep(s.delay)
	}
	return s.Store.ClaimIdempotencyKey(ctx, key, ref)
}

// TestKeyRetryJoiningABatchWithASlowClaimBuysNothing: a retry of a search whose key names a
// settled order joins a batch another account opened, and its key claim is slower than the
// rest of the coalescing window. The batch does not close on it while the claim is pending,
// so it buys nothing for the retry, which gets the first order's numbers.
func TestKeyRetryJoiningABatchWithASlowClaimBuysNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	base := openSQLite(t)
	store := slowClaimStore{Store: base, slow: "slow-claim", delay: 800 * time.Millisecond}
	f := newMoneyFixture(t, base, emulator.Config{}, nil)
	c := newTestCarrier(t, f.c.settings, Deps{Store: store})
	c.settings.CoalesceWindow = 300 * time.Millisecond
	a, b := account(t, base, 12), account(t, base, 13)
	opts := searchAs(a, 2, time.Minute)
	opts.IdempotencyKey = "slow-claim"
	first, err := c.FindNumbers(ctx, opts)
	if err != nil || len(first) != 2 {
		t.Fatalf("first: %d rows, %v", len(first), err)
	}
	for _, r := range first { // taken by a: the pool cannot answer the retry
		n, err := base.GetNumber(ctx, r.Number)
		if err != nil {
			t.Fatal(err)
		}
		n.State, n.AssignedTo = knm.StateInService, a
		if err := base.UpdateNumber(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		rows, err := c.FindNumbers(ctx, searchAs(b, 2, time.Minute))
		if err != nil || len(rows) != 2 {
			t.Errorf("b: %d rows, %v", len(rows), err)
		}
	})
	time.Sleep(50 * time.Millisecond) // b's batch is gathering
	opts.Deadline = time.Now().Add(time.Minute)
	rows, err := c.FindNumbers(ctx, opts)
	wg.Wait()
	if err != nil || len(rows) != 2 || !equalSets(numbersOf(rows), numbersOf(first)) {
		t.Errorf("retry: %v, %v; want %v", numbersOf(rows), err, numbersOf(first))
	}
	if n := len(f.e.DIDs()); n != 4 {
		t.Errorf("%d DIDs bought, want 4 (a's 2 once, b's 2)", n)
	}
	checkInvariants(t, f.e, base, 2)
}

func equalSets(x, y []string) bool {
	if len(x) != len(y) {
		return false
	}
	in := map[string]bool{}
	for _, s := range x {
		in[s] = true
	}
	for _, s := range y {
		if !in[s] {
			return false
		}
	}
	return true
}
