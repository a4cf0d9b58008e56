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

func TestKeyAcrossTwoInstancesBuysOnce(t *testing.T) {
	t.Parallel()
	s := openSQLite(t)
	testKeyAcrossTwoInstancesBuysOnce(t, s, s)
}

// testKeyAcrossTwoInstancesBuysOnce: the same search with one Idempotency-Key reaches two
// instances (two carriers, two buyers, on one database) several times at once, routing on.
// One order is placed, for one share; every caller gets the same numbers, routed.
func testKeyAcrossTwoInstancesBuysOnce(t *testing.T, s1, s2 knm.Store) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	f := newMoneyFixture(t, s1, emulator.Config{}, nil)
	set := testSettings(f.srv.URL)
	set.RequestTimeout = 5 * time.Second
	set.Routing.VoiceURI = "sip:{e164}@sbc.example.com"
	set.CoalesceWindow = 100 * time.Millisecond
	cs := []*Carrier{newTestCarrier(t, set, Deps{Store: s1}), newTestCarrier(t, set, Deps{Store: s2})}
	acct := account(t, s1, 7)
	got := make([][]string, 8)
	var wg sync.WaitGroup
	for i := range got {
		wg.Go(func() {
			opts := searchAs(acct, 3, time.Minute)
			opts.IdempotencyKey = "one-purchase"
			rows, err := cs[i%2].FindNumbers(ctx, opts)
			if err != nil || len(rows) != 3 {
				t.Errorf("caller %d: %d rows, %v", i, len(rows), err)
			}
			got[i] = numbersOf(rows)
			slices.Sort(got[i])
		})
	}
	wg.Wait()
	for i := range got {
		if !slices.Equal(got[i], got[0]) {
			t.Errorf("caller %d got %v, caller 0 %v", i, got[i], got[0])
		}
	}
	checkInvariants(t, f.e, s1, 1)
	checkRouted(t, &fixture{e: f.e, store: s1}, 3)
}
