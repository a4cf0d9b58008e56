package knmvoxbone

import (
	"context"
	"fmt"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/voxbone"
)

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

// Order buys Quantity DIDs of one group, all or nothing, journalled and settled as a search's
// purchase; numbers bought for AssignTo go in_service for that account without the
// manager's rules, so callers authorise the request first. Once the checkout was sent it
// answers with the result and no error (State and Error say how far it got), so that a
// caller never retries and buys twice. With an IdempotencyKey a repeat replays the first
// order and buys nothing, unless that one failed before its checkout.
func (c *Carrier) Order(ctx context.Context, r OrderRequest) (*OrderResult, error) {
	a3, err := c.checkOrder(ctx, r)
	if err != nil {
		return nil, err
	}
	id := newOrderID()
	c.flights.begin(id)
	defer c.flights.end(id)
	o, err := c.createOrder(ctx, orderPayload{OrderID: id, IdempotencyKey: r.IdempotencyKey,
		AssignTo: r.AssignTo, Group: r.GroupID, Quantity: r.Quantity})
	if err != nil {
		return nil, err
	}
	if r.IdempotencyKey != "" {
		if first, err := c.claimKey(ctx, r, o.OrderID); err != nil || first != nil {
			c.closeDuplicate(ctx, o, first)
			return first, err
		}
	}
	o, short, err := c.prepare(ctx, buyRequest{
		Query: groupQuery{CountryA3: a3, GroupID: r.GroupID}, Want: r.Quantity,
		Description: "knm order " + o.OrderID, Order: o, AllOrNothing: true,
	})
	if err != nil {
		return nil, err
	}
	if o == nil {
		return nil, c.nothingToBuy(ctx, a3, r.GroupID, short)
	}
	_, err = c.execute(ctx, o)
	res := o.result()
	if rerr := c.withRouting(context.WithoutCancel(ctx), res); rerr != nil {
		c.log.Warn("knm_voxbone: reading the order's routing failed", "order", o.OrderID, "error", rerr)
	}
	if err != nil && o.state().MaySpend() {
		res.Error = err.Error() // money may be spent: an answer, not an error to retry on
		return res, nil
	}
	return res, err
}

// checkOrder refuses a request that could never be bought and returns the group's country
// as ISO alpha-3 (USA when none is given).
func (c *Carrier) checkOrder(ctx context.Context, r OrderRequest) (string, error) {
	if r.GroupID <= 0 {
		return "", knm.Errorf(knm.ErrInvalid, "voxbone order: a DID group id is required").WithCause("group_id")
	}
	if r.Quantity < 1 || r.Quantity > c.settings.MaxOrderQuantity {
		return "", knm.Errorf(knm.ErrInvalid, "voxbone order: quantity %d must be between 1 and max_order_quantity %d",
			r.Quantity, c.settings.MaxOrderQuantity).WithCause("quantity")
	}
	country := r.Country
	if country == "" {
		country = "USA"
	}
	a3, err := CountryA3(country)
	if err != nil {
		return "", err
	}
	if r.AssignTo != "" {
		if _, err := c.store.GetAccount(ctx, r.AssignTo); err != nil {
			return "", knm.Errorf(knm.ErrInvalid, "voxbone order: account %s: %v", r.AssignTo, err).
				WithCause("assign_to")
		}
	}
	return a3, nil
}

// closeDuplicate fails the row of a request whose idempotency key was not claimed: it bought
// nothing and never will (no cart was created), and listings leave it out.
func (c *Carrier) closeDuplicate(ctx context.Context, o *order, first *OrderResult) {
	o.Error, o.Duplicate = "idempotency key not claimed", true
	if first != nil {
		o.Error = "idempotency key already used by order " + first.OrderID
	}
	if err := c.advance(ctx, o, StateFailed); err != nil {
		c.log.Warn("knm_voxbone: journal write failed; recover will settle", "order", o.OrderID, "error", err)
	}
}

// nothingToBuy explains a native order nothing could be planned for: a group that does not
// exist (a typo: not_found) is told from one out of stock, which the listing used for
// planning hides alike.
func (c *Carrier) nothingToBuy(ctx context.Context, a3 string, group int, short error) error {
	gs, _, err := c.client.ListDIDGroups(ctx, voxbone.ListDIDGroupsOptions{CountryCodeA3: a3,
		DIDGroupIDs: []int{group}, ShowEmpty: voxbone.Ptr(true)})
	if err == nil && len(gs) == 0 {
		return knm.Errorf(knm.ErrNotFound, "voxbone order: DID group %d does not exist in %s", group, a3).
			WithCause("group_id")
	}
	if short == nil {
		short = knm.Errorf(knm.ErrUnavailable, "voxbone order: DID group %d is out of stock", group)
	}
	return short
}

// claimKey claims the request's idempotency key for order id, whose row exists. It returns
// nil when the key is now this order's, or the first order's result (Replayed) when it was
// claimed before. A key whose order failed before its checkout goes on under a key derived
// from that order, which concurrent retries claim alike: one buys, the others replay it.
func (c *Carrier) claimKey(ctx context.Context, r OrderRequest, id string) (*OrderResult, error) {
	key := "voxbone.order:" + r.IdempotencyKey
	for range maxKeyHops {
		first, claimed, err := c.store.ClaimIdempotencyKey(ctx, key, id)
		if err != nil || claimed {
			return nil, err
		}
		e, err := c.store.GetJournal(ctx, first)
		if err != nil {
			return nil, fmt.Errorf("knm_voxbone: order %s of idempotency key %q: %w", first, r.IdempotencyKey, err)
		}
		fo, err := decodeOrder(e)
		if err != nil {
			return nil, err
		}
		if err := keyReused(fo, r); err != nil {
			return nil, err
		}
		if fo.state() == StateFailed && fo.CheckoutAt == nil {
			key += "@" + first // it bought nothing and never will: a retry may buy
			continue
		}
		res := fo.result()
		res.Replayed = true
		return res, nil
	}
	return nil, knm.Errorf(knm.ErrConflict,
		"voxbone order: idempotency key %q has been retried after %d failed orders; use a new key",
		r.IdempotencyKey, maxKeyHops).WithCause("idempotency_key")
}

// OrderByKey returns the native order r's idempotency key names, as a repeat of r would
// replay it (Replayed), without claiming the key or buying: nil when the key names none yet,
// or only orders that failed before their checkout (a repeat may buy). A key used for
// another request is refused as Order refuses it.
func (c *Carrier) OrderByKey(ctx context.Context, r OrderRequest) (*OrderResult, error) {
	if r.IdempotencyKey == "" {
		return nil, nil
	}
	os, err := c.journalOrders(ctx)
	if err != nil {
		return nil, err
	}
	for _, o := range os {
		native := o.Group > 0 && len(o.Members) == 0
		if !native || o.IdempotencyKey != r.IdempotencyKey || (o.state() == StateFailed && o.CheckoutAt == nil) {
			continue
		}
		if err := keyReused(o, r); err != nil {
			return nil, err
		}
		res := o.result()
		res.Replayed = true
		return res, c.withRouting(ctx, res)
	}
	return nil, nil
}

// keyReused refuses request r when order o, which holds r's idempotency key, was for
// another request: replaying o would answer something r did not ask for.
func keyReused(o *order, r OrderRequest) error {
	if o.Group == r.GroupID && o.Quantity == r.Quantity && o.AssignTo == r.AssignTo {
		return nil
	}
	return knm.Errorf(knm.ErrInvalid,
		"idempotency key reused with a different request: order %s was for %d DID(s) of group %d%s",
		o.OrderID, o.Quantity, o.Group, assignNote(o.AssignTo)).WithCause("idempotency_key")
}

// maxKeyHops bounds how many derived keys one idempotency key may go through.
const maxKeyHops = 64

func assignNote(acct string) string {
	if acct == "" {
		return ""
	}
	return " for account " + acct
}
