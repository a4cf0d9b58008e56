package ratelimit

import (
	"context"
	"fmt"
	"time"
)

// DefaultLocalMargin widens the local window beyond one second. A grant is not an arrival:
// between Wait returning and the request reaching the server, goroutine scheduling, dialing
// a new connection and the network add a delay that varies per request, so two grants
// exactly 1 s apart could arrive less than 1 s apart. 50 ms of slack absorbs that jitter on
// a loopback or LAN path, including a cold start where a burst dials its connections,
// while costing 5% of the budget (20 rps becomes ~19 rps).
const DefaultLocalMargin = 50 * time.Millisecond

// Local is an in-process sliding-window-log limiter shared by all goroutines of a process.
// Waiters are served first come, first served, and a waiter whose context ends leaves the
// queue without using any of the budget.
//
// Margin and OnWait may be set after NewLocal and before the first Wait.
type Local struct {
	// Margin is added to the one-second window (see DefaultLocalMargin).
	Margin time.Duration
	// Spacing, if set, is the least time between two grants. Zero lets the whole budget go
	// out in one burst; time.Second/rps paces grants evenly, which keeps bursts from
	// queueing at the server and so keeps the arrival jitter (see Margin) small.
	Spacing time.Duration
	// OnWait, if set, is called after every grant with how long Wait blocked (zero when
	// the budget was free). It lets the service count and time limiter waits.
	OnWait func(time.Duration)

	rps   int
	sem   chan struct{} // held by the one waiter at the head of the queue
	times []time.Time   // ring of the last rps grant times; guarded by sem
	next  int           // index of the oldest grant in times
	last  time.Time     // the latest grant
	now   func() time.Time
}

var _ Limiter = (*Local)(nil)

// NewLocal returns a limiter that grants at most rps requests in any one-second window.
// It panics if rps < 1, which is a programming error.
func NewLocal(rps int) *Local {
	if rps < 1 {
		panic(fmt.Sprintf("ratelimit: NewLocal(%d): rps must be at least 1", rps))
	}
	return &Local{
		Margin: DefaultLocalMargin,
		rps:    rps,
		sem:    make(chan struct{}, 1),
		times:  make([]time.Time, rps),
		now:    time.Now,
	}
}

// RPS returns the limiter's budget per one-second window.
func (l *Local) RPS() int { return l.rps }

// Wait blocks until a request may be sent now, or ctx ends.
func (l *Local) Wait(ctx context.Context) error {
	start := l.now()
	// Only the head of the queue looks at the log, so grants are handed out in order and
	// nobody can overtake a waiter that is already sleeping for its slot.
	if err := acquire(ctx, l.sem); err != nil {
		return err
	}
	defer func() { <-l.sem }()

	oldest := l.times[l.next]
	if !oldest.IsZero() {
		if d := oldest.Add(Window + l.Margin).Sub(l.now()); d > 0 {
			if err := sleep(ctx, d); err != nil {
				return err
			}
		}
	}
	if l.Spacing > 0 && !l.last.IsZero() {
		if d := l.last.Add(l.Spacing).Sub(l.now()); d > 0 {
			if err := sleep(ctx, d); err != nil {
				return err
			}
		}
	}
	granted := l.now()
	l.last = granted
	l.times[l.next] = granted
	l.next = (l.next + 1) % l.rps
	if l.OnWait != nil {
		l.OnWait(granted.Sub(start))
	}
	return nil
}
