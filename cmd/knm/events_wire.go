package main

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/knmproject/knm/config"
	"github.com/knmproject/knm/events"
	"github.com/knmproject/knm/webhooks"
)

// retentionEvery is how often serve purges events past their retention.
const retentionEvery = time.Hour

// startEvents starts serve's webhook delivery worker and event retention loop. The returned
// stop ends them and waits for deliveries in flight, each bounded by the attempt timeout.
func (a *app) startEvents(ctx context.Context, logger *slog.Logger) (stop func()) {
	s, err := a.openStore(ctx)
	if err != nil {
		logger.Warn("webhook delivery and event retention not started", "error", err)
		return func() {}
	}
	cfg := config.New(s, a.node, a.zone)
	mgr, err := a.manager(ctx)
	var w *webhooks.Worker
	if err == nil {
		w, err = webhooks.NewWorker(webhooks.Options{
			Store: s, Filter: mgr, Owner: a.instanceName(), Settings: webhooks.ConfigSettings(cfg), Logger: logger,
			Observer: a.metrics(),
		})
	}
	if err != nil {
		logger.Warn("webhook delivery and event retention not started", "error", err)
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	retention := func(ctx context.Context) (time.Duration, error) { return events.Retention(ctx, cfg) }
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); events.RunRetention(ctx, s, retention, retentionEvery, logger) }()
	go func() { defer wg.Done(); w.Run(ctx) }()
	return func() { cancel(); wg.Wait() }
}
