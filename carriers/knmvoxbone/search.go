package knmvoxbone

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/e164"
	"github.com/knmproject/knm/voxbone"
)

// Voxbone DID types knm asks for (voxbone-api.md §7.2).
const (
	TypeGeographic = "GEOGRAPHIC"
	TypeTollFree   = "TOLL_FREE"
)

// usTollFree and usTollFreeWildcard are Kazoo's IS_US_TOLLFREE and IS_US_TOLLFREE_WILDCARD:
// exact string tests on the raw prefix (kazoo-knm §7).
var (
	usTollFree = []string{"800", "822", "833", "844", "855", "866", "877",
		"880", "881", "882", "883", "884", "885", "886", "887", "888", "889"}
	usTollFreeWildcard = []string{"80*", "84*", "85*", "86*", "87*", "88*"}
)

// DIDType returns the Voxbone didType Kazoo master asks for: TOLL_FREE for +1 with a US
// toll-free prefix or wildcard, or the UIFN prefix 800 for any country; GEOGRAPHIC otherwise.
func DIDType(dialcode, prefix string) string {
	if dialcode == "+1" && (slices.Contains(usTollFree, prefix) || slices.Contains(usTollFreeWildcard, prefix)) {
		return TypeTollFree
	}
	if prefix == "800" { // IS_UIFN_TOLLFREE
		return TypeTollFree
	}
	return TypeGeographic
}

// CountryA3 returns the ISO 3166 alpha-3 code Voxbone wants for an alpha-2 (or already
// alpha-3) country code, or an invalid error.
func CountryA3(country string) (string, error) {
	c := strings.ToUpper(strings.TrimSpace(country))
	switch len(c) {
	case 2:
		if a3, ok := e164.Alpha3(c); ok {
			return a3, nil
		}
	case 3:
		if _, ok := e164.Alpha2(c); ok {
			return c, nil
		}
	}
	return "", knm.Errorf(knm.ErrInvalid, "unknown country %q", country).WithCause("country")
}

// FindNumbers offers up to opts.Quantity knm_voxbone numbers starting with
// opts.NormalizedPrefix:
//  1. the pool first: numbers already bought, available and unassigned;
//  2. in search_mode "order", unless opts.NoPurchase (anonymous searches), the shortfall is bought (at most max_order_quantity, within
//     max_order_cost and the balance, never beyond a group's stock) and stored available.
//
// When not everything wanted can be had, the rows that could are returned together with
// an error saying why (unavailable: not enough stock; not_enough_credit; service
// restriction: max_order_quantity; carrier_fault).
func (c *Carrier) FindNumbers(ctx context.Context, opts knm.SearchOptions) ([]knm.SearchRow, error) {
	start := time.Now()
	want := max(opts.Quantity, 1)
	pool, err := c.pool(ctx, strings.TrimSuffix(opts.NormalizedPrefix, "*"), want)
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
		capErr = knm.Errorf(knm.ErrServiceRestriction, "max_order_quantity %d caps this search's purchase: wanted %d more",
			c.settings.MaxOrderQuantity, short)
		short = c.settings.MaxOrderQuantity
	}
	q := groupQuery{CountryA3: a3, DIDType: DIDType(opts.Dialcode, opts.Prefix), AreaCode: opts.Prefix}
	bought, err := c.buy(ctx, buyRequest{Query: q, Want: short, QueryID: opts.QueryID, Description: opts.QueryID})
	rows = append(rows, bought...)
	return rows, errors.Join(err, capErr)
}

// pool returns up to want numbers already bought: knm_voxbone, available, unassigned, with
// the prefix. (A released knm_voxbone number is cancelled at Voxbone and deleted from knm,
// see ReturnsNumberOnDisconnect, so whatever is here is still ours at Voxbone.)
func (c *Carrier) pool(ctx context.Context, prefix string, want int) ([]*knm.Number, error) {
	return c.store.FindNumbers(ctx, knm.NumberFilter{AssignedTo: new(string), States: []knm.State{knm.StateAvailable},
		Module: ModuleName, Prefix: prefix, Limit: want})
}

// buyRequest is one purchase: want DIDs matching Query.
type buyRequest struct {
	Query          groupQuery
	Want           int
	QueryID        string
	Description    string // the cart's description
	OrderID        string // preset; else generated
	IdempotencyKey string
	AssignTo       string
	// Order, when set, is the order's journal row, already written (native orders write
	// it before claiming their idempotency key); OrderID, IdempotencyKey and AssignTo are
	// then its own.
	Order *order
	// AllOrNothing refuses a plan that falls short instead of buying part of it.
	AllOrNothing bool
}

// buy plans and executes one journalled order and returns the rows it stored available.
// A plan that falls short buys what it can (unless AllOrNothing) and returns the shortfall
// error with the rows.
func (c *Carrier) buy(ctx context.Context, r buyRequest) ([]knm.SearchRow, error) {
	o, short, err := c.prepare(ctx, r)
	if err != nil || o == nil {
		return nil, errors.Join(short, err)
	}
	out, err := c.execute(ctx, o)
	var rows []knm.SearchRow
	if out != nil {
		rows = out.rows
	}
	return rows, errors.Join(short, err)
}

// prepare writes the order's planned row, then in one round trip fetches the catalogue
// (balance and DID groups) and creates the cart: creating it speculatively saves a
// sequential round trip on every purchase, at the price of a cart created and deleted when
// the plan turns out empty. It returns a nil order when nothing is to be bought, with the
// shortfall error.
func (c *Carrier) prepare(ctx context.Context, r buyRequest) (o *order, short, err error) {
	o = r.Order
	if o == nil {
		id := r.OrderID
		if id == "" {
			id = newOrderID()
		}
		o, err = c.createOrder(ctx, orderPayload{OrderID: id, QueryID: r.QueryID,
			IdempotencyKey: r.IdempotencyKey, AssignTo: r.AssignTo})
		if err != nil {
			return nil, nil, err
		}
	}
	id := o.p.OrderID
	var (
		wg      sync.WaitGroup
		cart    *voxbone.Cart
		cartErr error
	)
	wg.Go(func() {
		cart, cartErr = c.client.CreateCart(ctx, voxbone.CreateCartRequest{CustomerReference: id, Description: r.Description})
	})
	cat, catErr := c.fetchCatalogue(ctx, r.Query)
	wg.Wait()
	if cartErr == nil {
		o.p.CartID = cart.CartIdentifier
	}
	if catErr != nil {
		return nil, nil, c.abort(ctx, o, catErr)
	}
	p := c.plan(cat, r.Want)
	if p.qty == 0 || (r.AllOrNothing && p.short != nil) {
		c.release(p.lines)
		cause := p.short
		if cause == nil {
			cause = errors.New("nothing to buy")
		}
		_ = c.abort(ctx, o, cause) // logged there; the caller gets the shortfall itself
		return nil, p.short, nil
	}
	o.p.Plan, o.reserved = p.lines, true
	if cartErr != nil {
		// A lost answer may still have created the cart: abort looks it up by reference.
		c.releaseOrder(o, false)
		return nil, p.short, c.abort(ctx, o, cartErr)
	}
	return o, p.short, nil
}
