package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/carriers/knmvoxbone"
	"github.com/knmproject/knm/config"
	"github.com/knmproject/knm/manager"
	"github.com/knmproject/knm/web"
)

// console builds the web console served at / beside the API. It follows knm_voxbone as the
// API does: the carrier is looked up per request, so settings apply without a restart.
func (a *app) console(mgr *manager.Manager, s knm.Store, cfg *config.Config, logger *slog.Logger) (*web.Server, error) {
	vox := web.VoxboneFrom(func(ctx context.Context) (*knmvoxbone.Carrier, error) { return a.vox.Carrier(ctx) })
	return web.New(web.Options{Manager: mgr, Store: s, Config: cfg, Registry: a.registry, Voxbone: vox,
		Logger: logger, Now: time.Now})
}
