package knmvoxbone

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/ratelimit"
)

// orderRoundTrips is how many requests of an order run one after another: the catalogue
// with the cart, the adds, the checkout, then the DIDs with the cart's deletion.
const orderRoundTrips = 4

// orderRequests is the fewest requests an order of want DIDs matching q sends: the balance
// and the DID groups, the cart, one add per group (as many as the last order of q planned,
// at least one), the checkout, every page of its DIDs, the cart's deletion.
func (c *Carrier) orderRequests(q groupQuery, want int) int {
	return 5 + c.buying().groupsFor(q) + (want+c.settings.PageSize-1)/c.settings.PageSize
}

// refusedError refuses a purchase the rate budget cannot carry before the search deadline;
// nothing was spent. RetryAfter says when the budget will have room.
type refusedError struct {
	err   *knm.Error
	after time.Duration
}

func (e *refusedError) Error() string             { return e.err.Error() }
func (e *refusedError) Unwrap() error             { return e.err }
func (e *refusedError) RetryAfter() time.Duration { return e.after }

// admit refuses, before anything is spent, an order of want DIDs that the rate budget cannot
// carry before deadline: the limiter's wait for its requests, behind those queued and those
// promised to orders admitted and still running, and its round trips at the latency seen
// lately. Without a deadline or an estimating limiter every order is admitted. An admitted
// order's requests stay promised until it calls the returned release.
func (c *Carrier) admit(ctx context.Context, deadline time.Time, q groupQuery,
	want int) (release func(), err error) {
	est, ok := c.limiter.(ratelimit.Estimator)
	if deadline.IsZero() || !ok {
		return func() {}, nil
	}
	n := c.orderRequests(q, want)
	by := c.buying()
	promised := by.promised.Add(int64(n))
	release = func() { by.promised.Add(-int64(n)) }
	wait, err := est.Estimate(ctx, int(promised))
	if err != nil {
		release()
		return nil, carrierError("voxbone rate budget", err)
	}
	rtt := c.latency.get()
	need, left := wait+orderRoundTrips*rtt, time.Until(deadline)
	if need <= left {
		return release, nil
	}
	release()
	after := max(wait, time.Second).Round(time.Second)
	ms := time.Millisecond
	return nil, &refusedError{after: after, err: knm.Errorf(knm.ErrTooManyRequests,
		"voxbone purchase refused, nothing bought: its %d requests need about %s "+
			"(rate budget %s, %d round trips of %s) and %s is left before the search deadline; retry after %s",
		n, need.Round(ms), wait.Round(ms), orderRoundTrips, rtt.Round(ms), max(left, 0).Round(ms), after)}
}

// ewma is a moving average of request durations, safe for concurrent use.
type ewma struct{ ns atomic.Int64 }

// observe folds d in with weight 1/8.
func (e *ewma) observe(d time.Duration) {
	for {
		old := e.ns.Load()
		next := int64(d)
		if old != 0 {
			next = old + (int64(d)-old)/8
		}
		if e.ns.CompareAndSwap(old, next) {
			return
		}
	}
}

func (e *ewma) get() time.Duration { return time.Duration(e.ns.Load()) }
