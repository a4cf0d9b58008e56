package knmvoxbone

import (
	"context"
	"errors"
	"time"

	"github.com/knmproject/knm"
)

// FindNumbers offers up to opts.Quantity knm_voxbone numbers starting with
// opts.Prefix: the numbers held for the account, then the pool of numbers bought earlier,
// then in search_mode order (unless opts.NoPurchase) the shortfall is bought, within
// max_order_quantity, max_order_cost (both per search) and the balance, and stored
// available. Concurrent searches of the same DID groups share one order (see buyer); a retry
// of a search never buys again. When not everything wanted can be had, the rows that could
// are returned with an error saying why.
func (c *Carrier) FindNumbers(ctx context.Context, opts knm.SearchOptions) ([]knm.SearchRow, error) {
	start := time.Now()
	want := max(opts.Quantity, 1)
	rows, err := c.offered(ctx, opts, want)
	if err != nil {
		return nil, err
	}
	opts.Offer(rows)
	fromPool := len(rows)
	defer func() {
		if c.metrics.Search != nil {
			c.metrics.Search(fromPool, len(rows)-fromPool, time.Since(start))
		}
	}()
	if len(rows) >= want || c.settings.SearchMode == SearchModePool || opts.NoPurchase {
		return rows, nil
	}

	a3, err := CountryA3(opts.Country)
	if err != nil {
		return rows, err
	}
	short := want - len(rows)
	var capErr error
	if short > c.settings.MaxOrderQuantity {
		capErr = knm.Errorf(knm.ErrServiceRestriction,
			"max_order_quantity %d caps this search's purchase: wanted %d more", c.settings.MaxOrderQuantity, short)
		short = c.settings.MaxOrderQuantity
	}
	q := groupQuery{CountryA3: a3, DIDType: DIDType(opts.Prefix.Dialcode, opts.Prefix.National),
		AreaCode: opts.Prefix.National}
	bought, err := c.buyShared(ctx, opts, q, short)
	rows = firstUnique(append(bought, rows...), want) // a retry's own numbers first
	return rows, errors.Join(err, capErr)
}

// offered returns up to want numbers knm holds already: those held for the account, then
// the pool's.
func (c *Carrier) offered(ctx context.Context, opts knm.SearchOptions, want int) ([]knm.SearchRow, error) {
	held, err := c.held(ctx, opts.AccountID, opts.Prefix.E164(), want)
	if err != nil {
		return nil, err
	}
	rows := make([]knm.SearchRow, 0, want)
	for _, n := range held {
		r := row(n)
		r.State = n.State
		rows = append(rows, r)
	}
	if len(rows) >= want {
		return rows, nil
	}
	by := c.buying()
	pool, err := c.pool(ctx, opts.Prefix.E164(), want-len(rows)+by.deliveredCount())
	if err != nil {
		return nil, err
	}
	for _, n := range pool {
		if len(rows) < want && !by.deliveredToOther(n.Number, opts.AccountID) {
			rows = append(rows, row(n))
		}
	}
	return rows, nil
}

// pool returns up to want numbers already bought: knm_voxbone, available, unassigned, with
// the prefix. A released number is cancelled and deleted, so what is here is still ours.
func (c *Carrier) pool(ctx context.Context, prefix string, want int) ([]*knm.Number, error) {
	return c.store.FindNumbers(ctx, knm.NumberFilter{AssignedTo: new(string), States: []knm.State{knm.StateAvailable},
		Module: ModuleName, Prefix: prefix, Limit: want})
}

// firstUnique returns the first n rows of distinct numbers.
func firstUnique(rows []knm.SearchRow, n int) []knm.SearchRow {
	seen := map[string]bool{}
	out := make([]knm.SearchRow, 0, n)
	for _, r := range rows {
		if len(out) < n && !seen[r.Number] {
			seen[r.Number] = true
			out = append(out, r)
		}
	}
	return out
}
