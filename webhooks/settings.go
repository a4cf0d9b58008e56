package webhooks

import (
	"context"
	"sync"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/config"
)

// Category is the system_config document of the delivery settings.
const Category = "knm.webhooks"

// Writes of knm.webhooks are checked with the reader delivery uses; registering it also makes
// the category operator settings rather than internal state (config.CheckWritable).
func init() {
	config.RegisterValidator(Category, func(ctx context.Context, c *config.Config) error {
		_, err := loadSettings(ctx, c)
		return err
	})
}

// Settings govern delivery. They are knm's own keys: Kazoo's webhooks document counts
// failures within a time window, knm counts consecutive failures.
type Settings struct {
	Timeout      time.Duration // timeout_ms: one attempt, connection to last byte (10 s)
	RetryMin     time.Duration // retry_min_ms: the first retry's delay, doubled per attempt (1 s)
	RetryMax     time.Duration // retry_max_ms: the longest delay between attempts (5 min)
	DisableAfter int           // disable_after_failures: consecutive failures that disable a hook (20)
}

// DefaultSettings returns the code defaults: with them a receiver that stays down is
// disabled after about an hour of failed retries.
func DefaultSettings() Settings {
	return Settings{Timeout: 10 * time.Second, RetryMin: time.Second, RetryMax: 5 * time.Minute, DisableAfter: 20}
}

// settingsTTL is how long settings read from system_config are used before being read
// again: a change applies within it, without a restart.
const settingsTTL = 30 * time.Second

// ConfigSettings returns a source of Settings read from system_config knm.webhooks (and
// cached for 30 s). Unusable values are an invalid error naming the key.
func ConfigSettings(cfg *config.Config) func(context.Context) (Settings, error) {
	var (
		mu     sync.Mutex
		cached Settings
		read   time.Time
	)
	return func(ctx context.Context) (Settings, error) {
		mu.Lock()
		defer mu.Unlock()
		if !read.IsZero() && time.Since(read) < settingsTTL {
			return cached, nil
		}
		s, err := loadSettings(ctx, cfg)
		if err != nil {
			return Settings{}, err
		}
		cached, read = s, time.Now()
		return s, nil
	}
}

func loadSettings(ctx context.Context, cfg *config.Config) (Settings, error) {
	d := DefaultSettings()
	ms := func(key string, def time.Duration, lo, hi int) (time.Duration, error) {
		v, err := cfg.GetInt(ctx, Category, key, int(def.Milliseconds()))
		if err == nil && (v < lo || v > hi) {
			err = knm.Errorf(knm.ErrInvalid, "%s %s must be between %d and %d", Category, key, lo, hi)
		}
		return time.Duration(v) * time.Millisecond, err
	}
	var s Settings
	var err error
	if s.Timeout, err = ms("timeout_ms", d.Timeout, 100, 120_000); err != nil {
		return s, err
	}
	if s.RetryMin, err = ms("retry_min_ms", d.RetryMin, 1, 3_600_000); err != nil {
		return s, err
	}
	if s.RetryMax, err = ms("retry_max_ms", d.RetryMax, int(s.RetryMin.Milliseconds()), 86_400_000); err != nil {
		return s, err
	}
	s.DisableAfter, err = cfg.GetInt(ctx, Category, "disable_after_failures", d.DisableAfter)
	if err == nil && s.DisableAfter < 1 {
		err = knm.Errorf(knm.ErrInvalid, "%s disable_after_failures must be at least 1", Category)
	}
	return s, err
}
