package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/spf13/cobra"

	"github.com/knmproject/knm/httpapi"
)

// startupRecoverAge is how long an unfinished order without an owner (journalled by a
// process holding no lease) must have been idle before start-up recovery on PostgreSQL
// settles it: another instance may still be running it. On SQLite there is one instance.
const startupRecoverAge = 2 * time.Minute

// unownedIdle is the same for the background loop. Orders with an owner are settled as
// soon as the owner's lease has ended, whatever their age.
const unownedIdle = 10 * time.Minute

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
	a.drainFlag(cmd)
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

// serve runs the API until ctx ends, then drains: it stops accepting connections, lets
// running requests and orders finish within the drain timeout, and releases its lease.
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
	vox, voxErr := a.vox.Carrier(ctx)
	if voxErr != nil {
		logger.Warn("knm_voxbone is not available", "reason", voxErr.Error())
	}
	if err := a.startLease(ctx, logger); err != nil {
		return err
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
	go a.recoverLoop(ctx, logger, a.recoverEvery())
	defer a.startEvents(ctx, logger)()
	defer runKazooSync(ctx, kz)()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	return a.drain(ctx, logger, hs, errc)
}

// recoverOnce settles what a stopped process left unfinished, as at start-up after a crash:
// the manager's journal, then every carrier module that can (knm.Recoverer). Orders of an
// instance whose lease has ended are settled at once; see startupIdle for those without an
// owner. Failures are logged, not fatal: the API is still useful, and the next pass retries.
func (a *app) recoverOnce(ctx context.Context, logger *slog.Logger) {
	a.recoverPass(ctx, logger, a.startupIdle(), true)
}

// startupIdle is how idle an order without an owner must be for start-up recovery: none on
// SQLite, one machine's one instance; startupRecoverAge on PostgreSQL, which instances share.
func (a *app) startupIdle() time.Duration {
	if isPostgres(a.db) {
		return startupRecoverAge
	}
	return 0
}

// recoverLoop recovers again every interval until ctx ends: orders whose owner's lease has
// ended, and those without an owner idle for unownedIdle.
func (a *app) recoverLoop(ctx context.Context, logger *slog.Logger, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			a.recoverPass(ctx, logger, unownedIdle, false)
		case <-ctx.Done():
			return
		}
	}
}

// recoverPass runs one recovery pass (minIdle: see knm.Recoverer); report logs what each
// part did, and failures are logged always.
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
