package knmvoxbone

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/knmproject/knm"
)

// PurchaseQuery is a search's purchase as FindNumbers would make it.
type PurchaseQuery struct {
	Country  string // ISO 3166 alpha-2 (or alpha-3)
	Dialcode string // "+" and the calling code, e.g. "+1"
	Prefix   string // national prefix as searched, e.g. "256" or "80*"
	Want     int    // numbers wanted from this carrier
}

// PurchasePlan is what a search would take from the pool and buy from Voxbone, priced,
// before anything is spent.
type PurchasePlan struct {
	FromPool  int        `json:"from_pool"` // numbers already bought, available, unassigned
	ToBuy     int        `json:"to_buy"`    // DIDs the plan buys
	Lines     []PlanLine `json:"lines"`     // per DID group
	CostCents int        `json:"cost_cents"`
	// Short says why fewer than wanted would be had (stock, credit, max_order_quantity,
	// search_mode pool); "" when the plan covers the search.
	Short            string  `json:"short,omitempty"`
	Balance          float64 `json:"balance"`
	Currency         string  `json:"currency"`
	MaxOrderQuantity int     `json:"max_order_quantity"`
	MaxOrderCost     float64 `json:"max_order_cost"`
	SearchMode       string  `json:"search_mode"`
}

// PlanPurchase answers what FindNumbers would do for q, buying nothing: the pool numbers
// it would offer first and, in search_mode order, the plan for the shortfall (within
// max_order_quantity, max_order_cost, the balance and the stock, less what orders in
// flight are buying), as the quote a person confirms before the search spends money. It
// only reads (the balance and the DID groups); the real search plans again, so what it
// buys can differ when stock or balance moved meanwhile.
func (c *Carrier) PlanPurchase(ctx context.Context, q PurchaseQuery) (*PurchasePlan, error) {
	want := max(q.Want, 1)
	pool, err := c.pool(ctx, strings.TrimSuffix(q.Dialcode+q.Prefix, "*"), want)
	if err != nil {
		return nil, err
	}
	out := &PurchasePlan{FromPool: len(pool), Lines: []PlanLine{}, MaxOrderQuantity: c.settings.MaxOrderQuantity,
		MaxOrderCost: c.settings.MaxOrderCost, SearchMode: c.settings.SearchMode}
	short := want - len(pool)
	if short <= 0 {
		return out, nil
	}
	if c.settings.SearchMode == SearchModePool {
		out.Short = "search_mode is pool: nothing is bought"
		return out, nil
	}
	a3, err := CountryA3(q.Country)
	if err != nil {
		return nil, err
	}
	var capped string
	if short > c.settings.MaxOrderQuantity {
		capped = "max_order_quantity " + strconv.Itoa(c.settings.MaxOrderQuantity) + " caps the purchase"
		short = c.settings.MaxOrderQuantity
	}
	cat, err := c.fetchCatalogue(
		ctx,
		groupQuery{CountryA3: a3, DIDType: DIDType(q.Dialcode, q.Prefix), AreaCode: q.Prefix},
	)
	if err != nil {
		return nil, err
	}
	p := c.plan(cat, short, 1)
	c.unreserve(p.lines) // a quote reserves nothing
	out.Lines = append(out.Lines, p.lines...)
	out.ToBuy = p.qty
	for _, l := range p.lines {
		out.CostCents += l.Quantity * l.UnitCents
	}
	out.Balance, out.Currency = cat.balance.Balance, cat.balance.Currency
	switch {
	case p.short != nil:
		out.Short = p.short.Error()
	case capped != "":
		out.Short = capped
	}
	return out, nil
}

// SettleOrder settles one unfinished order now, as Recover would (never buying again),
// unless a live instance owns it (a conflict); an order without an owner must have been
// idle for at least minIdle. A final order is returned as it is.
func (c *Carrier) SettleOrder(ctx context.Context, id string, minIdle time.Duration) (*OrderResult, error) {
	e, err := c.store.GetJournal(ctx, id)
	if knm.IsErrorName(err, knm.ErrNotFound) || (err == nil && (e.Carrier != ModuleName || isCancelRow(e))) {
		return nil, knm.Errorf(knm.ErrNotFound, "voxbone order %s not found", id)
	}
	if err != nil {
		return nil, err
	}
	if OrderState(e.State).Final() {
		o, err := decodeOrder(e)
		if err != nil {
			return nil, err
		}
		return o.result(), nil
	}
	if idle := c.now().Sub(e.Updated); e.Owner == "" && idle < minIdle {
		return nil, knm.Errorf(knm.ErrConflict, "voxbone order %s was updated %s ago and may still be running; "+
			"it can be settled once idle for %s", id, idle.Round(time.Second), minIdle)
	}
	live, err := c.liveInstances(ctx)
	if err != nil {
		return nil, err
	}
	owner := e.Owner
	e, ok, err := c.claim(ctx, e, live)
	if err == nil && !ok {
		err = knm.Errorf(knm.ErrConflict, "voxbone order %s is running on instance %s, which holds its lease; "+
			"it is settled there, or here once that lease ends", id, owner)
	}
	if err != nil {
		return nil, err
	}
	if _, err := c.recoverOne(ctx, e); err != nil {
		return nil, err
	}
	return c.GetOrder(ctx, id)
}

// OrdersForQuery returns the orders a search placed (their query id is the search's),
// oldest first. With unfinishedOnly it reads only the orders still running, which stays
// cheap however long the journal grows, for a page that follows a purchase as it happens.
func (c *Carrier) OrdersForQuery(ctx context.Context, queryID string, unfinishedOnly bool) ([]*OrderResult, error) {
	f := knm.JournalFilter{Carrier: ModuleName}
	if unfinishedOnly {
		f.States = unfinishedStates
	}
	es, err := c.store.FindJournals(ctx, f)
	if err != nil {
		return nil, err
	}
	var out []*OrderResult
	for _, e := range es { // deliberately ListOrders' walk, filtered by query and state
		if isCancelRow(e) {
			continue
		}
		o, err := decodeOrder(e)
		if err != nil {
			return nil, err
		}
		if o.QueryID == queryID && queryID != "" && !o.Duplicate {
			out = append(out, o.result())
		}
	}
	return out, nil
}
