package main

import (
	"context"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/carriers"
	"github.com/knmproject/knm/carriers/local"
	"github.com/knmproject/knm/config"
	"github.com/knmproject/knm/features"
	"github.com/knmproject/knm/manager"
	"github.com/knmproject/knm/store"
)

func openStore(ctx context.Context, dsn string) (knm.Store, error) { return store.Open(ctx, dsn) }

// config returns system_config semantics over the store, for this node and zone.
func (a *app) config(ctx context.Context) (*config.Config, error) {
	s, err := a.openStore(ctx)
	if err != nil {
		return nil, err
	}
	return config.New(s, a.node, a.zone), nil
}

// manager builds the number manager: the store, the carrier registry (local modules and,
// when registered, knm_voxbone) and number_manager settings read from system_config (at
// most once a second), so a config change applies without a restart.
func (a *app) manager(ctx context.Context) (*manager.Manager, error) {
	if a.mgr != nil {
		return a.mgr, nil
	}
	s, err := a.openStore(ctx)
	if err != nil {
		return nil, err
	}
	cfg := config.New(s, a.node, a.zone)
	reg := &carriers.Registry{}
	local.RegisterAll(reg, s)
	a.registerVoxbone(reg, s, cfg)
	settings := config.NewNumberManagerCache(cfg)
	m, err := manager.New(manager.Options{
		Store:            s,
		Policy:           settings.Policy,
		ResellerCarriers: cfg.ResellerCarrierModules,
		Carriers:         func(names []string) []knm.Carrier { return reg.New(names, a.logger) },
		Normalize:        settings.Normalize,
		FeatureSettings: func(ctx context.Context, reseller, module string) (features.Settings, error) {
			fs, err := config.FeatureSettings(ctx, cfg, reseller, module)
			fs.Carriers = reg.Names()
			return fs, err
		},
		Logger: a.logger,
		Now:    time.Now,
		Owner:  a.leaseID,
	})
	if err != nil {
		return nil, err
	}
	a.mgr, a.registry = m, reg
	return m, nil
}
