// Package events follows knm's number event outbox (knm.EventStore): a named consumer
// that resumes where it stopped after a restart and runs on one instance at a time
// (Consumer), how far behind a consumer is (ConsumerLag), and retention (Purge).
//
// The store writes each event in the transaction of the change it records and numbers
// events in commit order, so a consumer that reads in ID order from its persisted cursor
// sees every change exactly in the order it was committed, at least once.
package events

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/knmproject/knm"
)

// Start positions of a new consumer (Consumer.Start).
const (
	// FromNewest starts a new consumer after the newest event: it sees what happens next.
	FromNewest int64 = -1
	// FromOldest starts a new consumer at the oldest event retention has kept.
	FromOldest int64 = 0
)

// Handler handles a batch of events in ID order. It returns nil when every event was
// handled; the cursor then moves past the batch. An error leaves the cursor where it was,
// and the same batch is offered again after a pause, so a handler must be idempotent.
type Handler func(ctx context.Context, batch []*knm.Event) error

// Consumer feeds the outbox to Handle from the persisted cursor Name, holding the
// cursor's lease so that, with several instances, one handles the events at a time and
// another takes over within LeaseTTL when it stops.
type Consumer struct {
	Store  knm.EventStore
	Name   string  // e.g. "kazoo_sync"
	Handle Handler // required
	// Owner names this instance in the lease; default a random id per Consumer.
	Owner string
	// Start is where a consumer that was never registered begins: FromOldest (the zero
	// value), FromNewest or after an event ID.
	Start int64
	// Batch is the most events handed to Handle at once; default 100.
	Batch int
	// Poll is how long to wait when there is nothing new (or another instance holds the
	// lease); default 500 ms.
	Poll time.Duration
	// LeaseTTL is how long the lease lasts without renewal; default 30 s. It is renewed
	// before each batch, so a batch must be handled within it, or another instance may
	// handle the same events too.
	LeaseTTL time.Duration
	// MaxBackoff bounds the pause after a failed batch, which doubles from Poll; default
	// one minute.
	MaxBackoff time.Duration
	Logger     *slog.Logger
}

func (c *Consumer) defaults() {
	if c.Owner == "" {
		var b [8]byte
		crand.Read(b[:])
		c.Owner = "consumer-" + hex.EncodeToString(b[:])
	}
	if c.Batch <= 0 {
		c.Batch = 100
	}
	if c.Poll <= 0 {
		c.Poll = 500 * time.Millisecond
	}
	if c.LeaseTTL <= 0 {
		c.LeaseTTL = 30 * time.Second
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = time.Minute
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Run handles events until ctx ends, and then returns nil. Failures (of the store or of
// Handle) are logged and retried with exponential backoff and jitter.
func (c *Consumer) Run(ctx context.Context) error {
	c.defaults()
	failures := 0
	for {
		n, err := c.Step(ctx)
		wait := c.Poll
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			failures++
			wait = Backoff(c.Poll, c.MaxBackoff, failures)
			c.Logger.WarnContext(ctx, "event consumer failed", "consumer", c.Name, "error", err, "retry_in", wait)
		case n > 0:
			failures = 0
			continue
		default:
			failures = 0
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

// Step handles at most one batch: it claims (or renews) the lease, reads the events after
// the cursor and, once Handle succeeded, advances the cursor. It returns how many events
// were handled: 0 when there were none or another instance holds the lease.
func (c *Consumer) Step(ctx context.Context) (int, error) {
	c.defaults()
	if c.Handle == nil {
		return 0, knm.Errorf(knm.ErrInvalid, "events: consumer %s has no handler", c.Name)
	}
	cur, ok, err := c.Store.ClaimEventCursor(ctx, c.Name, c.Owner, c.LeaseTTL, c.Start)
	if err != nil || !ok {
		return 0, err
	}
	batch, err := c.Store.Events(ctx, cur.LastID, c.Batch)
	if err != nil || len(batch) == 0 {
		return 0, err
	}
	if err := c.Handle(ctx, batch); err != nil {
		return 0, err
	}
	if err := c.Store.AdvanceEventCursor(ctx, c.Name, c.Owner, batch[len(batch)-1].ID); err != nil {
		if knm.IsErrorName(err, knm.ErrConflict) {
			// Another instance took the lease over meanwhile; it will hand these events on
			// again, which an idempotent handler absorbs.
			return len(batch), nil
		}
		return 0, err
	}
	return len(batch), nil
}

// Backoff returns the pause before retry number attempt (1, 2, …): lo doubled per
// attempt, capped at hi, with "equal jitter" (between half and all of it) so instances
// that failed together do not retry together.
func Backoff(lo, hi time.Duration, attempt int) time.Duration {
	d := lo
	for i := 1; i < attempt && d < hi; i++ {
		d *= 2
	}
	d = min(d, hi)
	if d <= 1 {
		return d
	}
	half := d / 2
	return half + rand.N(half+1)
}

// Lag is how far a consumer is behind the outbox.
type Lag struct {
	Cursor int64 // the last event the consumer handled
	Head   int64 // the newest event
	Events int64 // events written and not yet handled: Head - Cursor
	// Oldest is the age of the oldest event not yet handled; 0 when caught up.
	Oldest time.Duration
}

// ConsumerLag returns the lag of the consumer name at time now (ErrNotFound for a
// consumer never registered).
func ConsumerLag(ctx context.Context, s knm.EventStore, name string, now time.Time) (Lag, error) {
	cur, err := s.GetEventCursor(ctx, name)
	if err != nil {
		return Lag{}, err
	}
	head, err := s.LastEventID(ctx)
	if err != nil {
		return Lag{}, err
	}
	lag := Lag{Cursor: cur.LastID, Head: head, Events: max(0, head-cur.LastID)}
	if lag.Events == 0 {
		return lag, nil
	}
	next, err := s.Events(ctx, cur.LastID, 1)
	if err != nil {
		return Lag{}, err
	}
	if len(next) == 1 {
		lag.Oldest = max(0, now.Sub(next[0].Time))
	}
	return lag, nil
}
