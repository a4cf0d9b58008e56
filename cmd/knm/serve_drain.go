package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// defaultDrainTimeout bounds a graceful stop: how long running requests and orders may take
// to reach a final state after SIGTERM or SIGINT.
const defaultDrainTimeout = 30 * time.Second

// drainFlag adds --drain-timeout (env KNM_DRAIN_TIMEOUT) to serve and demo.
// A bad KNM_DRAIN_TIMEOUT or a negative --drain-timeout stops the command before it starts,
// rather than being replaced by the default unseen.
func (a *app) drainFlag(cmd *cobra.Command) {
	def := defaultDrainTimeout
	var envErr error
	if v := a.getenv("KNM_DRAIN_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			envErr = usageError("KNM_DRAIN_TIMEOUT %q is not a duration of 0 or more (e.g. 30s)", v)
		} else {
			def = d
		}
	}
	cmd.Flags().DurationVar(&a.drainTimeout, "drain-timeout", def,
		"on SIGTERM/SIGINT, how long running requests and orders may take to finish before knm exits; "+
			"0 means the default (env KNM_DRAIN_TIMEOUT)")
	cmd.PreRunE = func(cmd *cobra.Command, _ []string) error {
		if envErr != nil && !cmd.Flag("drain-timeout").Changed {
			return envErr
		}
		if a.drainTimeout < 0 {
			return usageError("--drain-timeout %s is negative (0 means the default, %s)", a.drainTimeout,
				defaultDrainTimeout)
		}
		return nil
	}
}

// isPostgres reports whether the database string names PostgreSQL, which instances share.
func isPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// startLease registers this serve as an instance before anything is recovered. On SQLite,
// the leases of earlier processes of this host that are gone (a crash, kill -9) end at once;
// then it waits (at most one lease) until every other instance has renewed its lease or let
// it expire, so start-up recovery settles the orders of crashed instances before the API
// accepts requests, and never those of running ones.
func (a *app) startLease(ctx context.Context, logger *slog.Logger) error {
	l, err := a.holdLease(ctx)
	if err != nil {
		return err
	}
	logger.Info("instance lease held", "instance", l.ID(), "ttl", l.TTL().String())
	if !isPostgres(a.db) {
		dead, err := l.ReleaseDeadLocal(ctx)
		if err != nil {
			return fmt.Errorf("serve: instances: %w", err)
		}
		if len(dead) > 0 {
			logger.Info("leases of stopped processes ended; their orders are settled now", "instances", dead)
		}
	}
	start := time.Now()
	gone, err := l.AwaitOthers(ctx)
	if err != nil {
		return fmt.Errorf("serve: instances: %w", err)
	}
	if len(gone) > 0 {
		logger.Info("instances stopped without releasing their lease; their orders are settled now",
			"instances", gone, "waited", time.Since(start).Round(time.Millisecond).String())
	}
	return nil
}

// recoverEvery is how often the background loop looks for orders whose owner's lease has
// ended: twice per lease, so one is settled within about 1.5 leases of its owner's last beat.
func (a *app) recoverEvery() time.Duration {
	ttl, err := a.leaseTTL()
	if err != nil {
		ttl = 0
	}
	return max(ttl/2, 500*time.Millisecond)
}

// drain stops serve gracefully under one deadline: it stops accepting at once, then waits
// for running requests and for this process's orders side by side, so orders get the whole
// drain timeout whatever the requests do. The lease is released only when no order runs here
// any more; otherwise it is left to expire, so no other instance settles an order this
// process may still be writing.
func (a *app) drain(ctx context.Context, logger *slog.Logger, hs *http.Server, errc <-chan error) error {
	timeout := cmp.Or(a.drainTimeout, defaultDrainTimeout)
	logger.Info("knm stopping: draining", "timeout", timeout.String(), "orders_running", a.ordersRunning())
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	httpDone := make(chan error, 1)
	go func() { httpDone <- a.drainHTTP(sctx, logger, hs, errc) }()
	running := a.awaitOrders(sctx)
	err := <-httpDone
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer rcancel()
	a.logLeft(rctx, logger)
	if len(running) > 0 {
		logger.Warn("drain timeout reached with orders still running in this process; "+
			"the instance lease is kept and expires by itself", "orders", running)
		a.abandonLease()
	} else if rerr := a.releaseLease(rctx); rerr != nil {
		logger.Warn("instance lease not released; it expires by itself", "error", rerr)
	}
	logger.Info("knm stopped")
	return err
}

// drainHTTP shuts the HTTP server down by ctx's deadline, cutting off the requests still
// running then, and returns the server's own error, if any.
func (a *app) drainHTTP(ctx context.Context, logger *slog.Logger, hs *http.Server, errc <-chan error) error {
	err := hs.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		logger.Warn("drain timeout reached; requests still running are cut off")
		hs.Close()
		err = nil
	}
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}

// awaitOrders waits until no order runs in this process or ctx ends, and returns the orders
// still running then.
func (a *app) awaitOrders(ctx context.Context) []string {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		running := a.ordersRunning()
		if len(running) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return running
		case <-t.C:
		}
	}
}

// ordersRunning returns the carrier orders running in this process now.
func (a *app) ordersRunning() []string {
	if a.vox == nil || a.vox.Holder == nil {
		return nil
	}
	return a.vox.InFlight()
}

// logLeft logs the unfinished orders this instance leaves for recovery.
func (a *app) logLeft(ctx context.Context, logger *slog.Logger) {
	c, _ := a.vox.Carrier(ctx)
	l := a.lease.current()
	if c == nil || l == "" {
		return
	}
	left, err := c.OwnedUnfinished(ctx, l)
	switch {
	case err != nil:
		logger.Warn("unfinished orders not listed", "error", err)
	case len(left) > 0:
		logger.Warn("orders left for recovery; the next start or another instance settles them", "orders", left)
	default:
		logger.Info("no order left unfinished")
	}
}
