package knmvoxbone

import (
	"context"
	"errors"
	"time"

	"github.com/knmproject/knm"
)

// FindNumbers offers up to opts.Quantity knm_voxbone numbers starting with
// opts.Prefix: the pool of numbers bought earlier first, then in search_mode order
// (unless opts.NoPurchase) the shortfall is bought, within max_order_quantity, max_order_cost
// and the balance, and stored available. When not everything wanted can be had, the rows
// that could are returned with an error saying why.
func (c *Carrier) FindNumbers(ctx context.Context, opts knm.SearchOptions) ([]knm.SearchRow, error) {
	start := time.Now()
	want := max(opts.Quantity, 1)
	pool, err := c.pool(ctx, opts.Prefix.E164(), want)
	if err != nil {
		return nil, err
	}
	rows := make([]knm.SearchRow, 0, want)
	for _, n := range pool {
		rows = append(rows, row(n))
	}
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
	bought, err := c.buy(ctx, buyRequest{Query: q, Want: short, QueryID: opts.QueryID, Description: opts.QueryID,
		RouteFor: opts.AccountID, RouteReseller: opts.ResellerID})
	rows = append(rows, bought...)
	return rows, errors.Join(err, capErr)
}

// pool returns up to want numbers already bought: knm_voxbone, available, unassigned, with
// the prefix. A released number is cancelled and deleted, so what is here is still ours.
func (c *Carrier) pool(ctx context.Context, prefix string, want int) ([]*knm.Number, error) {
	return c.store.FindNumbers(ctx, knm.NumberFilter{AssignedTo: new(string), States: []knm.State{knm.StateAvailable},
		Module: ModuleName, Prefix: prefix, Limit: want})
}
