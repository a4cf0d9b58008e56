package events

import (
	"context"
	"log/slog"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/config"
)

// Category is the system_config document of the outbox's settings.
const Category = "knm.events"

// Writes of knm.events are checked with the reader retention uses; registering it also makes
// the category operator settings rather than internal state (config.CheckWritable).
func init() {
	config.RegisterValidator(Category, func(ctx context.Context, c *config.Config) error {
		_, err := Retention(ctx, c)
		return err
	})
}

// DefaultRetentionDays is how many days events are kept unless retention_days says
// otherwise.
const DefaultRetentionDays = 30

// Retention returns system_config knm.events retention_days as a duration: events older
// than this are purged once every registered consumer has passed them.
func Retention(ctx context.Context, cfg *config.Config) (time.Duration, error) {
	days, err := cfg.GetInt(ctx, Category, "retention_days", DefaultRetentionDays)
	if err != nil {
		return 0, err
	}
	if days < 1 {
		return 0, knm.Errorf(knm.ErrInvalid, "%s retention_days must be at least 1, not %d", Category, days)
	}
	return time.Duration(days) * 24 * time.Hour, nil
}

// Purge deletes the events written more than retention before now that every registered
// consumer has passed and no pending webhook delivery needs. A consumer that stopped
// keeps every event after its cursor: unregister it (knm.EventStore.DeleteEventCursor,
// or delete its webhook) to let retention go past it.
func Purge(ctx context.Context, s knm.EventStore, retention time.Duration, now time.Time) (int, error) {
	if retention <= 0 {
		return 0, knm.Errorf(knm.ErrInvalid, "events: retention must be positive")
	}
	return s.PurgeEvents(ctx, now.Add(-retention))
}

// RunRetention purges once, then every `every`, until ctx ends, reading the retention
// each time so a change applies without a restart. Failures are logged and retried at
// the next round.
func RunRetention(ctx context.Context, s knm.EventStore, retention func(context.Context) (time.Duration, error),
	every time.Duration, logger *slog.Logger) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	for {
		keep, err := retention(ctx)
		if err == nil {
			var n int
			if n, err = Purge(ctx, s, keep, time.Now()); n > 0 {
				logger.InfoContext(ctx, "events purged", "count", n, "retention", keep)
			}
		}
		if err != nil && ctx.Err() == nil {
			logger.WarnContext(ctx, "event retention failed", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
	}
}
