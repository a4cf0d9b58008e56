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
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
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
	// before each batch and every LeaseTTL/3 while Handle runs; when a renewal fails,
	// Handle's context is cancelled, so a handler that honours its context never runs
	// beside another instance's.
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

// Run handles events until ctx ends, then gives the lease up (Release) and returns nil.
// Failures (of the store or of Handle) are logged and retried with exponential backoff
// and jitter.
func (c *Consumer) Run(ctx context.Context) error {
	c.defaults()
	defer c.releaseAfter(ctx)
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

// releaseTimeout bounds the release of the lease when Run stops, and the recording of a
// batch handled just before.
const releaseTimeout = 5 * time.Second

// releaseAfter releases the lease once ctx, Run's, has ended.
func (c *Consumer) releaseAfter(ctx context.Context) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	if err := c.Release(rctx); err != nil {
		c.Logger.WarnContext(rctx, "event consumer lease not released", "consumer", c.Name, "error", err)
	}
}

// Release gives the lease up, if this consumer holds it, so that another instance takes
// the events over at once instead of after LeaseTTL. The cursor stays where it is.
func (c *Consumer) Release(ctx context.Context) error {
	c.defaults()
	// A lease that ends now is free to any other owner, and leaves one held by another
	// owner untouched.
	_, _, err := c.Store.ClaimEventCursor(ctx, c.Name, c.Owner, 0, c.Start)
	return err
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
	if err := c.handle(ctx, batch); err != nil {
		return 0, err
	}
	// The batch is handled: record it even if ctx ended meanwhile, so a stop does not
	// have it handled again.
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	if err := c.Store.AdvanceEventCursor(actx, c.Name, c.Owner, batch[len(batch)-1].ID); err != nil {
		if knm.IsErrorName(err, knm.ErrConflict) {
			// Another instance took the lease over meanwhile; it will hand these events on
			// again, which an idempotent handler absorbs.
			return len(batch), nil
		}
		return 0, err
	}
	return len(batch), nil
}

// errLeaseLost ends a batch whose lease could not be renewed.
var errLeaseLost = errors.New("lease lost")

// handle runs Handle while renewing the lease every LeaseTTL/3, each renewal bounded by
// LeaseTTL/3. When a renewal fails (another instance took the lease over, or the store did
// not answer) the handler's context is cancelled while the lease still has a third of its
// time to run, so no other instance starts on events while this one still handles them.
func (c *Consumer) handle(ctx context.Context, batch []*knm.Event) error {
	hctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	every := max(c.LeaseTTL/3, time.Millisecond)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-hctx.Done():
				return
			case <-t.C:
			}
			rctx, stop := context.WithTimeout(hctx, every)
			_, ok, err := c.Store.ClaimEventCursor(rctx, c.Name, c.Owner, c.LeaseTTL, c.Start)
			stop()
			if err != nil || !ok {
				cancel(fmt.Errorf("events: consumer %s: %w (renewal: ok=%t, %v)", c.Name, errLeaseLost, ok, err))
				return
			}
		}
	}()
	err := c.Handle(hctx, batch)
	close(done)
	wg.Wait()
	if cause := context.Cause(hctx); errors.Is(cause, errLeaseLost) {
		return cause
	}
	return err
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
	return LagAfter(ctx, s, cur.LastID, now)
}

// LagAfter returns the lag at time now of a consumer that has handled every event up to
// cursor; a consumer not registered yet that will start FromOldest has cursor 0.
func LagAfter(ctx context.Context, s knm.EventStore, cursor int64, now time.Time) (Lag, error) {
	head, err := s.LastEventID(ctx)
	if err != nil {
		return Lag{}, err
	}
	lag := Lag{Cursor: cursor, Head: head, Events: max(0, head-cursor)}
	if lag.Events == 0 {
		return lag, nil
	}
	next, err := s.Events(ctx, cursor, 1)
	if err != nil {
		return Lag{}, err
	}
	if len(next) == 1 {
		lag.Oldest = max(0, now.Sub(next[0].Time))
	}
	return lag, nil
}
