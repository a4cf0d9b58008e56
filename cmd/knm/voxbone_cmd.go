package main

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/carriers/knmvoxbone"
	"github.com/knmproject/knm/voxbone"
	"github.com/knmproject/knm/voxbone/emulator"
)

// voxboneCommand is the `knm voxbone` group: the Voxbone account through
// number_manager.voxbone, and the emulator.
func (a *app) voxboneCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "voxbone",
		Short: "Talk to Voxbone (or the built-in emulator) through number_manager.voxbone"}
	cmd.AddCommand(a.voxboneBalanceCommand(), a.voxboneGroupsCommand(), a.voxboneOrderCommand(),
		a.voxboneOrdersCommand(), a.voxboneCartsCommand(), a.voxboneReconcileCommand(), a.voxboneRecoverCommand(),
		a.voxboneRouteCommand(), a.emulateCommand())
	return cmd
}

// voxboneClient returns the Voxbone client of the knm_voxbone carrier.
func (a *app) voxboneClient(ctx context.Context) (*voxbone.Client, error) {
	c, err := a.voxboneCarrier(ctx)
	if err != nil {
		return nil, err
	}
	return c.Client(), nil
}

// redactedURL hides the password of a URL given on the command line.
func redactedURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		if strings.Contains(s, "@") {
			return "(a URL that cannot be read; not shown as it may hold a password)"
		}
		return strconv.Quote(s)
	}
	return u.Redacted()
}

func (a *app) voxboneBalanceCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "balance",
		Short: "Show the Voxbone account balance",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := a.voxboneClient(cmd.Context())
			if err != nil {
				return err
			}
			b, err := cl.AccountBalance(cmd.Context())
			if err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(b)
			}
			fmt.Fprintf(a.stdout, "balance %.2f %s (threshold %.2f, active %v)\n",
				b.Balance, b.Currency, b.Threshold, b.Active)
			return nil
		},
	}
}

func (a *app) voxboneGroupsCommand() *cobra.Command {
	var country, areaCode, didType string
	cmd := &cobra.Command{
		Use:   "groups --country USA [--area-code 205] [--type GEOGRAPHIC]",
		Short: "List DID groups with stock and prices (all pages)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if strings.TrimSpace(country) == "" {
				return usageError("--country is required (e.g. USA or US)")
			}
			a3, err := knmvoxbone.CountryA3(country)
			if err != nil {
				return err
			}
			if !knmvoxbone.ValidAreaCode(areaCode) {
				return usageError("--area-code %q must be digits, optionally ending in * (e.g. 205 or 80*)", areaCode)
			}
			didType = strings.ToUpper(didType)
			if didType != "" && !slices.Contains(knmvoxbone.DIDTypes, didType) {
				return usageError("--type %q is not a Voxbone DID type (%s)", didType,
					strings.Join(knmvoxbone.DIDTypes, ", "))
			}
			cl, err := a.voxboneClient(cmd.Context())
			if err != nil {
				return err
			}
			gs, err := cl.ListAllDIDGroups(cmd.Context(), voxbone.ListDIDGroupsOptions{
				CountryCodeA3: a3, AreaCode: areaCode, DIDType: didType})
			if err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(gs)
			}
			a.printGroups(gs)
			return nil
		},
	}
	cmd.Flags().StringVar(&country, "country", "", "country, ISO alpha-3 (USA) or alpha-2 (US) (required)")
	cmd.Flags().StringVar(&areaCode, "area-code", "", "area code, e.g. 205")
	cmd.Flags().StringVar(&didType, "type", "", "GEOGRAPHIC, TOLL_FREE, NATIONAL, …")
	return cmd
}

// printGroups renders DID groups as a table.
func (a *app) printGroups(gs []voxbone.DIDGroup) {
	w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "GROUP\tTYPE\tAREA\tCITY\tSTOCK\tSETUP\tMONTHLY")
	for _, g := range gs {
		city := "-"
		if g.CityName != nil {
			city = *g.CityName
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%d\t%.2f\t%.2f\n", g.DIDGroupID, g.DIDType, g.AreaCode, city, g.Stock,
			float64(g.Setup100)/100, float64(g.Monthly100)/100)
	}
	w.Flush()
	fmt.Fprintf(a.stdout, "%d group(s)\n", len(gs))
}

func (a *app) voxboneOrderCommand() *cobra.Command {
	var req knmvoxbone.OrderRequest
	var sf spendFlags
	cmd := &cobra.Command{
		Use:   "order --group ID --quantity N [--country USA] [--idempotency-key K] [--account ID] [--yes|--dry-run]",
		Short: "Buy N DIDs from one DID group (journalled; with a key, a repeat buys nothing)",
		Long: `Buy N DIDs from one DID group, all or nothing. The order shows what it buys and what that
costs and asks on a terminal; --yes buys without asking (needed when stdin is not a
terminal), --dry-run only shows the quote. With --idempotency-key naming an order already
placed, it shows that order instead (no quote, no question, nothing bought); a key used for
another group, quantity or account is refused.`,
		Example: `  knm voxbone groups --country USA --area-code 205     # find a group and its price
  knm voxbone order --group 1404 --quantity 2 --dry-run
  knm voxbone order --group 1404 --quantity 2 --idempotency-key k1 --yes`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if req.GroupID <= 0 || req.Quantity <= 0 {
				return usageError("order needs --group ID and --quantity N (both positive)")
			}
			c, err := a.voxboneCarrier(cmd.Context())
			if err != nil {
				return err
			}
			// A key that already names an order buys nothing: that order is the answer, with
			// no quote to confirm.
			if prev, err := c.OrderByKey(cmd.Context(), req); err != nil || prev != nil {
				if err != nil {
					return err
				}
				return a.orderOutcome(prev, nil)
			}
			quote, err := orderQuote(cmd.Context(), c, req)
			if err != nil {
				return err
			}
			if sf.dryRun {
				fmt.Fprintln(a.stdout, quote)
				fmt.Fprintln(a.stdout, "dry run: nothing bought")
				return nil
			}
			if err := a.confirmSpend(sf, quote); err != nil {
				return err
			}
			res, err := c.Order(cmd.Context(), req)
			if res == nil {
				return err
			}
			return a.orderOutcome(res, err)
		},
	}
	f := cmd.Flags()
	f.IntVar(&req.GroupID, "group", 0, "DID group id (see knm voxbone groups)")
	f.IntVar(&req.Quantity, "quantity", 0, "how many DIDs")
	f.StringVar(&req.Country, "country", "USA", "the group's country (alpha-3 or alpha-2)")
	f.StringVar(&req.IdempotencyKey, "idempotency-key", "", "repeat-safe key: the same key returns the first order")
	f.StringVar(&req.AssignTo, "account", "", "put the bought numbers in service for this account")
	sf.register(cmd)
	return cmd
}

// orderOutcome prints an order's result and returns the command's error: err, or one when
// the order is not complete, since money may have been spent and a script must not take
// it for a finished order.
func (a *app) orderOutcome(res *knmvoxbone.OrderResult, err error) error {
	if perr := a.printOrder(res); perr != nil {
		return perr
	}
	if err == nil && res.State != knmvoxbone.StateImported {
		msg := res.Error
		if msg == "" {
			msg = "not finished"
		}
		err = knm.Errorf(knm.ErrUnavailable, "order %s is %s: %s "+
			"(knm voxbone recover settles it; do not order again)", res.OrderID, res.State, msg)
	}
	return err
}

// orderQuote prices an order from its DID group's listing, buying nothing.
func orderQuote(ctx context.Context, c *knmvoxbone.Carrier, r knmvoxbone.OrderRequest) (string, error) {
	a3, err := knmvoxbone.CountryA3(cmp.Or(r.Country, "USA"))
	if err != nil {
		return "", err
	}
	gs, err := c.Client().ListAllDIDGroups(ctx, voxbone.ListDIDGroupsOptions{CountryCodeA3: a3,
		DIDGroupIDs: []int{r.GroupID}})
	if err != nil {
		return "", fmt.Errorf("price DID group %d: %w", r.GroupID, err)
	}
	i := slices.IndexFunc(gs, func(g voxbone.DIDGroup) bool { return g.DIDGroupID == r.GroupID })
	if i < 0 {
		return "", knm.Errorf(knm.ErrNotFound, "DID group %d of %s not found (knm voxbone groups --country %s "+
			"lists them); nothing bought", r.GroupID, a3, a3)
	}
	bal, err := c.Client().AccountBalance(ctx)
	if err != nil {
		return "", fmt.Errorf("balance: %w", err)
	}
	g := gs[i]
	unit := float64(g.Setup100+g.Monthly100) / 100
	return fmt.Sprintf("voxbone order: would buy %d DID(s) of group %d (%s %s, %d in stock) at %.2f %s each: "+
		"%.2f %s (balance %.2f %s)", r.Quantity, g.DIDGroupID, g.AreaCode, deref(g.CityName), g.Stock, unit,
		bal.Currency, unit*float64(r.Quantity), bal.Currency, bal.Balance, bal.Currency), nil
}

func deref(s *string) string {
	if s == nil {
		return "-"
	}
	return *s
}

// printOrder renders an order and its numbers.
func (a *app) printOrder(res *knmvoxbone.OrderResult) error {
	if a.jsonOut {
		return a.printJSON(res)
	}
	replay := ""
	if res.Replayed {
		replay = " (repeat of an earlier request: nothing bought)"
	}
	fmt.Fprintf(a.stdout, "order %s: %s, %d of %d DID(s), %.2f planned%s\n", res.OrderID, res.State,
		len(res.Numbers), res.Quantity, float64(res.CostCents)/100, replay)
	for _, n := range res.Numbers {
		fmt.Fprintln(a.stdout, n)
	}
	switch res.Routing {
	case "":
	case knmvoxbone.RoutingDone:
		fmt.Fprintln(a.stdout, "routing done")
	default:
		fmt.Fprintf(a.stdout, "routing pending for %d DID(s) (recover retries): %s\n", res.RoutingPending,
			res.RoutingError)
	}
	return nil
}

func (a *app) voxboneCartsCommand() *cobra.Command {
	var purge, dryRun bool
	cmd := &cobra.Command{
		Use:   "carts [--purge [--dry-run]]",
		Short: "List the account's open carts (knm's are marked); --purge deletes knm's abandoned ones",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.voxboneCarrier(cmd.Context())
			if err != nil {
				return err
			}
			if purge {
				ids, err := c.PurgeCarts(cmd.Context(), dryRun)
				if err != nil {
					return err
				}
				return a.printPurge(ids, dryRun)
			}
			list, err := c.Client().ListAllCarts(cmd.Context(), voxbone.ListCartsOptions{})
			if err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(append([]voxbone.Cart{}, list...))
			}
			w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "CART\tADDED\tREFERENCE\tKNM\tLINES")
			for _, ct := range list {
				fmt.Fprintf(w, "%d\t%s\t%s\t%v\t%d\n", ct.CartIdentifier, ct.DateAdded, dash(ct.CustomerReference),
					strings.HasPrefix(ct.CustomerReference, knmvoxbone.OrderPrefix), len(ct.OrderProducts))
			}
			w.Flush()
			fmt.Fprintf(a.stdout, "%d cart(s)\n", len(list))
			return nil
		},
	}
	cmd.Flags().BoolVar(&purge, "purge", false,
		"delete knm's carts older than cart_ttl_minutes that were never checked out")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "with --purge: only say which carts would go")
	return cmd
}

// printPurge renders the carts a purge deleted, or would delete.
func (a *app) printPurge(ids []int, dryRun bool) error {
	if a.jsonOut {
		return a.printJSON(map[string]any{"purged": append([]int{}, ids...), "dry_run": dryRun})
	}
	verb := "deleted"
	if dryRun {
		verb = "would delete"
	}
	fmt.Fprintf(a.stdout, "%s %d abandoned knm cart(s) %v\n", verb, len(ids), ids)
	return nil
}

func (a *app) voxboneRecoverCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "recover",
		Short: "Finish or clean up every unfinished Voxbone order (also run by knm serve)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.voxboneCarrier(cmd.Context())
			if err != nil {
				return err
			}
			rep, err := c.Recover(cmd.Context())
			if err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(rep)
			}
			fmt.Fprintf(a.stdout, "%d unfinished order(s): %d imported, %d partial, %d failed (nothing bought), "+
				"%d left for later\n", rep.Examined, rep.Imported, rep.Partial, rep.Failed, len(rep.Unsettled))
			if rep.Running > 0 {
				fmt.Fprintf(a.stdout, "%d order(s) left to the running instance that owns them (settled here once "+
					"its lease ends)\n", rep.Running)
			}
			if rep.LateChecked > 0 {
				fmt.Fprintf(a.stdout, "%d partial order(s) checked for late deliveries: %d DID(s) imported, "+
					"%d order(s) completed\n", rep.LateChecked, rep.LateImported, rep.LateCompleted)
			}
			if rep.Routed+rep.RoutingPending > 0 {
				fmt.Fprintf(a.stdout, "%d routing job(s) settled, %d still pending\n", rep.Routed, rep.RoutingPending)
			}
			for _, u := range rep.Unsettled {
				fmt.Fprintln(a.stdout, "  "+u)
			}
			if len(rep.Unsettled) > 0 {
				return knm.Errorf(knm.ErrUnavailable, "%d order(s) or routing job(s) could not be settled yet; "+
					"run recover again", len(rep.Unsettled))
			}
			return nil
		},
	}
}

// emulateCommand runs the Voxbone emulator on its own, for tests of other clients and for
// trying knm without a Voxbone account.
func (a *app) emulateCommand() *cobra.Command {
	var listen, username, password string
	var quiet bool
	cfg := emulator.Config{}
	c := &cobra.Command{
		Use: "emulate [--listen 127.0.0.1:8089] [--rate-limit 20] [--latency 0ms] [--seed N] " +
			"[--username U --password P]",
		Example: `  knm voxbone emulate --username u --password p
  knm config set number_manager.voxbone base_url '"http://127.0.0.1:8089/ws-voxbone/services/rest"'`,
		Short: "Run the built-in Voxbone API v3 emulator",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfg.RateLimit < 0 || cfg.Latency < 0 {
				return usageError("--rate-limit and --latency must not be negative")
			}
			if (username == "") != (password == "") {
				return usageError("give both --username and --password, or neither")
			}
			cfg.Username, cfg.Password = username, password
			if !quiet {
				// One line per request (never credentials), so an operator can watch what a
				// client under test sends.
				cfg.Logger = slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
			}
			ln, err := listenAddr(listen)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Voxbone emulator listening; base_url http://%s%s\n", ln.Addr(),
				strings.TrimSuffix(emulator.BasePath, "/"))
			return emulator.Serve(cmd.Context(), ln, emulator.New(cfg))
		},
	}
	f := c.Flags()
	f.StringVar(&listen, "listen", "127.0.0.1:8089", "address to listen on")
	f.IntVar(&cfg.RateLimit, "rate-limit", 20, "requests per client IP in any one-second window (0 = unlimited)")
	f.DurationVar(&cfg.Latency, "latency", 0, "latency added to every request, e.g. 50ms")
	f.Int64Var(&cfg.Seed, "seed", 1, "seed for deterministic ids and numbers")
	f.StringVar(&username, "username", "", "HTTP Basic user required of clients")
	f.StringVar(&password, "password", "", "HTTP Basic password required of clients")
	f.Float64Var(&cfg.Balance, "balance", 500, "initial account balance")
	f.BoolVar(&quiet, "quiet", false, "do not log each request on stderr")
	return c
}
