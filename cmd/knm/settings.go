package main

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/knmproject/knm/config"
	"github.com/knmproject/knm/e164"
	"github.com/knmproject/knm/manager"
)

// settingsTTL is how long number_manager settings are reused before system_config is read
// again: a change made through any instance applies within this time.
const settingsTTL = time.Second

// settingsCache serves the manager's number_manager settings and the normaliser built from
// them. Reading the category costs about a dozen key lookups and building the normaliser
// compiles its regexes, too much to repeat for every API request; once a second is plenty.
type settingsCache struct {
	cfg *config.Config
	now func() time.Time

	mu      sync.Mutex
	policy  manager.Policy
	expires time.Time
	normKey string // the raw converter, reconcile and classifier settings norm was built from

	norm atomic.Pointer[e164.Normalizer]
}

func newSettingsCache(cfg *config.Config) *settingsCache {
	c := &settingsCache{cfg: cfg, now: time.Now}
	c.norm.Store(e164.Default())
	return c
}

// Policy returns the current settings, reading system_config at most once per settingsTTL.
// A failed read is returned, not cached, so a fixed config applies at the next call.
func (c *settingsCache) Policy(ctx context.Context) (manager.Policy, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.now().Before(c.expires) {
		return c.policy, nil
	}
	nm, err := c.cfg.NumberManager(ctx)
	if err != nil {
		return manager.Policy{}, err
	}
	if key := string(nm.E164Converters) + "\x00" + string(nm.ReconcileRegex) + "\x00" + string(nm.Classifiers); key != c.normKey {
		n, err := nm.Normalizer()
		if err != nil {
			return manager.Policy{}, err
		}
		c.norm.Store(n)
		c.normKey = key
	}
	c.policy = manager.Policy{
		CarrierModules:          nm.CarrierModules,
		SearchTimeout:           nm.NumberSearchTimeout,
		MaxSearchQuantity:       nm.MaximumSearchQuantity,
		AvailableModuleName:     nm.AvailableModuleName,
		PortInModuleName:        nm.PortInModuleName,
		ReleasedState:           string(nm.ReleasedState),
		ShouldPermanentlyDelete: nm.ShouldPermanentlyDelete,
		ShouldAge:               nm.ShouldAge,
		SearchCacheTTL:          nm.SearchCacheTTL,
	}
	c.expires = c.now().Add(settingsTTL)
	return c.policy, nil
}

// Normalize turns input into E.164 with the configured converters, refreshing them first
// when they are older than settingsTTL (a read of a number may be the first call after a
// start or a change). A failed refresh keeps the converters in hand; the operation that
// needs the settings reports the failure.
func (c *settingsCache) Normalize(s string) string {
	c.Policy(context.Background())
	return c.norm.Load().Normalize(s)
}
