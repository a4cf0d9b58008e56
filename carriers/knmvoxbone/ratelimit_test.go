package knmvoxbone

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/ratelimit"
	"github.com/knmproject/knm/voxbone/emulator"
)

// TestRateBudget runs 30 concurrent searches that all buy through one Carrier (one limiter
// at 20 rps) against an emulator enforcing 20 rps: no request is refused and every search
// gets its numbers. It does not run in parallel with the other tests: the limiter's 50 ms
// margin covers loopback scheduling jitter, not a CPU saturated by a hundred other tests.
func TestRateBudget(t *testing.T) {
	ctx := context.Background()
	e := emulator.New(emulator.Config{RateLimit: 20})
	f := newFixture(t, emulator.Config{})
	f.srv.Config.Handler = e // same fixture plumbing, rate-limited emulator
	for _, id := range area256 {
		_ = e.SetStock(id, 10) // 90 in all, 60 wanted: plans must not collide on one group
	}
	s := f.s
	s.RateLimitRPS = 20
	s.RequestTimeout = 5 * time.Second
	lim := ratelimit.NewLocal(20)
	// The default 50 ms margin absorbs loopback jitter on an idle machine; the tree is
	// shared with other engineers' test runs, so leave room for a loaded CPU.
	lim.Margin = 150 * time.Millisecond
	c := newTestCarrier(t, s, Deps{Store: f.store, Limiter: lim})
	c.settleTimeout = 30 * time.Second
	var wg sync.WaitGroup
	got := make([]int, 30)
	errs := make([]error, 30)
	for i := range 30 {
		wg.Go(func() {
			rows, err := c.FindNumbers(ctx, knm.SearchOptions{Country: "US", Prefix: knm.SearchPrefix{Dialcode: "+1", National: "256"}, Quantity: 2, QueryID: "q"})
			got[i], errs[i] = len(rows), err
		})
	}
	wg.Wait()
	for i := range 30 {
		if got[i] != 2 || errs[i] != nil {
			t.Errorf("search %d: %d rows, %v", i, got[i], errs[i])
		}
	}
	for _, r := range e.Requests() {
		if r.Status == 429 || r.Status == 509 {
			t.Errorf("request refused: %s %s -> %d", r.Method, r.Path, r.Status)
		}
	}
	t.Logf("%d requests, %d orders", len(e.Requests()), len(e.Orders()))
	checkInvariants(t, e, f.store, 30)
}

// TestBuyingSearchesStayUnderTheArrivalLimit: searches of five area codes (five orders at
// least, not coalesced together) from 25 accounts against an emulator that counts 20
// requests/s by arrival time: with rate_limit_margin_ms widening knm's window, no request
// is refused and every search is served. Not parallel, as TestRateBudget.
func TestBuyingSearchesStayUnderTheArrivalLimit(t *testing.T) {
	ctx := context.Background()
	store := openSQLite(t)
	f := newMoneyFixture(t, store, emulator.Config{RateLimit: 20}, nil)
	s := f.c.settings
	s.RateLimitRPS, s.RateLimitMargin = 20, 150*time.Millisecond // a loaded machine: see TestRateBudget
	c := newTestCarrier(t, s, Deps{Store: store})
	c.settleTimeout = 30 * time.Second
	areas := []string{"205", "212", "415", "646", "256"}
	var wg sync.WaitGroup
	const callers = 25
	errs := make([]error, callers)
	for i := range callers {
		acct := account(t, store, 200+i)
		wg.Go(func() {
			opts := searchAs(acct, 2, time.Minute)
			opts.Prefix.National = areas[i%len(areas)]
			rows, err := c.FindNumbers(ctx, opts)
			if err == nil && len(rows) != 2 {
				err = fmt.Errorf("%d rows", len(rows))
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("search %d: %v", i, err)
		}
	}
	if n := statusCounts(f.e)[429]; n != 0 {
		t.Errorf("%d requests refused by the arrival-time limit", n)
	}
	if n := len(f.e.Orders()); n < len(areas) {
		t.Errorf("%d orders for %d area codes", n, len(areas))
	}
	t.Logf("%d requests, %d orders", len(f.e.Requests()), len(f.e.Orders()))
	checkInvariants(t, f.e, store, callers)
}
