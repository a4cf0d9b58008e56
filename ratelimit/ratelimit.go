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

// Window is the length of the sliding window the limiters enforce rps over.
const Window = time.Second

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
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
