package knmvoxbone

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/voxbone"
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
// Once the checkout has been sent (money may have been spent) Order returns the result and
// no Go error, whatever happened next: the result's State says how far the order got
// (checkout_sent, checked_out: Recover finishes it; awaiting_delivery: Voxbone has not
// delivered every DID yet) and its Error why it is not imported. A caller that saw an
// error might otherwise retry and buy again. A Go error means nothing was bought.
//
// With an IdempotencyKey the order's journal row is written first and the key
// ("voxbone.order:"+key) is then claimed for it, so a key always names a row that exists.
// A repeat returns the first order's result from its journal, with Replayed set, and buys
// nothing; a repeat whose group, quantity or assign_to differ is an invalid error. A key
// whose row does not exist (its claimant died between the claim and the row, as an older
// knm could) is fenced by writing that row as failed, so the claimant can no longer buy,
// and the request goes on under a key derived from it. So does a repeat whose first order
// failed before its checkout (it bought nothing): the repeat buys, and later repeats
// replay that order.
//
// Numbers bought for AssignTo are written directly in_service and assigned to that account
// (the account must exist); the manager's rules for moving numbers do not run, so callers
// must authorise the request for that account first.
func (c *Carrier) Order(ctx context.Context, r OrderRequest) (*OrderResult, error) {
	if r.GroupID <= 0 {
		return nil, knm.Errorf(knm.ErrInvalid, "voxbone order: a DID group id is required").WithCause("group_id")
	}
	if r.Quantity < 1 || r.Quantity > c.settings.MaxOrderQuantity {
		return nil, knm.Errorf(knm.ErrInvalid, "voxbone order: quantity %d must be between 1 and max_order_quantity %d",
			r.Quantity, c.settings.MaxOrderQuantity).WithCause("quantity")
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
	o, err := c.createOrder(ctx, orderPayload{OrderID: id, IdempotencyKey: r.IdempotencyKey, AssignTo: r.AssignTo,
		Group: r.GroupID, Quantity: r.Quantity})
	if err != nil {
		return nil, err
	}
	if r.IdempotencyKey != "" {
		first, err := c.claimKey(ctx, r, id)
		if err != nil || first != nil {
			// This row bought nothing and never will: close it (no cart was created).
			o.p.Error, o.p.Duplicate = "idempotency key not claimed", true
			if first != nil {
				o.p.Error = "idempotency key already used by order " + first.OrderID
			}
			if werr := c.advance(ctx, o, StateFailed); werr != nil {
				c.log.Warn("knm_voxbone: journal write failed; recover will settle", "order", id, "error", werr)
			}
			return first, err
		}
	}
	o, short, err := c.prepare(ctx, buyRequest{
		Query: groupQuery{CountryA3: a3, GroupID: r.GroupID}, Want: r.Quantity,
		Description: "knm order " + id, Order: o, AllOrNothing: true,
	})
	if err != nil {
		return nil, err
	}
	if o == nil {
		// Nothing could be planned: tell a group that does not exist (a typo, 404) from
		// one without stock (503), which the listing used for planning hides alike.
		show := true
		if gs, _, lerr := c.client.ListDIDGroups(ctx, voxbone.ListDIDGroupsOptions{CountryCodeA3: a3,
			DIDGroupIDs: []int{r.GroupID}, ShowEmpty: &show}); lerr == nil && len(gs) == 0 {
			return nil, knm.Errorf(knm.ErrNotFound, "voxbone order: DID group %d does not exist in %s", r.GroupID, a3).WithCause("group_id")
		}
		if short == nil {
			short = knm.Errorf(knm.ErrUnavailable, "voxbone order: DID group %d is out of stock", r.GroupID)
		}
		return nil, short
	}
	_, err = c.execute(ctx, o)
	res := o.result()
	if err != nil && o.state().MaySpend() {
		// Money may be spent: answer with the order, not an error a client would retry.
		res.Error = err.Error()
		return res, nil
	}
	return res, err
}

// claimKey claims the request's idempotency key for the order id, whose journal row exists.
// It returns nil when the key is now this order's, or the first order's result (Replayed)
// when it was claimed before.
func (c *Carrier) claimKey(ctx context.Context, r OrderRequest, id string) (*OrderResult, error) {
	key := "voxbone.order:" + r.IdempotencyKey
	for range maxKeyHops {
		first, claimed, err := c.store.ClaimIdempotencyKey(ctx, key, id)
		if err != nil || claimed {
			return nil, err
		}
		e, err := c.store.GetJournal(ctx, first)
		if knm.IsErrorName(err, knm.ErrNotFound) {
			// Claimed, but its order was never written. Fence: write that row ourselves
			// (failed, buying nothing); a claimant still alive then fails to write it and
			// buys nothing. Of two fencers one writes, the other finds the row.
			if err := c.fenceOrphan(ctx, first, r.IdempotencyKey); err != nil {
				return nil, err
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		fo, err := decodeOrder(e)
		if err != nil {
			return nil, err
		}
		if fo.p.Orphan || fo.p.Duplicate {
			key += "@" + first // the key's request goes on under a key derived from the fenced claim
			continue
		}
		if fo.p.Group != 0 && (fo.p.Group != r.GroupID || fo.p.Quantity != r.Quantity || fo.p.AssignTo != r.AssignTo) {
			return nil, knm.Errorf(knm.ErrInvalid,
				"idempotency key reused with a different request: order %s was for %d DID(s) of group %d%s",
				first, fo.p.Quantity, fo.p.Group, assignNote(fo.p.AssignTo)).WithCause("idempotency_key")
		}
		if fo.state() == StateFailed && !fo.p.checkoutMayHaveHappened() {
			// The key's order failed before its checkout (no stock, no credit, a Voxbone
			// error, or abandoned and failed by Recover): it bought nothing and never will,
			// so a retry must be able to buy. It goes on under a key derived from that
			// order, which concurrent retries claim alike (one buys, the others replay it).
			key += "@" + first
			continue
		}
		res := fo.result()
		res.Replayed = true
		return res, nil
	}
	return nil, knm.Errorf(knm.ErrConflict,
		"voxbone order: idempotency key %q has been retried after %d failed orders; use a new key", r.IdempotencyKey, maxKeyHops).
		WithCause("idempotency_key")
}

// maxKeyHops bounds how many derived keys (after fenced claims and orders that failed
// before their checkout) one idempotency key may go through.
const maxKeyHops = 64

func assignNote(acct string) string {
	if acct == "" {
		return ""
	}
	return " for account " + acct
}

// fenceOrphan writes the journal row of order id, claimed for an idempotency key but never
// written, as failed. A row that exists meanwhile is left alone.
func (c *Carrier) fenceOrphan(ctx context.Context, id, idemKey string) error {
	raw, err := json.Marshal(orderPayload{OrderID: id, IdempotencyKey: idemKey, Orphan: true,
		Error: "idempotency key claimed but the order was never written (its process died); nothing bought"})
	if err != nil {
		return err
	}
	now := c.now()
	err = c.store.CreateJournal(ctx, &knm.JournalEntry{ID: id, Carrier: ModuleName, State: string(StateFailed), Payload: raw, Created: now, Updated: now})
	if err != nil && !knm.IsErrorName(err, knm.ErrConflict) {
		return fmt.Errorf("knm_voxbone: fence orphaned idempotency claim %s: %w", id, err)
	}
	if err == nil {
		c.log.Warn("knm_voxbone: idempotency key claimed by an order never written; fenced", "order", id)
	}
	return nil
}
