// Package lease keeps this process's instance lease in the database: knm serve, and every
// CLI command that orders from a carrier, registers an instance and renews its lease by
// heartbeats. The carrier journal records the instance owning each order; another instance
// takes an order over only once its owner's lease has expired (knm.InstanceStore).
package lease

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/knmproject/knm"
)

// DefaultTTL is how long a lease lasts without a heartbeat. Heartbeats come every TTL/3, so
// an instance loses its lease after three missed ones.
const DefaultTTL = 10 * time.Second

// Options configure a Lease. Zero fields take their defaults.
type Options struct {
	TTL    time.Duration // DefaultTTL
	Host   string        // os.Hostname
	PID    int           // os.Getpid
	Logger *slog.Logger
}

// Lease is this process's registered instance. When the lease is lost (the process was
// paused past it, or the database was unreachable for that long) it registers again under a
// new id: what the old id owned is settled by whoever takes it over, possibly this process.
type Lease struct {
	store knm.InstanceStore
	ttl   time.Duration
	host  string
	pid   int
	log   *slog.Logger

	mu sync.Mutex
	id string
}

// Acquire registers a new instance and returns its lease; Run keeps it alive.
func Acquire(ctx context.Context, s knm.InstanceStore, o Options) (*Lease, error) {
	if o.TTL <= 0 {
		o.TTL = DefaultTTL
	}
	if o.Host == "" {
		o.Host, _ = os.Hostname()
	}
	if o.PID == 0 {
		o.PID = os.Getpid()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	l := &Lease{store: s, ttl: o.TTL, host: o.Host, pid: o.PID, log: o.Logger}
	if err := l.register(ctx); err != nil {
		return nil, err
	}
	return l, nil
}

// register stores a fresh instance id for this process.
func (l *Lease) register(ctx context.Context) error {
	var b [6]byte
	_, _ = rand.Read(b[:])
	id := fmt.Sprintf("%s-%d-%s", l.host, l.pid, hex.EncodeToString(b[:]))
	if err := l.store.RegisterInstance(ctx, &knm.Instance{ID: id, Host: l.host, PID: l.pid}, l.ttl); err != nil {
		return fmt.Errorf("lease: register instance: %w", err)
	}
	l.mu.Lock()
	l.id = id
	l.mu.Unlock()
	return nil
}

// ID returns the instance id the lease is held under now; "" after Release.
func (l *Lease) ID() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.id
}

// TTL returns how long the lease lasts without a heartbeat.
func (l *Lease) TTL() time.Duration { return l.ttl }

// Run renews the lease every TTL/3 until ctx ends. A lease found lost is registered again
// under a new id, with a warning; a failed renewal is retried at the next beat.
func (l *Lease) Run(ctx context.Context) {
	t := time.NewTicker(l.ttl / 3)
	defer t.Stop()
	for beat := 0; ; beat++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if beat%pruneEvery == 0 {
			if _, err := l.PruneExpired(ctx, PruneAfter); err != nil && ctx.Err() == nil {
				l.log.Warn("expired instances not pruned", "error", err)
			}
		}
		id := l.ID()
		if id == "" {
			return // released
		}
		_, err := l.store.RenewInstance(ctx, id, l.ttl)
		switch {
		case err == nil:
		case knm.IsLeaseLost(err):
			l.log.Warn("instance lease lost; registering again (its unfinished orders go to recovery)",
				"instance", id)
			if err := l.register(ctx); err != nil && ctx.Err() == nil {
				l.log.Error("instance lease not registered again", "error", err)
			}
		case ctx.Err() == nil:
			l.log.Warn("instance lease not renewed; retrying", "instance", id, "error", err)
		}
	}
}

// PruneAfter is how long after its lease expired a crashed instance's row is deleted. Its
// orders are settled by then; deleting it changes nothing for them (no row, no lease).
const PruneAfter = 24 * time.Hour

// pruneEvery is how many heartbeats pass between two prunes.
const pruneEvery = 300

// PruneExpired deletes the instances whose lease expired more than after ago, which
// crashed processes leave behind, and returns how many it deleted.
func (l *Lease) PruneExpired(ctx context.Context, after time.Duration) (int, error) {
	ins, err := l.store.ListInstances(ctx)
	if err != nil {
		return 0, err
	}
	n, cutoff := 0, time.Now().Add(-after)
	for _, in := range ins {
		if in.Expires.Before(cutoff) {
			if err := l.store.ReleaseInstance(ctx, in.ID); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}

// Release ends the lease at once, so that what this instance still owns may be settled
// without waiting for the lease to expire.
func (l *Lease) Release(ctx context.Context) error {
	l.mu.Lock()
	id := l.id
	l.id = ""
	l.mu.Unlock()
	if id == "" {
		return nil
	}
	return l.store.ReleaseInstance(ctx, id)
}

// ReleaseDeadLocal ends the leases of other instances registered from this host whose
// process no longer runs (a crash or kill -9), so their orders are settled now rather than
// when their lease expires. Only for a store on this machine (SQLite): on a shared database
// an instance with the same host name may run in another PID namespace.
func (l *Lease) ReleaseDeadLocal(ctx context.Context) ([]string, error) {
	ins, err := l.store.ListInstances(ctx)
	if err != nil {
		return nil, err
	}
	self := l.ID()
	var dead []string
	for _, in := range ins {
		if in.ID == self || in.Host != l.host || in.PID <= 0 || (in.PID != l.pid && processRuns(in.PID)) {
			continue // our own process's pid, under another id, is a predecessor that died
		}
		if err := l.store.ReleaseInstance(ctx, in.ID); err != nil {
			return dead, err
		}
		dead = append(dead, in.ID)
	}
	return dead, nil
}

// AwaitOthers waits until every other instance that holds a live lease now has either
// renewed it since (it runs) or let it expire (it is gone), and returns the ids of the
// gone. A restart after a crash on a shared database uses it to settle the crashed
// instance's orders before serving: the wait is at most one lease, a third of one when
// every other instance runs.
func (l *Lease) AwaitOthers(ctx context.Context) ([]string, error) {
	ins, err := l.store.ListInstances(ctx)
	if err != nil {
		return nil, err
	}
	self := l.ID()
	beat := map[string]time.Time{}
	now := time.Now()
	for _, in := range ins {
		if in.ID != self && in.Live(now) {
			beat[in.ID] = in.Heartbeat
		}
	}
	var gone []string
	poll := time.NewTicker(max(l.ttl/20, 20*time.Millisecond))
	defer poll.Stop()
	for len(beat) > 0 {
		select {
		case <-ctx.Done():
			return gone, ctx.Err()
		case <-poll.C:
		}
		if ins, err = l.store.ListInstances(ctx); err != nil {
			return gone, err
		}
		now, seen := time.Now(), map[string]bool{}
		for _, in := range ins {
			seen[in.ID] = true
			if last, ok := beat[in.ID]; ok && (in.Heartbeat.After(last) || !in.Live(now)) {
				if !in.Live(now) {
					gone = append(gone, in.ID)
				}
				delete(beat, in.ID)
			}
		}
		for id := range beat {
			if !seen[id] { // released meanwhile: stopped gracefully
				delete(beat, id)
			}
		}
	}
	return gone, nil
}

// processRuns reports whether a process with this pid exists (signal 0 is delivered to no
// one; EPERM means it exists under another user).
func processRuns(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
