package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/config"
	"github.com/knmproject/knm/kazoo"
	"github.com/knmproject/knm/webhooks"
)

// instanceName names this process in leases: node, pid and a random suffix, so two
// processes on one node, or a restart with the same pid, never share a lease.
func (a *app) instanceName() string {
	return fmt.Sprintf("%s-%d-%s", a.node, os.Getpid(), webhooks.NewSecret()[:8])
}

// kazooSyncService returns, for serve, the Kazoo projection following kazoo_sync: it runs
// while enabled and picks up changed settings without a restart.
func (a *app) kazooSyncService(s knm.Store, cfg *config.Config, logger *slog.Logger) *kazoo.Service {
	return &kazoo.Service{Store: s, Settings: cfg.KazooSync, Owner: a.instanceName(), Observer: a.metrics(),
		Logger: logger}
}

// runKazooSync runs svc until ctx ends or the returned stop is called; stop waits until the
// projector has stopped and given its lease up.
func runKazooSync(ctx context.Context, svc *kazoo.Service) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); svc.Run(ctx) }()
	return func() { cancel(); <-done }
}

// kazooReadyDetails reports the projection in /readyz: whether it is enabled and its lag.
// Kazoo being behind is reported, never a reason to be unready.
func kazooReadyDetails(svc *kazoo.Service) func(context.Context) map[string]any {
	return func(ctx context.Context) map[string]any {
		st, err := svc.Status(ctx)
		if err != nil {
			return map[string]any{"kazoo_sync": map[string]any{"enabled": st.Enabled,
				"problem": "lag not available: " + err.Error()}}
		}
		return map[string]any{"kazoo_sync": st}
	}
}
