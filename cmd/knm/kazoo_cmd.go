package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/config"
	"github.com/knmproject/knm/kazoo"
)

// kazooCommand groups the commands that work on Kazoo's CouchDB.
func (a *app) kazooCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "kazoo", Short: "Kazoo's CouchDB: check or rebuild the number documents, import accounts"}
	accounts := &cobra.Command{Use: "accounts", Short: "Kazoo's accounts"}
	accounts.AddCommand(a.kazooAccountsImportCommand())
	cmd.AddCommand(a.kazooSyncCommand(), needsSubcommand(accounts))
	return cmd
}

// kazooCouch connects to the CouchDB named by --couch, or by kazoo_sync's couch_url (with
// its credentials and request timeout).
func (a *app) kazooCouch(ctx context.Context, flagURL string) (*kazoo.Couch, error) {
	cfg, err := a.config(ctx)
	if err != nil {
		return nil, err
	}
	k, err := cfg.KazooSync(ctx)
	if err != nil && flagURL == "" {
		return nil, err
	}
	if flagURL != "" {
		return kazoo.Dial(flagURL, "", "", k.RequestTimeout)
	}
	if k.CouchURL == "" {
		return nil, usageError("no CouchDB: pass --couch URL or set %s couch_url", config.KazooSyncCategory)
	}
	base, user, pass := k.Endpoint()
	return kazoo.Dial(base, user, pass, k.RequestTimeout)
}

// storeAndCouch opens knm's store and Kazoo's CouchDB.
func (a *app) storeAndCouch(ctx context.Context, flagURL string) (knm.Store, *kazoo.Couch, error) {
	s, err := a.openStore(ctx)
	if err != nil {
		return nil, nil, err
	}
	c, err := a.kazooCouch(ctx, flagURL)
	return s, c, err
}

func (a *app) kazooSyncCommand() *cobra.Command {
	var full, dryRun, prune bool
	var couch string
	cmd := &cobra.Command{
		Use:   "sync [--full [--dry-run] [--prune]]",
		Short: "Bring Kazoo's CouchDB up to date with knm: the events not yet projected, or every document",
		Long: "Without --full, projects the number events the kazoo_sync projection has not applied yet (as knm\n" +
			"serve does when kazoo_sync enabled is true) and exits once caught up; while a knm serve holds the\n" +
			"projection, it waits for that one to get there. With --full, compares each knm number's phone_number\n" +
			"document in its numbers/… database, its copy in the owning account's database and copies left in\n" +
			"other accounts' databases, and rewrites what differs. --dry-run only reports (and exits non-zero\n" +
			"when something differs). Documents of numbers knm does not have are reported and kept unless --prune.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !full && (dryRun || prune) {
				return usageError("--dry-run and --prune go with --full")
			}
			ctx := cmd.Context()
			s, c, err := a.storeAndCouch(ctx, couch)
			if err != nil {
				return err
			}
			defer c.Close()
			if !full {
				return a.kazooCatchUp(ctx, s, c)
			}
			rep, err := kazoo.FullSync(ctx, s, c, kazoo.SyncOptions{DryRun: dryRun, Prune: prune})
			if err != nil {
				return err
			}
			if err := a.printSyncReport(rep); err != nil {
				return err
			}
			if dryRun && len(rep.Differences) > 0 {
				return fmt.Errorf("%d difference(s) found (dry run: nothing written)", len(rep.Differences))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&full, "full", false, "check every document")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "with --full: report differences without writing")
	cmd.Flags().BoolVar(&prune, "prune", false, "with --full: also delete documents of numbers knm does not have")
	cmd.Flags().StringVar(&couch, "couch", "", "CouchDB URL (default: kazoo_sync couch_url)")
	return cmd
}

// kazooCatchUp runs the kazoo_sync projection until it has applied every event committed
// before it started, then gives its lease up.
func (a *app) kazooCatchUp(ctx context.Context, s knm.Store, c *kazoo.Couch) error {
	k, err := a.kazooSettings(ctx)
	if err != nil {
		k = config.KazooSyncConfig{} // --couch given: the projector's defaults
	}
	p, err := kazoo.NewProjector(kazoo.Options{Store: s, Couch: c, BatchSize: k.BatchSize,
		PollInterval: k.PollInterval, MaxBackoff: k.MaxBackoff, Owner: a.instanceName(), Logger: a.logger})
	if err != nil {
		return err
	}
	told := false
	n, err := p.CatchUp(ctx, func(l kazoo.Lag) {
		if !told {
			told = true
			fmt.Fprintf(a.stderr, "kazoo_sync is being projected by %s; waiting for it to catch up\n", l.Owner)
		}
	})
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if rerr := p.Release(rctx); err == nil {
		err = rerr
	}
	if err != nil {
		return fmt.Errorf("after %d event(s) projected: %w", n, err)
	}
	l, err := p.Lag(ctx)
	if err != nil {
		return err
	}
	if a.jsonOut {
		return a.printJSON(map[string]any{"projected": n, "cursor": l.Cursor, "head": l.Head})
	}
	fmt.Fprintf(a.stdout, "projected %d event(s); kazoo_sync is at event %d of %d\n", n, l.Cursor, l.Head)
	return nil
}

// printSyncReport prints one line per difference and a summary.
func (a *app) printSyncReport(rep *kazoo.SyncReport) error {
	if a.jsonOut {
		return a.printJSON(rep)
	}
	fixed := 0
	for _, d := range rep.Differences {
		line := fmt.Sprintf("%s\t%s\t%s", d.DB, d.ID, d.Kind)
		if len(d.Fields) > 0 {
			line += " (" + strings.Join(d.Fields, ", ") + ")"
		}
		if d.Fixed {
			line += "\tfixed"
			fixed++
		}
		fmt.Fprintln(a.stdout, line)
	}
	fmt.Fprintf(a.stdout, "checked %d number(s), %d document(s): %d difference(s), %d fixed\n",
		rep.Numbers, rep.Documents, len(rep.Differences), fixed)
	return nil
}

func (a *app) kazooAccountsImportCommand() *cobra.Command {
	var couch string
	var follow bool
	cmd := &cobra.Command{
		Use:   "import [--couch URL] [--follow]",
		Short: "Create or update knm accounts from Kazoo's accounts database, keeping Kazoo's ids",
		Long: "Reads Kazoo's accounts database: names, tree, reseller and superduper flags and enabled state.\n" +
			"An account deleted in Kazoo is disabled in knm, never deleted. Running it again changes nothing.\n" +
			"--follow then keeps following the database's _changes feed until interrupted.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			s, c, err := a.storeAndCouch(ctx, couch)
			if err != nil {
				return err
			}
			defer c.Close()
			im := &kazoo.AccountImporter{Store: s, Couch: c, Logger: a.logger}
			rep, err := im.Import(ctx)
			if err != nil {
				return err
			}
			if err := a.printAccountReport(rep); err != nil || !follow {
				return err
			}
			k, _ := a.kazooSettings(ctx) // zero values take Follow's defaults
			// Each long poll ends before the HTTP request times out.
			return im.Follow(ctx, rep.LastSeq, k.RequestTimeout/2, k.MaxBackoff, func(r *kazoo.AccountReport) {
				_ = a.printAccountReport(r)
			})
		},
	}
	cmd.Flags().StringVar(&couch, "couch", "", "CouchDB URL, credentials included (default: kazoo_sync couch_url)")
	cmd.Flags().BoolVar(&follow, "follow", false, "keep following Kazoo's changes until interrupted")
	return cmd
}

// kazooSettings returns kazoo_sync, or its defaults when it cannot be read.
func (a *app) kazooSettings(ctx context.Context) (config.KazooSyncConfig, error) {
	cfg, err := a.config(ctx)
	if err != nil {
		return config.KazooSyncConfig{}, err
	}
	return cfg.KazooSync(ctx)
}

// printAccountReport prints what an account import did.
func (a *app) printAccountReport(rep *kazoo.AccountReport) error {
	if a.jsonOut {
		return a.printJSON(rep)
	}
	for _, s := range rep.Skipped {
		fmt.Fprintln(a.stdout, "skipped "+s)
	}
	fmt.Fprintf(a.stdout, "accounts: %d created, %d updated, %d unchanged, %d disabled, %d skipped\n",
		rep.Created, rep.Updated, rep.Unchanged, rep.Disabled, len(rep.Skipped))
	return nil
}
