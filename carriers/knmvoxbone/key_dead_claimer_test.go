package knmvoxbone

import (
	"context"
	"testing"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/voxbone/emulator"
)

// TestKeyOfADeadClaimerMovesOn: an instance claimed a search's Idempotency-Key for its order
// and died before writing the order's row. A retry waits a gathering's time for the row,
// then closes that order as failed and buys once; the dead instance's order can no longer
// be written under the key.
func TestKeyOfADeadClaimerMovesOn(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newMoneyFixture(t, openSQLite(t), emulator.Config{}, nil)
	f.c.settings.RequestTimeout = 500 * time.Millisecond // the wait for the row is bounded by it
	acct := account(t, f.store, 14)
	opts := searchAs(acct, 2, time.Minute)
	opts.IdempotencyKey = "dead-claimer"
	const dead = "knm-000000000000000000dead"
	if _, claimed, err := f.store.ClaimIdempotencyKey(ctx, "voxbone.search:"+searchKey(opts), dead); err != nil ||
		!claimed {
		t.Fatalf("claim: %v %v", claimed, err)
	}
	rows, err := f.c.FindNumbers(ctx, opts)
	if err != nil || len(rows) != 2 {
		t.Fatalf("retry: %d rows, %v", len(rows), err)
	}
	e, err := f.store.GetJournal(ctx, dead)
	if err != nil || e.State != string(StateFailed) {
		t.Fatalf("the dead claimer's row: %+v, %v", e, err)
	}
	if _, err := f.c.createOrder(ctx, orderPayload{OrderID: dead}); !knm.IsErrorName(err, knm.ErrConflict) {
		t.Errorf("the dead claimer's late order row: %v, want a conflict", err)
	}
	if os, err := f.c.ListOrders(ctx); err != nil || len(os) != 1 {
		t.Errorf("%d orders listed, %v; want the one that bought", len(os), err)
	}
	checkInvariants(t, f.e, f.store, 1)
}
