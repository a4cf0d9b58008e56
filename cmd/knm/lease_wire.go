package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/knmproject/knm/lease"
)

// leaseHolder is this process's instance lease: knm serve takes it at start, a CLI command
// at its first order (or recovery), and app.close releases it.
type leaseHolder struct {
	mu     sync.Mutex
	l      *lease.Lease
	cancel context.CancelFunc // stops the heartbeats
}

// leaseTTL is --lease-ttl / KNM_LEASE_TTL: how long an instance's lease lasts without a
// heartbeat (heartbeats come every third of it).
func (a *app) leaseTTL() (time.Duration, error) {
	v := strings.TrimSpace(a.envOr("KNM_LEASE_TTL", ""))
	if v == "" {
		return lease.DefaultTTL, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 300*time.Millisecond {
		return 0, usageError("KNM_LEASE_TTL %q is not a duration of at least 300ms (e.g. 10s)", v)
	}
	return d, nil
}

// holdLease registers this process's instance once and keeps its lease alive until close.
func (a *app) holdLease(ctx context.Context) (*lease.Lease, error) {
	a.lease.mu.Lock()
	defer a.lease.mu.Unlock()
	if a.lease.l != nil {
		return a.lease.l, nil
	}
	s, err := a.openStore(ctx)
	if err != nil {
		return nil, err
	}
	ttl, err := a.leaseTTL()
	if err != nil {
		return nil, err
	}
	l, err := lease.Acquire(ctx, s, lease.Options{TTL: ttl, Logger: a.logger, Held: a.metrics().SetLeaseHeld})
	if err != nil {
		return nil, err
	}
	hctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	go l.Run(hctx)
	a.lease.l, a.lease.cancel = l, cancel
	return l, nil
}

// leaseID is the carriers' owner: the instance id of this process's lease, taken at the
// first call. Without a lease (the database refused it) orders are journalled without an
// owner, and recovery settles them by the idle rule (startupIdle).
func (a *app) leaseID() string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	l, err := a.holdLease(ctx)
	if err != nil {
		if a.logger != nil {
			a.logger.Warn("no instance lease; orders are journalled without an owner", "error", err)
		}
		return ""
	}
	return l.ID()
}

// releaseLease stops the heartbeats and ends the lease, so what this process left
// unfinished is settled by the next instance at once.
func (a *app) releaseLease(ctx context.Context) error {
	a.lease.mu.Lock()
	defer a.lease.mu.Unlock()
	if a.lease.l == nil {
		return nil
	}
	a.lease.cancel()
	err := a.lease.l.Release(ctx)
	a.lease.l = nil
	if err != nil {
		return fmt.Errorf("release instance lease: %w", err)
	}
	return nil
}

// abandonLease stops the heartbeats without ending the lease: it expires by itself once
// this process, which may still be settling an order, is gone.
func (a *app) abandonLease() {
	a.lease.mu.Lock()
	defer a.lease.mu.Unlock()
	if a.lease.l != nil {
		a.lease.cancel()
		a.lease.l = nil
	}
}

// current returns the instance id of the lease held now, "" for none.
func (h *leaseHolder) current() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.l == nil {
		return ""
	}
	return h.l.ID()
}
