package knmvoxbone

import (
	"context"
	"testing"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/voxbone/emulator"
)

// TestKeySearchRefusedThenRetriedElsewhereBuysOnce: a search with an Idempotency-Key is
// refused before spending (the rate budget cannot carry it). Its key was claimed for an
// order that never bought, so that order's row is closed as failed at once, and the retry on
// another instance, with time to buy, buys once; a further retry replays it.
func TestKeySearchRefusedThenRetriedElsewhereBuysOnce(t *testing.T) {
	t.Parallel()
	store := openSQLite(t)
	e := emulator.New(emulator.Config{})
	threeGroups(t, e)
	srv, _ := countingServer(t, e)
	s := testSettings(srv.URL)
	s.RateLimitRPS = 3
	c1, c2 := newTestCarrier(t, s, Deps{Store: store}), newTestCarrier(t, s, Deps{Store: store})
	acct := account(t, store, 11)
	opts := searchAs(acct, 2, 500*time.Millisecond)
	opts.IdempotencyKey = "refused-first"
	if _, err := c1.FindNumbers(context.Background(), opts); !knm.IsErrorName(err, knm.ErrTooManyRequests) {
		t.Fatalf("refusal: %v", err)
	}
	es, err := store.FindJournals(context.Background(), knm.JournalFilter{Carrier: ModuleName})
	if err != nil || len(es) != 1 || es[0].State != string(StateFailed) {
		t.Fatalf("the refused order's row: %+v, %v", es, err)
	}
	opts.Deadline = time.Now().Add(time.Minute)
	rows, err := c2.FindNumbers(context.Background(), opts)
	if err != nil || len(rows) != 2 {
		t.Fatalf("retry with time to buy: %d rows, %v", len(rows), err)
	}
	opts.Deadline = time.Now().Add(time.Minute)
	again, err := c1.FindNumbers(context.Background(), opts)
	if err != nil || len(again) != 2 {
		t.Fatalf("repeat: %d rows, %v", len(again), err)
	}
	checkInvariants(t, e, store, 1)
	if n := len(e.DIDs()); n != 2 {
		t.Errorf("%d DIDs bought, want 2", n)
	}
}
