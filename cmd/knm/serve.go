package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/knmproject/knm/httpapi"
)

// shutdownGrace bounds how long running requests may take to finish after SIGINT/SIGTERM.
const shutdownGrace = 20 * time.Second

// startupRecoverAge is how long an unfinished order must have been idle before start-up
// recovery settles it: longer than any order's steps take on a live instance (each
// request is bounded by request_timeout_ms, and settling by a few of those).
const startupRecoverAge = 2 * time.Minute

// recoverEvery is how often unfinished carrier operations are settled in the background.
const recoverEvery = 5 * time.Minute

func (a *app) serveCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the REST API (crossbar-compatible phone_numbers and native routes) and metrics",
		Long: `Serve the REST API, the web console, /metrics, /healthz and /readyz until SIGINT or SIGTERM.

KNM_MASTER_API_KEY sets the master account's API key. Without it, the first start
generates one and prints it once; setting it later replaces the stored key, which is how a
lost master key is replaced.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.serve(cmd.Context(), serveOptions{masterKey: a.getenv("KNM_MASTER_API_KEY")})
		},
	}
	cmd.Flags().StringVar(&a.listen, "listen", a.envOr("KNM_LISTEN", "127.0.0.1:8000"),
		"address of the HTTP API: HOST:PORT, :PORT (every interface) or PORT (127.0.0.1) (env KNM_LISTEN)")
	a.corsFlag(cmd)
	return cmd
}

// serveOptions are what demo changes in serve.
type serveOptions struct {
	masterKey string
	// ready, when set, is called with the base URL and the master account once the API
	// accepts connections.
	ready func(url string, master httpapi.MasterAccount)
	// signInLink prints a one-time console sign-in link for the master (knm demo).
	signInLink bool
}

// serve runs the API until ctx ends, then stops accepting connections and lets running
// requests finish within shutdownGrace.
func (a *app) serve(ctx context.Context, o serveOptions) error {
	logger, err := a.newLogger(slog.LevelInfo, "json")
	if err != nil {
		return err
	}
	a.logger = logger
	// Bind first: a busy port fails the start before recovery or anything else runs.
	ln, err := listenAddr(a.listen)
	if err != nil {
		return err
	}
	defer ln.Close() // when a later step fails; after Shutdown it is closed already
	s, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	cfg, err := a.config(ctx)
	if err != nil {
		return err
	}
	master, err := httpapi.EnsureMaster(ctx, s, cfg, o.masterKey)
	if err != nil {
		return err
	}
	if master.GeneratedKey != "" {
		fmt.Fprintf(a.stdout, "master account %s\nmaster API key (shown once, keep it safe): %s\n", master.ID,
			master.GeneratedKey)
	}
	mgr, err := a.manager(ctx)
	if err != nil {
		return err
	}
	vox, voxErr := a.vox.get(ctx)
	if voxErr != nil {
		logger.Warn("knm_voxbone is not available", "reason", voxErr.Error())
	}
	a.recoverOnce(ctx, logger)
	kz := a.kazooSyncService(s, cfg, logger)
	api, err := httpapi.New(httpapi.Options{
		Manager: mgr, Store: s, Config: cfg, Registry: a.registry, Voxbone: voxboneAPI{h: a.vox},
		Node: a.node, Logger: logger, Now: time.Now, Metrics: a.metrics(),
		CORSOrigins: httpapi.SplitOrigins(a.corsOrigins), ReadyDetails: kazooReadyDetails(kz),
	})
	if err != nil {
		return err
	}
	console, err := a.console(mgr, s, cfg, logger)
	if err != nil {
		return err
	}
	url := "http://" + ln.Addr().String()
	fmt.Fprintf(a.stdout, "listening on %s\nweb console: %s/\n", url, url)
	if o.signInLink {
		fmt.Fprintf(a.stdout, "one-time console sign-in link (master): %s%s\n", url, console.OneTimeLink(master.ID))
	}
	logger.Info("knm serving", "url", url, "voxbone", vox != nil)
	if o.ready != nil {
		o.ready(url, master)
	}
	hs := api.HTTPServer()
	hs.Handler = console.Mount(api.Handler())
	hs.BaseContext = func(net.Listener) context.Context { return context.WithoutCancel(ctx) }
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	go a.recoverLoop(ctx, logger, recoverEvery)
	defer a.startEvents(ctx, logger)()
	defer runKazooSync(ctx, kz)()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	err = hs.Shutdown(sctx)
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	logger.Info("knm stopped")
	return err
}

// recoverOnce settles what a stopped process left unfinished, as at start-up after a crash:
// the manager's journal, then every carrier module that can (knm.Recoverer). Failures are
// logged, not fatal: the API is still useful, and the next pass tries again.
func (a *app) recoverOnce(ctx context.Context, logger *slog.Logger) {
	// Not age 0: during a rolling restart, work younger than this may still be in flight
	// on another instance, and settling it would fail its customers' purchases.
	a.recoverPass(ctx, logger, startupRecoverAge, true)
}

// recoverLoop recovers again every interval until ctx ends, touching only work idle for
// two intervals, which other instances are no longer doing.
func (a *app) recoverLoop(ctx context.Context, logger *slog.Logger, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			a.recoverPass(ctx, logger, 2*every, false)
		case <-ctx.Done():
			return
		}
	}
}

// recoverPass runs one recovery pass over work idle for at least minIdle; report logs what
// each part did, and failures are logged always.
func (a *app) recoverPass(ctx context.Context, logger *slog.Logger, minIdle time.Duration, report bool) {
	mgr, err := a.manager(ctx)
	if err != nil {
		return
	}
	if rep, err := mgr.Recover(ctx); err != nil {
		logger.Warn("manager recover failed", "error", err)
	} else if report {
		logger.Info("manager recover", "finished", rep.Finished, "rolled_back", rep.RolledBack, "failed", rep.Failed)
	}
	for module, rec := range a.registry.Recoverers(logger) {
		sum, err := rec.RecoverIdle(ctx, minIdle)
		if err != nil {
			logger.Warn("carrier recover failed", "module", module, "error", err)
		} else if report {
			logger.Info("carrier recover", "module", module, "examined", sum.Examined, "settled", sum.Settled,
				"failed", sum.Failed, "unsettled", sum.Unsettled)
		}
	}
}
