package ratelimit

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultLocalMargin widens the local window beyond one second. Even a committed slot (see
// Reservation) is recorded a little before its request reaches the server: writing it,
// goroutine scheduling and the network add a delay that varies per request, so two sends
// exactly 1 s apart could arrive less than 1 s apart. 50 ms of slack absorbs that jitter on
// a loopback or LAN path while costing 5% of the budget (20 rps becomes ~19 rps).
const DefaultLocalMargin = 50 * time.Millisecond

// Local is an in-process sliding-window-log limiter shared by all goroutines of a process.
// Waiters are served first come, first served, and a waiter whose context ends leaves the
// queue without using any of the budget.
//
// Margin, Spacing and OnWait may be set after NewLocal and before the first Wait or Reserve.
type Local struct {
	// Margin is added to the one-second window (see DefaultLocalMargin).
	Margin time.Duration
	// Spacing, if set, is the least time between two grants. Zero lets the whole budget go
	// out in one burst; time.Second/rps paces grants evenly at the cost of latency for
	// parallel calls. Committing reservations (see Reserver) makes pacing unnecessary for
	// staying under the limit.
	Spacing time.Duration
	// OnWait, if set, is called after every grant with how long Wait or Reserve blocked
	// (zero when the budget was free). It lets the service count and time limiter waits.
	OnWait func(time.Duration)

	rps     int
	sem     chan struct{} // held by the one waiter at the head of the queue
	waiting atomic.Int64  // callers inside Reserve
	now     func() time.Time

	mu    sync.Mutex
	slots []*localSlot  // recorded slots still in the window; guarded by mu
	last  time.Time     // the latest grant; guarded by mu
	freed chan struct{} // closed and replaced when Cancel frees a slot; guarded by mu
}

var (
	_ Limiter  = (*Local)(nil)
	_ Reserver = (*Local)(nil)
	_ Meter    = (*Local)(nil)
)

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
		now:    time.Now,
		freed:  make(chan struct{}),
	}
}

// RPS returns the limiter's budget per one-second window.
func (l *Local) RPS() int { return l.rps }

// InUse returns how many slots of this process lie in the window now, and rps.
func (l *Local) InUse(context.Context) (int, int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now, span, n := l.now(), Window+l.Margin, 0
	for _, s := range l.slots {
		if now.Sub(s.at) < span {
			n++
		}
	}
	return n, l.rps, nil
}

// Wait blocks until a request may be sent now, or ctx ends. It is Reserve followed at once
// by Commit.
func (l *Local) Wait(ctx context.Context) error {
	r, err := l.Reserve(ctx)
	if err != nil {
		return err
	}
	r.Commit(l.now())
	return nil
}

// Reserve blocks until fewer than rps recorded slots lie within Window+Margin of now (and,
// with Spacing, the last grant is Spacing old), or until ctx ends.
func (l *Local) Reserve(ctx context.Context) (Reservation, error) {
	start := l.now()
	l.waiting.Add(1)
	defer l.waiting.Add(-1)
	// Only the head of the queue looks at the log, so grants are handed out in order and
	// nobody can overtake a waiter that is already sleeping for its slot.
	if err := acquire(ctx, l.sem); err != nil {
		return nil, err
	}
	defer func() { <-l.sem }()

	for {
		l.mu.Lock()
		now := l.now()
		d := l.delayLocked(now)
		if d <= 0 {
			s := &localSlot{l: l, at: now, inLog: true}
			l.slots = append(l.slots, s)
			l.last = now
			l.mu.Unlock()
			if l.OnWait != nil {
				l.OnWait(now.Sub(start))
			}
			return s, nil
		}
		freed := l.freed
		l.mu.Unlock()
		// Sleep, then look again: commits meanwhile may have moved slots later, and a
		// cancel ends the sleep early.
		if err := sleepUntilFreed(ctx, d, freed); err != nil {
			return nil, err
		}
	}
}

// delayLocked drops slots that left the window and returns how long a grant at now must
// still wait (<= 0: none). The caller holds l.mu.
func (l *Local) delayLocked(now time.Time) time.Duration {
	span := Window + l.Margin
	l.slots = slices.DeleteFunc(l.slots, func(s *localSlot) bool {
		if now.Sub(s.at) >= span {
			s.inLog = false
			return true
		}
		return false
	})
	var d time.Duration
	if n := len(l.slots); n >= l.rps {
		// Commits reorder slots. The grant may go once all but rps-1 of them have left the
		// window, i.e. when the (n-rps+1)-th oldest has.
		slices.SortFunc(l.slots, func(a, b *localSlot) int { return a.at.Compare(b.at) })
		d = l.slots[n-l.rps].at.Add(span).Sub(now)
	}
	if l.Spacing > 0 && !l.last.IsZero() {
		d = max(d, l.last.Add(l.Spacing).Sub(now))
	}
	return d
}

// localSlot is a Reservation of a Local limiter.
type localSlot struct {
	l         *Local
	at        time.Time // recorded time; guarded by l.mu
	inLog     bool      // in l.slots; guarded by l.mu
	committed bool      // guarded by l.mu
	cancelled bool      // guarded by l.mu
}

// Commit records sent as the slot's time if it is later than the recorded one.
func (s *localSlot) Commit(sent time.Time) {
	l := s.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if s.cancelled {
		return
	}
	s.committed = true
	if !sent.After(s.at) {
		return
	}
	s.at = sent
	if !s.inLog {
		// The request was sent more than a window after its grant: it still counts now.
		s.inLog = true
		l.slots = append(l.slots, s)
	}
}

// Cancel removes the slot and wakes the waiter at the head of the queue.
func (s *localSlot) Cancel() {
	l := s.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if s.committed || s.cancelled {
		return
	}
	s.cancelled = true
	if s.inLog {
		s.inLog = false
		l.slots = slices.DeleteFunc(l.slots, func(o *localSlot) bool { return o == s })
		close(l.freed)
		l.freed = make(chan struct{})
	}
}

// SetMargin changes Margin while the limiter is in use (a settings change).
func (l *Local) SetMargin(d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.Margin = d
}
