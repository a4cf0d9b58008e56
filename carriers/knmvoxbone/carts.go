package knmvoxbone

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/voxbone"
)

// removeCarts deletes the order's cart: the recorded one, and with byReference (the cart id
// may be unknown) every cart whose customerReference is the order id. A cart already gone is
// no error. Deleting the cart is the fence of settleCheckout: once it is gone no late
// checkout of it can succeed.
func (c *Carrier) removeCarts(ctx context.Context, o *order, byReference bool) error {
	ids := []int{}
	if o.CartID != 0 {
		ids = append(ids, o.CartID)
	}
	if byReference {
		carts, err := c.client.ListAllCarts(ctx, voxbone.ListCartsOptions{Reference: o.OrderID})
		if err != nil {
			return err
		}
		for _, ct := range carts {
			if ct.CustomerReference == o.OrderID && ct.CartIdentifier != o.CartID {
				ids = append(ids, ct.CartIdentifier)
			}
		}
	}
	var errs []error
	for _, id := range ids {
		if err := c.client.DeleteCart(ctx, id); err != nil && !cartGone(err) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// cartGone reports whether a cart call failed because the cart does not exist.
func cartGone(err error) bool {
	return voxbone.HasCode(err, voxbone.CodeInvalidCartIdentifier) || voxbone.IsNotFound(err)
}

// cartDateLayout is the format of a cart's dateAdded, in UTC.
const cartDateLayout = "2006-01-02 15:04:05"

// PurgeCarts deletes knm's own abandoned carts and returns their ids: carts whose
// customerReference starts with OrderPrefix, older than cart_ttl_minutes, whose order was
// never checked out (its row is before checkout_sent, failed, or missing). Other carts,
// other tools' or those of orders in flight, are never touched. With dryRun nothing is
// deleted; the ids are those that would be.
func (c *Carrier) PurgeCarts(ctx context.Context, dryRun bool) ([]int, error) {
	carts, err := c.client.ListAllCarts(ctx, voxbone.ListCartsOptions{
		ListOptions: voxbone.ListOptions{PageSize: c.settings.PageSize}})
	if err != nil {
		return nil, carrierError("voxbone: list carts", err)
	}
	cutoff := c.now().Add(-c.settings.CartTTL)
	purged := []int{}
	for _, ct := range carts {
		if !strings.HasPrefix(ct.CustomerReference, OrderPrefix) {
			continue
		}
		added, err := time.ParseInLocation(cartDateLayout, ct.DateAdded, time.UTC)
		if err != nil || added.After(cutoff) {
			continue // unknown age: keep it
		}
		e, err := c.store.GetJournal(ctx, ct.CustomerReference)
		switch {
		case knm.IsErrorName(err, knm.ErrNotFound):
		case err != nil:
			return purged, err
		case e.Carrier != ModuleName || !(OrderState(e.State).BeforeCheckout() || OrderState(e.State) == StateFailed):
			continue
		}
		if !dryRun {
			if err := c.client.DeleteCart(ctx, ct.CartIdentifier); err != nil && !cartGone(err) {
				return purged, carrierError("voxbone: delete cart", err)
			}
		}
		purged = append(purged, ct.CartIdentifier)
	}
	return purged, nil
}
