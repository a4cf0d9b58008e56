package knmvoxbone

import (
	"context"
	"testing"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/voxbone/emulator"
)

// TestKeyRetryAfterHoldExpiredAndNumbersTaken: a search with an Idempotency-Key whose caller
// left has its numbers held; the hold expires and another account takes them. A retry of
// the key buys nothing and is not told that Voxbone delivered fewer DIDs than bought: it is
// told they were delivered and are no longer its.
func TestKeyRetryAfterHoldExpiredAndNumbersTaken(t *testing.T) {
	t.Parallel()
	f := newMoneyFixture(t, openSQLite(t), emulator.Config{}, slowEndpoint("did.list", 150*time.Millisecond))
	a, b := account(t, f.store, 8), account(t, f.store, 9)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	opts := searchAs(a, 2, time.Minute)
	opts.IdempotencyKey = "once"
	opts.Progress = newLeaveOnCommit(cancel)
	_, _ = f.c.FindNumbers(ctx, opts)
	held := waitHeld(t, f.store, a, 2)
	waitOrdersFinal(t, f.c)
	f.c.now = func() time.Time { return time.Now().Add(f.c.settings.HoldTTL + time.Minute) }
	if n, err := f.c.ReleaseExpiredHolds(context.Background()); n != 2 || err != nil {
		t.Fatalf("after expiry: %d released, %v", n, err)
	}
	for _, h := range held { // account b takes them from the pool
		n, err := f.store.GetNumber(context.Background(), h.Number)
		if err != nil {
			t.Fatal(err)
		}
		n.State, n.AssignedTo = knm.StateInService, b
		if err := f.store.UpdateNumber(context.Background(), n); err != nil {
			t.Fatal(err)
		}
	}
	opts.Progress, opts.Deadline = nil, time.Now().Add(time.Minute)
	rows, err := f.c.FindNumbers(context.Background(), opts)
	t.Logf("retry: %v, %v", numbersOf(rows), err)
	if len(rows) != 0 || err == nil || mentions(err, "voxbone delivered") {
		t.Errorf("retry: %d rows, told %v", len(rows), err)
	}
	checkInvariants(t, f.e, f.store, 1)
}
