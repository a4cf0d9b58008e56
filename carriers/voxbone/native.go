package voxbone

import (
	"context"

	"github.com/knmproject/knm"
)

// QuoteRequest selects DID groups to price.
type QuoteRequest struct {
	Country  string // ISO 3166 alpha-2 or alpha-3, required
	AreaCode string // optional; a trailing "*" is a prefix wildcard
	Type     string // optional didType, e.g. GEOGRAPHIC, TOLL_FREE
}

// GroupQuote is one DID group with its stock and prices, in currency units.
type GroupQuote struct {
	GroupID  int     `json:"group_id"`
	City     string  `json:"city,omitempty"`
	AreaCode string  `json:"area_code"`
	Type     string  `json:"type"`
	Stock    int     `json:"stock"`
	Setup    float64 `json:"setup"`
	Monthly  float64 `json:"monthly"`
	Currency string  `json:"currency"`
}

// Quote lists the DID groups in stock that match r (every page), with prices. It buys
// nothing and writes nothing.
func (c *Carrier) Quote(ctx context.Context, r QuoteRequest) ([]GroupQuote, error) {
	a3, err := CountryA3(r.Country)
	if err != nil {
		return nil, err
	}
	cat, err := c.fetchCatalogue(ctx, groupQuery{CountryA3: a3, DIDType: r.Type, AreaCode: r.AreaCode})
	if err != nil {
		return nil, err
	}
	out := make([]GroupQuote, 0, len(cat.groups))
	for _, g := range cat.groups {
		q := GroupQuote{GroupID: g.DIDGroupID, AreaCode: g.AreaCode, Type: g.DIDType, Stock: g.Stock,
			Setup: float64(g.Setup100) / 100, Monthly: float64(g.Monthly100) / 100, Currency: cat.balance.Currency}
		if g.CityName != nil {
			q.City = *g.CityName
		}
		out = append(out, q)
	}
	return out, nil
}

// OrderRequest is a native order of Quantity DIDs from one DID group.
type OrderRequest struct {
	GroupID  int
	Quantity int
	// Country is the group's country, alpha-2 or alpha-3 (Voxbone's group listing needs
	// it); default "USA".
	Country string
	// IdempotencyKey, when set, makes a repeat of the request return the first order's
	// result without buying anything.
	IdempotencyKey string
	// AssignTo, when set, is the account the bought numbers are stored in_service for;
	// otherwise they are stored available and unassigned, like a search's.
	AssignTo string
}

// Order buys Quantity DIDs of one group, all or nothing: the quantity must be at most
// max_order_quantity, the group must have the stock (no back-orders) and the cost must fit
// max_order_cost and the balance; all is checked before anything is bought. The order is
// journalled and settled exactly as a search's purchase.
//
// With an IdempotencyKey the key is claimed ("voxbone.order:"+key) before buying; a repeat
// returns the first order's result from its journal, with Replayed set, and buys nothing
// (a conflict error while the first order has not written its journal row yet).
//
// Numbers bought for AssignTo are written directly in_service and assigned to that account
// (the account must exist); the manager's rules for moving numbers do not run, so callers
// must authorise the request for that account first.
func (c *Carrier) Order(ctx context.Context, r OrderRequest) (*OrderResult, error) {
	if r.GroupID <= 0 {
		return nil, knm.Errorf(knm.ErrInvalid, "voxbone order: a DID group id is required").WithCause("group_id")
	}
	if r.Quantity < 1 || r.Quantity > c.s.MaxOrderQuantity {
		return nil, knm.Errorf(knm.ErrInvalid, "voxbone order: quantity %d must be between 1 and max_order_quantity %d",
			r.Quantity, c.s.MaxOrderQuantity).WithCause("quantity")
	}
	country := r.Country
	if country == "" {
		country = "USA"
	}
	a3, err := CountryA3(country)
	if err != nil {
		return nil, err
	}
	if r.AssignTo != "" {
		if _, err := c.store.GetAccount(ctx, r.AssignTo); err != nil {
			return nil, knm.Errorf(knm.ErrInvalid, "voxbone order: account %s: %v", r.AssignTo, err).WithCause("assign_to")
		}
	}
	id := newOrderID()
	if r.IdempotencyKey != "" {
		first, claimed, err := c.store.ClaimIdempotencyKey(ctx, "voxbone.order:"+r.IdempotencyKey, id)
		if err != nil {
			return nil, err
		}
		if !claimed {
			res, err := c.GetOrder(ctx, first)
			if knm.IsErrorName(err, knm.ErrNotFound) {
				return nil, knm.Errorf(knm.ErrConflict, "voxbone order with this idempotency key is in progress or was refused before buying (order %s)", first)
			}
			if err != nil {
				return nil, err
			}
			res.Replayed = true
			return res, nil
		}
	}
	o, short, err := c.prepare(ctx, buyRequest{
		Query: groupQuery{CountryA3: a3, GroupID: r.GroupID}, Want: r.Quantity,
		Description: "knm order " + id, OrderID: id, IdempotencyKey: r.IdempotencyKey,
		AssignTo: r.AssignTo, AllOrNothing: true,
	})
	if err != nil {
		return nil, err
	}
	if o == nil {
		if short == nil {
			short = knm.Errorf(knm.ErrUnavailable, "voxbone order: DID group %d not found in %s or out of stock", r.GroupID, a3)
		}
		return nil, short
	}
	_, err = c.execute(ctx, o)
	res := o.result()
	return res, err
}
