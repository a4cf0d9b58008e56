package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/carriers/knmvoxbone"
	"github.com/knmproject/knm/e164"
	"github.com/knmproject/knm/manager"
)

func (a *app) searchCommand() *cobra.Command {
	in := manager.SearchInput{Country: "US", Quantity: "1", Offset: "0"}
	var account string
	var sf spendFlags
	c := &cobra.Command{
		Use:   "search --prefix 256 [--quantity 15] [--country US] [--account ID] [--offset N] [--yes|--dry-run]",
		Short: "Search the configured carriers for numbers (Voxbone in order mode buys what the pool lacks)",
		Long: `Search the configured carriers for numbers, by the rules of the REST API's search.

knm_voxbone in search_mode order buys from Voxbone what its pool lacks. Before anything is
bought the search shows what it would buy and what that costs, and asks on a terminal;
--yes buys without asking (needed when stdin is not a terminal), --dry-run only shows the
quote. The search exits non-zero when a carrier failed and fewer numbers than asked came
back, and says why the carrier failed.`,
		Example: `  knm search --prefix 415 --quantity 5 --account 0123456789abcdef0123456789abcdef
  knm search --prefix 256 --quantity 3 --dry-run     # what would be bought, and for how much
  knm search --prefix 256 --quantity 3 --yes         # buy without asking (scripts)`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if in.Prefix == "" {
				return usageError("search needs --prefix (1 to 15 digits, e.g. --prefix 415)")
			}
			req, err := manager.ParseSearch(in)
			if err != nil {
				return err
			}
			if account != "" {
				acct, err := a.account(cmd.Context(), account)
				if err != nil {
					return err
				}
				req.AccountID, req.ResellerID = account, acct.ResellerID
			}
			return a.search(cmd.Context(), req, sf)
		},
	}
	f := c.Flags()
	f.StringVar(&in.Prefix, "prefix", "", "national prefix, e.g. 415, or 80* for US toll-free (required)")
	f.Var(textFlag{&in.Quantity, "int"}, "quantity", "how many numbers (1 to 1000000, capped at maximum_search_quantity)")
	f.StringVar(&in.Country, "country", in.Country, "ISO 3166 alpha-2 country")
	f.StringVar(&account, "account", "", "search on behalf of this account (its reseller's carriers)")
	f.Var(textFlag{&in.Offset, "int"}, "offset", "item offset; > 0 pages the cached results of the same search")
	sf.register(c)
	return c
}

// search runs req so that nothing is bought unasked: a first pass lets no carrier buy,
// knm_voxbone prices the shortfall, and only a confirmed purchase searches again with
// buying allowed.
func (a *app) search(ctx context.Context, req manager.SearchRequest, sf spendFlags) error {
	m, err := a.manager(ctx)
	if err != nil {
		return err
	}
	if req.Offset > 0 { // pages the cache of an earlier search: no carrier is asked
		res, err := m.Search(ctx, req)
		if err != nil {
			return err
		}
		return a.finishSearch(0, res)
	}
	free := req
	free.NoPurchase = true
	res, err := m.Search(ctx, free)
	if err != nil {
		return err
	}
	q, err := a.searchQuote(ctx, req, res)
	if err != nil {
		return err
	}
	if sf.dryRun {
		return a.printDryRun(res, q)
	}
	if q.buys() {
		if err := a.confirmSpend(sf, q.text()); err != nil {
			return err
		}
		if res, err = m.Search(ctx, req); err != nil {
			return err
		}
	} else if q.capped > 0 || (q.plan != nil && q.plan.Short != "") {
		fmt.Fprintln(a.stderr, q.text())
	}
	return a.finishSearch(q.want, res)
}

// searchQuote is what a search would buy, priced, before anything is bought.
type searchQuote struct {
	want   int // numbers the search asks each carrier for
	capped int // the quantity asked, when maximum_search_quantity lowered it to want
	plan   *knmvoxbone.PurchasePlan
}

// searchQuote prices what knm_voxbone would buy for req, when it is among the carriers
// that answered the no-purchase pass free; when no plan can be made, nothing is bought and
// free reports the carrier as failed.
func (a *app) searchQuote(ctx context.Context, req manager.SearchRequest,
	free *manager.SearchResult) (*searchQuote, error) {
	cfg, err := a.config(ctx)
	if err != nil {
		return nil, err
	}
	nm, err := cfg.NumberManager(ctx)
	if err != nil {
		return nil, err
	}
	q := &searchQuote{want: min(req.Quantity, nm.MaxSearchQuantity)}
	if q.want < req.Quantity {
		q.capped = req.Quantity
	}
	if !slices.ContainsFunc(free.Carriers, func(c manager.CarrierReport) bool {
		return c.Module == knmvoxbone.ModuleName && c.Status == manager.CarrierOK
	}) {
		return q, nil
	}
	c, err := a.vox.Carrier(ctx)
	if err != nil {
		return q, nil // the carrier's report already says why
	}
	plan, err := c.PlanPurchase(ctx, knmvoxbone.PurchaseQuery{Country: req.Country,
		Dialcode: e164.Dialcode(req.Country), Prefix: req.Prefix, Want: q.want})
	if err != nil {
		// Without a price nothing is bought, so the carrier failed this search.
		for i := range free.Carriers {
			if c := &free.Carriers[i]; c.Module == knmvoxbone.ModuleName {
				c.Status, c.Error = manager.CarrierError, "cannot price a purchase, nothing bought: "+err.Error()
			}
		}
		return q, nil
	}
	q.plan = plan
	return q, nil
}

// buys reports whether the search would spend money.
func (q *searchQuote) buys() bool { return q.plan != nil && q.plan.ToBuy > 0 }

// text says what the search would buy and what it costs.
func (q *searchQuote) text() string {
	var b strings.Builder
	if q.capped > 0 {
		fmt.Fprintf(&b, "maximum_search_quantity caps the %d number(s) asked at %d\n", q.capped, q.want)
	}
	p := q.plan
	switch {
	case p == nil:
		b.WriteString("nothing would be bought")
		return b.String()
	case p.ToBuy == 0:
		fmt.Fprintf(&b, "knm_voxbone: %d from the pool, nothing to buy", p.FromPool)
	default:
		fmt.Fprintf(&b, "knm_voxbone: %d from the pool, would buy %d DID(s) for %.2f %s (balance %.2f %s)",
			p.FromPool, p.ToBuy, float64(p.CostCents)/100, p.Currency, p.Balance, p.Currency)
	}
	for _, l := range p.Lines {
		fmt.Fprintf(&b, "\n  group %d %s %s: %d x %.2f", l.GroupID, l.AreaCode, l.City, l.Quantity,
			float64(l.UnitCents)/100)
	}
	if p.Short != "" {
		fmt.Fprintf(&b, "\n  fewer than asked: %s", p.Short)
	}
	return b.String()
}

// printDryRun prints what a search finds without buying and the quote for the rest.
func (a *app) printDryRun(res *manager.SearchResult, q *searchQuote) error {
	if a.jsonOut {
		return a.printJSON(map[string]any{"numbers": res.Numbers, "carriers": res.Carriers, "purchase": q.plan,
			"dry_run": true})
	}
	if err := a.printSearch(res); err != nil {
		return err
	}
	fmt.Fprintln(a.stdout, q.text())
	fmt.Fprintln(a.stdout, "dry run: nothing bought")
	return nil
}

// finishSearch prints a search's result and fails it when a carrier failed and fewer
// than want numbers came back (want 0: a page of the cache, never failed). The carriers'
// reports above the error say why, without -v.
func (a *app) finishSearch(want int, res *manager.SearchResult) error {
	if err := a.printSearch(res); err != nil {
		return err
	}
	if len(res.Numbers) >= want {
		return nil
	}
	var failed []string
	for _, c := range res.Carriers {
		if c.Status != manager.CarrierOK {
			failed = append(failed, c.Module+" ("+c.Status+")")
		}
	}
	if len(failed) == 0 {
		return nil
	}
	return knm.Errorf(knm.ErrCarrier, "%d of %d number(s) found; carrier(s) failed: %s (reason above)",
		len(res.Numbers), want, strings.Join(failed, ", "))
}

// printSearch prints the numbers found on stdout and how each carrier did on stderr.
func (a *app) printSearch(res *manager.SearchResult) error {
	if a.jsonOut {
		return a.printJSON(res)
	}
	for _, n := range res.Numbers {
		fmt.Fprintf(a.stdout, "%s\t%s\n", n.Number, n.State)
	}
	fmt.Fprintf(a.stdout, "%d number(s), query %s\n", len(res.Numbers), res.QueryID)
	for _, c := range res.Carriers {
		line := fmt.Sprintf("carrier %s: %s, %d number(s) in %s", c.Module, c.Status, c.Count,
			c.Duration.Round(time.Millisecond))
		if c.Error != "" {
			line += ": " + oneLineText(c.Error)
		}
		fmt.Fprintln(a.stderr, line)
	}
	return nil
}

// textFlag keeps a flag's text as typed, so that manager.ParseSearch reads the CLI's input
// exactly as it reads the REST API's; kind names the value in --help.
type textFlag struct {
	text *string
	kind string
}

func (f textFlag) String() string {
	if f.text == nil {
		return ""
	}
	return *f.text
}

func (f textFlag) Set(s string) error { *f.text = s; return nil }
func (f textFlag) Type() string       { return f.kind }
