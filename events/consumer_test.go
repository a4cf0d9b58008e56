package events_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/config"
	"github.com/knmproject/knm/events"
	"github.com/knmproject/knm/internal/dbtest"
)

func createNumbers(t *testing.T, s knm.Store, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		if err := s.CreateNumber(context.Background(), &knm.Number{Number: fmt.Sprintf("+1415555%04d", i),
			State: knm.StateAvailable}); err != nil {
			t.Fatal(err)
		}
	}
}

// recorder is a handler that keeps what it was given and fails while fail is set.
type recorder struct {
	mu   sync.Mutex
	ids  []int64
	fail bool
}

func (r *recorder) handle(_ context.Context, batch []*knm.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail {
		return errors.New("downstream unavailable")
	}
	for _, e := range batch {
		r.ids = append(r.ids, e.ID)
	}
	return nil
}

// TestConsumerResumesAfterRestart: a consumer hands every event over once, in order, in
// batches; a failed batch is offered again; a new consumer of the same name (a restart)
// continues where the cursor stands.
func TestConsumerResumesAfterRestart(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db dbtest.DB) {
		open := func() knm.Store { return db.Open(t) }
		ctx := context.Background()
		s := open()
		createNumbers(t, s, 0, 5)
		rec := &recorder{}
		c := &events.Consumer{Store: s, Name: "projection", Handle: rec.handle, Batch: 2, Owner: "node-a"}
		for _, want := range []int{2, 2, 1, 0} {
			if n, err := c.Step(ctx); err != nil || n != want {
				t.Fatalf("step: %d, %v; want %d", n, err, want)
			}
		}
		createNumbers(t, s, 5, 2)
		rec.fail = true
		if n, err := c.Step(ctx); err == nil || n != 0 {
			t.Fatalf("failing handler: step = %d, %v", n, err)
		}
		lag, err := events.ConsumerLag(ctx, s, "projection", time.Now().Add(time.Minute))
		if err != nil || lag.Cursor != 5 || lag.Head != 7 || lag.Events != 2 || lag.Oldest < time.Minute {
			t.Fatalf("lag = %+v, %v", lag, err)
		}
		rec.fail = false
		s.Close()
		s = open() // restart
		c = &events.Consumer{Store: s, Name: "projection", Handle: rec.handle, Batch: 2, Owner: "node-a"}
		if n, err := c.Step(ctx); err != nil || n != 2 {
			t.Fatalf("after restart: step = %d, %v", n, err)
		}
		if want := []int64{1, 2, 3, 4, 5, 6, 7}; fmt.Sprint(rec.ids) != fmt.Sprint(want) {
			t.Fatalf("handled %v, want %v", rec.ids, want)
		}
		lag, err = events.ConsumerLag(ctx, s, "projection", time.Now())
		if err != nil || lag.Events != 0 || lag.Oldest != 0 {
			t.Fatalf("lag when caught up = %+v, %v", lag, err)
		}
	})
}

// TestConsumerLeaseHandover: of two instances running one consumer, one handles the
// events; when it stops, the other takes over after the lease expires, missing nothing.
func TestConsumerLeaseHandover(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db dbtest.DB) {
		s1, s2 := db.Open(t), db.Open(t)
		ctx := context.Background()
		createNumbers(t, s1, 0, 3)
		r1, r2 := &recorder{}, &recorder{}
		const lease = time.Minute
		c1 := &events.Consumer{Store: s1, Name: "kazoo_sync", Handle: r1.handle, Owner: "a", LeaseTTL: lease}
		c2 := &events.Consumer{Store: s2, Name: "kazoo_sync", Handle: r2.handle, Owner: "b", LeaseTTL: lease}
		if n, err := c1.Step(ctx); err != nil || n != 3 {
			t.Fatalf("a: %d, %v", n, err)
		}
		createNumbers(t, s1, 3, 2)
		if n, err := c2.Step(ctx); err != nil || n != 0 {
			t.Fatalf("b took events while a holds the lease: %d, %v", n, err)
		}
		db.Clock.Advance(lease + time.Second) // a stopped: its lease runs out
		if n, err := c2.Step(ctx); err != nil || n != 2 {
			t.Fatalf("b after a's lease expired: %d, %v", n, err)
		}
		if fmt.Sprint(r1.ids, r2.ids) != "[1 2 3] [4 5]" {
			t.Fatalf("a handled %v and b %v", r1.ids, r2.ids)
		}
	})
}

// TestConsumerRun handles events as they come until stopped.
func TestConsumerRun(t *testing.T) {
	s2 := dbtest.SQLite(t).Open(t)
	rec := &recorder{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	c := &events.Consumer{Store: s2, Name: "tail", Handle: rec.handle, Start: events.FromNewest,
		Poll: 5 * time.Millisecond}
	createNumbers(t, s2, 0, 2) // before the consumer exists: not seen
	go func() { done <- c.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := s2.GetEventCursor(context.Background(), "tail"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("consumer never registered")
		}
		time.Sleep(5 * time.Millisecond)
	}
	createNumbers(t, s2, 2, 3)
	for {
		rec.mu.Lock()
		n := len(rec.ids)
		rec.mu.Unlock()
		if n == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("handled %d events, want 3", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(rec.ids) != "[3 4 5]" {
		t.Fatalf("handled %v", rec.ids)
	}
}

func TestRetention(t *testing.T) {
	ctx := context.Background()
	st := dbtest.SQLite(t).Open(t)
	cfg := config.New(st, "node", "")
	keep, err := events.Retention(ctx, cfg)
	if err != nil || keep != 30*24*time.Hour {
		t.Fatalf("default retention = %v, %v", keep, err)
	}
	// Refused where it is written; a store edited by hand is still reported by the reader.
	if err := cfg.Set(ctx, events.Category, "retention_days", []byte("0"), ""); !knm.IsErrorName(err,
		knm.ErrInvalid) {
		t.Fatalf("set retention_days 0: %v, want invalid", err)
	}
	doc, err := st.GetConfig(ctx, "", events.Category)
	if err != nil {
		t.Fatal(err)
	}
	doc.Body = []byte(`{"_id":"knm.events","default":{"retention_days":0}}`)
	if err := st.PutConfig(ctx, doc); err != nil {
		t.Fatal(err)
	}
	if _, err := events.Retention(ctx, cfg); !knm.IsErrorName(err, knm.ErrInvalid) {
		t.Fatalf("retention_days 0: %v, want invalid", err)
	}
	createNumbers(t, st, 0, 3)
	if n, err := events.Purge(ctx, st, time.Hour, time.Now()); err != nil || n != 0 {
		t.Fatalf("purge of young events: %d, %v", n, err)
	}
	if n, err := events.Purge(ctx, st, time.Hour, time.Now().Add(2*time.Hour)); err != nil || n != 3 {
		t.Fatalf("purge of old events: %d, %v", n, err)
	}
}

func TestBackoff(t *testing.T) {
	wants := map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 4: 8 * time.Second, 30: time.Minute}
	for attempt, want := range wants {
		for range 50 {
			d := events.Backoff(time.Second, time.Minute, attempt)
			if d < want/2 || d > want {
				t.Fatalf("Backoff(attempt %d) = %v, want within [%v, %v]", attempt, d, want/2, want)
			}
		}
	}
}
