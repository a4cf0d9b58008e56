package config

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"time"
)

// KazooSyncCategory is the system_config category of the Kazoo CouchDB projection: where
// Kazoo's CouchDB is and how knm keeps its number documents in step.
const KazooSyncCategory = "kazoo_sync"

// KazooSyncConfig is every kazoo_sync setting. Its String, GoString and LogValue never show
// the password, whether it is written in couch_password or inside couch_url.
type KazooSyncConfig struct {
	Enabled        bool          // enabled: the projection runs
	CouchURL       string        // couch_url, e.g. http://user:pass@10.0.0.5:5984; may hold credentials
	Username       string        // couch_username: used when couch_url has no user
	Password       string        // couch_password: used when couch_url has no password; secret
	BatchSize      int           // batch_size: changes read per round, 1..10000
	PollInterval   time.Duration // poll_interval_ms: wait between rounds when caught up
	RequestTimeout time.Duration // request_timeout_ms: per CouchDB request
	MaxBackoff     time.Duration // max_backoff_ms: longest wait between retries while CouchDB fails
}

// KazooSync reads kazoo_sync, writing back missing defaults, and validates it. All problems
// are reported together in one knm.ErrInvalid error that never quotes the URL (it may hold
// a password).
func (c *Config) KazooSync(ctx context.Context) (KazooSyncConfig, error) {
	const cat = KazooSyncCategory
	var k KazooSyncConfig
	p := &problems{category: cat}
	var err error
	k.Enabled, err = c.GetBool(ctx, cat, "enabled", false)
	p.add(err)
	k.CouchURL, err = c.GetString(ctx, cat, "couch_url", "")
	p.add(err)
	if k.CouchURL != "" {
		u, perr := url.Parse(k.CouchURL)
		p.check(perr == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "", "couch_url",
			"must be an absolute http or https URL")
	} else {
		p.check(err != nil || !k.Enabled, "couch_url", "is required when enabled is true")
	}
	k.Username, err = c.GetString(ctx, cat, "couch_username", "")
	p.add(err)
	k.Password, err = c.GetString(ctx, cat, "couch_password", "")
	p.add(err)
	k.BatchSize, err = c.GetInt(ctx, cat, "batch_size", 100)
	p.add(err)
	p.check(err != nil || k.BatchSize >= 1 && k.BatchSize <= 10000, "batch_size",
		fmt.Sprintf("must be between 1 and 10000, got %d", k.BatchSize))
	k.PollInterval = c.millis(ctx, p, "poll_interval_ms", 1000, 10)
	k.RequestTimeout = c.millis(ctx, p, "request_timeout_ms", 10000, 1)
	k.MaxBackoff = c.millis(ctx, p, "max_backoff_ms", 30000, 1)
	return k, p.err()
}

// millis reads a kazoo_sync duration written in milliseconds, at least min.
func (c *Config) millis(ctx context.Context, p *problems, key string, def, min int) time.Duration {
	ms, err := c.GetInt(ctx, KazooSyncCategory, key, def)
	p.add(err)
	p.check(err != nil || ms >= min, key, fmt.Sprintf("must be at least %d, got %d", min, ms))
	return time.Duration(ms) * time.Millisecond
}

// Endpoint returns the CouchDB URL without its user information, and the credentials to
// send: those written in couch_url, else couch_username and couch_password.
func (k KazooSyncConfig) Endpoint() (base, username, password string) {
	username, password = k.Username, k.Password
	u, err := url.Parse(k.CouchURL)
	if err != nil {
		return "", username, password
	}
	if u.User != nil {
		username = u.User.Username()
		if pw, ok := u.User.Password(); ok {
			password = pw
		}
		u.User = nil
	}
	return u.String(), username, password
}

// String describes the settings with the password masked.
func (k KazooSyncConfig) String() string {
	return fmt.Sprintf("kazoo_sync{enabled=%t couch_url=%q couch_username=%q couch_password=%q batch_size=%d "+
		"poll_interval=%s request_timeout=%s max_backoff=%s}", k.Enabled, RedactURL(k.CouchURL), k.Username,
		MaskSecret(k.Password), k.BatchSize, k.PollInterval, k.RequestTimeout, k.MaxBackoff)
}

// GoString keeps %#v from printing the password.
func (k KazooSyncConfig) GoString() string { return k.String() }

// LogValue implements slog.LogValuer with the password masked.
func (k KazooSyncConfig) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Bool("enabled", k.Enabled),
		slog.String("couch_url", RedactURL(k.CouchURL)),
		slog.String("couch_username", k.Username),
		slog.String("couch_password", MaskSecret(k.Password)),
		slog.Int("batch_size", k.BatchSize),
		slog.Duration("poll_interval", k.PollInterval),
		slog.Duration("request_timeout", k.RequestTimeout),
		slog.Duration("max_backoff", k.MaxBackoff),
	)
}

func init() {
	RegisterValidator(KazooSyncCategory, func(ctx context.Context, c *Config) error {
		_, err := c.KazooSync(ctx)
		return err
	})
}
