// Package ratelimit provides request-rate limiters that guarantee a hard ceiling: never
// more than rps grants in ANY one-second window.
//
// Both limiters are sliding-window logs, not token buckets. A token bucket with burst N
// refills while it is being drained, so some one-second windows see up to 2N requests;
// Voxbone answers such a window with 429/509. A log of the last rps grant times makes the
// guarantee exact: a new grant waits until the oldest of the last rps grants is at least
// one window old.
//
// Local serves one process; Redis shares one budget among processes (several knm
// instances behind one egress IP) through an atomic Lua script on a sorted set.
//
// A grant is not an arrival. The server counts a request when it arrives, and a request
// granted before a cold connection is dialed (a TLS handshake takes 100-300 ms) can arrive
// after one granted later that rides a warm connection. Both limiters therefore implement
// Reserver as well as Limiter: Reserve takes a slot recorded at the grant time, and the
// caller commits it when the request is really sent (see voxbone's use of
// httptrace.ClientTrace.GotConn), which moves the recorded time later so that the window
// is enforced over send times rather than grant times.
package ratelimit

import (
	"context"
	"time"
)

// Limiter blocks until a request may be sent now.
type Limiter interface {
	// Wait blocks until the caller may send one request, or until ctx ends, in which case
	// it returns ctx's error and consumes nothing from the budget.
	Wait(ctx context.Context) error
}

// Reserver hands out slots in two phases: Reserve grants one, exactly as Limiter.Wait would,
// and the caller then either commits it when the request is sent or cancels it when the
// request is not sent at all.
type Reserver interface {
	// Reserve blocks until the caller may send one request, or until ctx ends, in which
	// case it returns ctx's error and consumes nothing from the budget. The slot is
	// recorded at the grant time until it is committed or cancelled.
	Reserve(ctx context.Context) (Reservation, error)
}

// Reservation is one granted slot.
//
// A slot that is neither committed nor cancelled keeps its grant time: it leaves the window
// one window after the grant, whether or not its request was sent meanwhile. Commit and
// Cancel are safe for concurrent use; after Cancel, Commit does nothing, and after Commit,
// Cancel does nothing.
type Reservation interface {
	// Commit moves the slot's recorded time to sent, the moment the request was really
	// sent, and never earlier than it was. Committing a slot that already left the window
	// puts it back. Commit may be called again (a resent request) to move it later still.
	Commit(sent time.Time)
	// Cancel frees the slot at once: the request was never sent.
	Cancel()
}

// Window is the length of the sliding window the limiters enforce rps over.
const Window = time.Second

// sleepUntilFreed waits for d, until freed is closed (a cancel freed a slot), or until
// ctx ends.
func sleepUntilFreed(ctx context.Context, d time.Duration, freed <-chan struct{}) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-freed:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// acquire takes the single-slot semaphore sem, or gives up when ctx ends. Blocked senders
// on a Go channel are queued in arrival order, which makes waiters first-come first-served.
func acquire(ctx context.Context, sem chan struct{}) error {
	select {
	case sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Meter reports how much of a limiter's budget is taken, for operators (the console's
// dashboard); a limiter never consults it to grant.
type Meter interface {
	// InUse returns how many slots lie in the window (Window plus the limiter's margin)
	// now, and the budget per window. A Redis limiter counts every process sharing its key.
	InUse(ctx context.Context) (used, rps int, err error)
}
