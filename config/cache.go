package config

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/knmproject/knm/e164"
	"github.com/knmproject/knm/manager"
)

// CacheTTL is how long NumberManagerCache reuses number_manager settings before it reads
// system_config again: a change made through any instance applies within this time.
const CacheTTL = time.Second

// NumberManagerCache serves the number manager's policy and the normaliser built from the
// same settings. Reading the category costs about a dozen key lookups and building the
// normaliser compiles its regexes, too much for every API request; once a second is plenty.
type NumberManagerCache struct {
	cfg *Config
	now func() time.Time

	mu      sync.Mutex
	policy  manager.Policy
	expires time.Time
	normKey string // the raw converter, reconcile and classifier settings norm was built from

	norm atomic.Pointer[e164.Normalizer]
}

// NewNumberManagerCache returns a cache over c's number_manager settings.
func NewNumberManagerCache(c *Config) *NumberManagerCache {
	nc := &NumberManagerCache{cfg: c, now: time.Now}
	nc.norm.Store(e164.Default())
	return nc
}

// Policy returns the current policy, reading system_config at most once per CacheTTL. A
// failed read is returned, not cached, so a fixed config applies at the next call.
func (c *NumberManagerCache) Policy(ctx context.Context) (manager.Policy, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.now().Before(c.expires) {
		return c.policy, nil
	}
	nm, err := c.cfg.NumberManager(ctx)
	if err != nil {
		return manager.Policy{}, err
	}
	key := string(nm.E164Converters) + "\x00" + string(nm.ReconcileRegex) + "\x00" + string(nm.Classifiers)
	if key != c.normKey {
		n, err := nm.Normalizer()
		if err != nil {
			return manager.Policy{}, err
		}
		c.norm.Store(n)
		c.normKey = key
	}
	c.policy = nm.Policy
	c.expires = c.now().Add(CacheTTL)
	return c.policy, nil
}

// Normalize turns input into E.164 with the configured converters, refreshing them first
// when they are older than CacheTTL (reading a number may be the first call after a start
// or a change). A failed refresh keeps the converters in hand; the operation that needs the
// settings reports the failure.
func (c *NumberManagerCache) Normalize(s string) string {
	c.Policy(context.Background())
	return c.norm.Load().Normalize(s)
}
