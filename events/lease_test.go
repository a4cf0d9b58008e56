package events_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/events"
	"github.com/knmproject/knm/internal/dbtest"
)

// exclusive is a handler shared by two instances of one consumer: it fails the test when
// both handle events at the same moment, and keeps what each instance handled.
type exclusive struct {
	t       *testing.T
	busy    atomic.Int32
	mu      sync.Mutex
	handled map[string][]int64
	// hold, when set, is how long the first batch of an instance takes.
	hold time.Duration
}

func (x *exclusive) handler(instance string) events.Handler {
	return func(ctx context.Context, batch []*knm.Event) error {
		if n := x.busy.Add(1); n > 1 {
			x.t.Errorf("%s handles events %d-%d while another instance does", instance, batch[0].ID,
				batch[len(batch)-1].ID)
		}
		defer x.busy.Add(-1)
		x.mu.Lock()
		first := len(x.handled[instance]) == 0
		x.mu.Unlock()
		if first && x.hold > 0 {
			select {
			case <-ctx.Done():
				return context.Cause(ctx)
			case <-time.After(x.hold):
			}
		}
		x.mu.Lock()
		defer x.mu.Unlock()
		for _, e := range batch {
			x.handled[instance] = append(x.handled[instance], e.ID)
		}
		return nil
	}
}

// TestConsumerLeaseOutlastsLongBatch: a batch that takes longer than the lease keeps it
// (it is renewed while the batch runs), so a second instance polling all along never
// handles events at the same time; when the first stops, it releases the lease and the
// second takes over; the events are handled once each, in order.
func TestConsumerLeaseOutlastsLongBatch(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db dbtest.DB) {
		const ttl = 3 * time.Second
		s1, s2 := db.Open(t), db.Open(t)
		createNumbers(t, s1, 0, 4)
		x := &exclusive{t: t, handled: map[string][]int64{}, hold: 2*ttl + ttl/2}
		c1 := &events.Consumer{Store: s1, Name: "kazoo_sync", Handle: x.handler("a"), Owner: "a", LeaseTTL: ttl,
			Batch: 4, Poll: 20 * time.Millisecond}
		if n, err := c1.Step(context.Background()); err != nil || n != 4 {
			t.Fatalf("a's long batch: %d, %v", n, err)
		}
		createNumbers(t, s1, 4, 3)
		// b polls while a holds the lease and works.
		ctx2, stop2 := context.WithCancel(context.Background())
		done2 := make(chan struct{})
		c2 := &events.Consumer{Store: s2, Name: "kazoo_sync", Handle: x.handler("b"), Owner: "b", LeaseTTL: ttl,
			Batch: 2, Poll: 20 * time.Millisecond}
		go func() { c2.Run(ctx2); close(done2) }()
		defer func() { stop2(); <-done2 }()
		ctx1, stop1 := context.WithCancel(context.Background())
		done1 := make(chan struct{})
		go func() { c1.Run(ctx1); close(done1) }()
		waitHandled(t, x, "a", 7)
		waitCursor(t, s1, "kazoo_sync", 7)
		stop1()
		<-done1
		if cur, err := s1.GetEventCursor(context.Background(), "kazoo_sync"); err != nil ||
			cur.LeaseUntil.After(db.Clock.Now()) {
			t.Fatalf("a stopped without releasing its lease: %+v, %v", cur, err)
		}
		createNumbers(t, s1, 7, 2)
		waitHandled(t, x, "b", 2)
		x.mu.Lock()
		defer x.mu.Unlock()
		if got := fmt.Sprint(x.handled["a"], x.handled["b"]); got != "[1 2 3 4 5 6 7] [8 9]" {
			t.Fatalf("a and b handled %s", got)
		}
	})
}

func waitHandled(t *testing.T, x *exclusive, instance string, n int) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		x.mu.Lock()
		got := len(x.handled[instance])
		x.mu.Unlock()
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s handled %d events, want %d", instance, got, n)
		}
	}
}

func waitCursor(t *testing.T, s knm.Store, name string, id int64) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		cur, err := s.GetEventCursor(context.Background(), name)
		if err == nil && cur.LastID >= id {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("cursor %s: %+v, %v; want %d", name, cur, err, id)
		}
	}
}

// TestConsumerStopsWhenLeaseLost: when another instance takes the lease over while a batch
// runs (here the clock jumps past the lease, as after a long pause of this instance), the
// batch's context is cancelled at the next renewal and the cursor does not move.
func TestConsumerStopsWhenLeaseLost(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db dbtest.DB) {
		const ttl = 600 * time.Millisecond
		s1, s2 := db.Open(t), db.Open(t)
		createNumbers(t, s1, 0, 2)
		other := &events.Consumer{Store: s2, Name: "proj", Owner: "b", LeaseTTL: time.Hour,
			Handle: func(context.Context, []*knm.Event) error { return nil }}
		var cause error
		c := &events.Consumer{Store: s1, Name: "proj", Owner: "a", LeaseTTL: ttl,
			Handle: func(ctx context.Context, _ []*knm.Event) error {
				db.Clock.Advance(ttl + time.Second) // a's lease has run out
				if _, ok, err := s2.ClaimEventCursor(ctx, "proj", "b", time.Hour, 0); err != nil || !ok {
					return fmt.Errorf("b could not take the lease over: %v", err)
				}
				<-ctx.Done() // a's next renewal fails
				cause = context.Cause(ctx)
				return cause
			}}
		n, err := c.Step(context.Background())
		if n != 0 || err == nil || !errors.Is(err, cause) {
			t.Fatalf("step = %d, %v (cause %v); want the lease lost", n, err, cause)
		}
		if cur, err := s1.GetEventCursor(context.Background(), "proj"); err != nil || cur.LastID != 0 ||
			cur.Owner != "b" {
			t.Fatalf("cursor after the lost lease: %+v, %v", cur, err)
		}
		if n, err := other.Step(context.Background()); err != nil || n != 2 {
			t.Fatalf("b: %d, %v", n, err)
		}
	})
}

// TestConsumerNeverSkipsLateCommits: writers commit concurrently (transactions finishing
// in any order) while a consumer reads with a tight poll. Every batch must start right
// after the cursor and have no gap: an event id given to a transaction that commits after
// a higher one would show as a gap (a reader could pass it before it commits).
func TestConsumerNeverSkipsLateCommits(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db dbtest.DB) {
		const writers, writes = 6, 40
		s := db.Open(t)
		var (
			mu   sync.Mutex
			last int64
			bad  []string
		)
		c := &events.Consumer{Store: db.Open(t), Name: "order", Poll: time.Millisecond, Batch: 7,
			Handle: func(_ context.Context, batch []*knm.Event) error {
				mu.Lock()
				defer mu.Unlock()
				for _, e := range batch {
					if e.ID != last+1 {
						bad = append(bad, fmt.Sprintf("%d after %d", e.ID, last))
					}
					last = e.ID
				}
				return nil
			}}
		ctx, stop := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { c.Run(ctx); close(done) }()
		var wg sync.WaitGroup
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range writes {
					n := &knm.Number{Number: fmt.Sprintf("+1415%03d%04d", w, i), State: knm.StateAvailable}
					if err := s.CreateNumber(context.Background(), n); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
			mu.Lock()
			got := last
			mu.Unlock()
			if got == writers*writes || time.Now().After(deadline) {
				break
			}
		}
		stop()
		<-done
		mu.Lock()
		defer mu.Unlock()
		if last != writers*writes || len(bad) > 0 {
			t.Fatalf("handled up to %d of %d; out of order: %v", last, writers*writes, bad)
		}
	})
}
