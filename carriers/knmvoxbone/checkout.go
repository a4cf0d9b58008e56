package knmvoxbone

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/voxbone"
)

// DeliveryDeadline is how long after its checkout an order short of DIDs waits for Voxbone
// to deliver the rest (awaiting_delivery) before it becomes partial.
const DeliveryDeadline = 7 * 24 * time.Hour

// buyRequest is one purchase: Want DIDs matching Query.
type buyRequest struct {
	Query          groupQuery
	Want           int
	QueryID        string
	Description    string // the cart's description
	IdempotencyKey string
	AssignTo       string
	// RouteFor and RouteReseller name the account whose routing overrides apply.
	RouteFor, RouteReseller string
	// Order, when set, is the order's row, already written (a native order writes it before
	// claiming its idempotency key); its own id, key and assign_to are then used.
	Order *order
	// AllOrNothing refuses a plan that falls short instead of buying part of it.
	AllOrNothing bool
	// Shares is how many searches the order buys for (coalesced); max_order_cost applies
	// to each. 0 counts as 1.
	Shares int
}

// prepare writes the order's planned row, then in one round trip fetches the catalogue and
// creates the cart: creating it speculatively saves a round trip on every purchase, at the
// price of a cart created and deleted when nothing can be bought. It returns a nil order,
// with the shortfall, when nothing is to be bought.
func (c *Carrier) prepare(ctx context.Context, r buyRequest) (o *order, short, err error) {
	o = r.Order
	if o == nil {
		o, err = c.createOrder(ctx, orderPayload{OrderID: newOrderID(), QueryID: r.QueryID,
			IdempotencyKey: r.IdempotencyKey, AssignTo: r.AssignTo, RouteFor: r.RouteFor,
			RouteReseller: r.RouteReseller})
		if err != nil {
			return nil, nil, err
		}
	}
	var (
		wg      sync.WaitGroup
		cart    *voxbone.Cart
		cartErr error
	)
	wg.Go(func() {
		cart, cartErr = c.client.CreateCart(ctx, voxbone.CreateCartRequest{CustomerReference: o.OrderID,
			Description: r.Description})
	})
	cat, catErr := c.fetchCatalogue(ctx, r.Query)
	wg.Wait()
	if cartErr == nil {
		o.CartID = cart.CartIdentifier
	}
	if catErr != nil {
		return nil, nil, c.abort(ctx, o, catErr)
	}
	p := c.plan(cat, r.Want, max(r.Shares, 1))
	if p.qty == 0 || (r.AllOrNothing && p.short != nil) {
		c.unreserve(p.lines)
		cause := p.short
		if cause == nil {
			cause = errors.New("nothing to buy")
		}
		_ = c.abort(ctx, o, cause) // logged there; the caller gets the shortfall itself
		return nil, p.short, nil
	}
	o.Plan, o.reserved = p.lines, true
	if cartErr != nil {
		// A lost answer may still have created the cart: abort looks it up by reference.
		c.endReservation(o, false)
		return nil, p.short, c.abort(ctx, o, cartErr)
	}
	return o, p.short, nil
}

// execute runs a prepared order to a final state, or as far as it can, leaving the row for
// Recover. Before the checkout every failure deletes the cart and fails the order; from the
// checkout on the work is detached from ctx (money may be spent), and a checkout whose
// outcome is unknown is settled by looking the order up, never by buying again.
func (c *Carrier) execute(ctx context.Context, o *order) ([]knm.SearchRow, error) {
	defer c.endReservation(o, false)
	if err := c.fillCart(ctx, o); err != nil {
		return nil, c.abort(ctx, o, err)
	}
	at := c.now()
	o.CheckoutAt = &at
	if err := c.advance(ctx, o, StateCheckoutSent); err != nil {
		o.CheckoutAt = nil // not sent: a retry of the failed order's key may buy
		return nil, c.abort(ctx, o, err)
	}
	if o.onCheckout != nil {
		o.onCheckout()
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.settleTimeout)
	defer cancel()
	res, err := c.client.Checkout(sctx, o.CartID)
	c.endReservation(o, true) // even when the checkout failed: it may have happened
	if err == nil {
		o.OrderReferences = didReferences(res)
		if len(o.OrderReferences) == 0 {
			err = fmt.Errorf("checkout of cart %d returned no DID order (status %q)", o.CartID, res.Status)
		}
	}
	if err != nil {
		return c.settleCheckout(sctx, o, err, false)
	}
	if err := c.advance(sctx, o, StateCheckedOut); err != nil {
		// The row still says checkout_sent, which Recover settles the same way; the import
		// is idempotent, so go on.
		c.log.Warn("knm_voxbone: journal write after checkout failed", "order", o.OrderID, "error", err)
	}
	return c.finish(sctx, o)
}

// fillCart journals the cart, adds one line per planned group, all in parallel (the limiter
// keeps the rate), and journals the items; it stops before the checkout if the caller gave up.
func (c *Carrier) fillCart(ctx context.Context, o *order) error {
	if err := c.advance(ctx, o, StateCartCreated); err != nil {
		return err
	}
	errs := make([]error, len(o.Plan))
	var wg sync.WaitGroup
	for i, l := range o.Plan {
		wg.Go(func() { errs[i] = c.client.AddDIDsToCart(ctx, o.CartID, l.GroupID, l.Quantity) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if err := c.advance(ctx, o, StateItemsAdded); err != nil {
		return err
	}
	return ctx.Err() // the caller gave up: do not buy for nobody
}

// didReferences returns the order references of the DID products of a checkout.
func didReferences(res *voxbone.CheckoutResult) []string {
	var refs []string
	for _, p := range res.ProductCheckoutList {
		if p.OrderReference != "" && (p.ProductType == "DID" || p.ProductType == "") {
			refs = append(refs, p.OrderReference)
		}
	}
	return refs
}

// abort undoes an order that cannot have bought anything: it deletes the order's carts and
// fails the row. If a cart cannot be deleted the row is left for Recover. It runs detached
// from ctx, which may be the reason for aborting.
func (c *Carrier) abort(ctx context.Context, o *order, cause error) error {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*c.settings.RequestTimeout)
	defer cancel()
	if err := c.removeCarts(dctx, o, o.CartID == 0); err != nil {
		c.log.Warn("knm_voxbone: cart cleanup failed; recover will retry", "order", o.OrderID, "error", err)
		return carrierError("voxbone order "+o.OrderID, cause)
	}
	o.Error = cause.Error()
	if err := c.advance(dctx, o, StateFailed); err != nil {
		c.log.Warn("knm_voxbone: journal write failed; recover will settle", "order", o.OrderID, "error", err)
	}
	return carrierError("voxbone order "+o.OrderID, cause)
}

// settleCheckout decides an order whose checkout outcome is unknown. First the fence: the
// cart is deleted, so no late checkout of it can succeed. Then Voxbone's orders with the
// order id as customerReference are looked up: found, the order goes on as checked out;
// none, nothing was bought. When the fence or the lookup fails the row stays checkout_sent
// for Recover. byReference also deletes any other cart carrying the order id.
func (c *Carrier) settleCheckout(ctx context.Context, o *order, cause error,
	byReference bool) ([]knm.SearchRow, error) {
	if err := c.checkAccount(o); err != nil {
		return nil, err
	}
	unknown := "voxbone order " + o.OrderID + ": checkout outcome unknown, recover will settle it"
	if err := c.removeCarts(ctx, o, byReference || o.CartID == 0); err != nil {
		return nil, carrierError(unknown, errors.Join(cause, err))
	}
	refs, err := c.placedOrders(ctx, o.OrderID)
	if err != nil {
		return nil, carrierError(unknown, errors.Join(cause, err))
	}
	if len(refs) == 0 {
		o.Error = "checkout did not happen: " + cause.Error()
		if err := c.advance(ctx, o, StateFailed); err != nil {
			c.log.Warn("knm_voxbone: journal write failed; recover will settle", "order", o.OrderID, "error", err)
		}
		return nil, carrierError("voxbone order "+o.OrderID, cause)
	}
	c.log.Info("knm_voxbone: checkout answer lost but the order exists; importing it", "order", o.OrderID,
		"references", refs)
	o.OrderReferences = refs
	if err := c.advance(ctx, o, StateCheckedOut); err != nil {
		c.log.Warn("knm_voxbone: journal write failed", "order", o.OrderID, "error", err)
	}
	return c.finish(ctx, o)
}

// placedOrders returns the references of the Voxbone orders placed with the knm order id as
// customerReference.
func (c *Carrier) placedOrders(ctx context.Context, id string) ([]string, error) {
	orders, err := c.client.ListAllOrders(ctx, voxbone.ListOrdersOptions{CustomerReference: id})
	if err != nil {
		return nil, err
	}
	var refs []string
	for _, vo := range orders {
		if vo.CustomerReference == id && vo.Reference != "" {
			refs = append(refs, vo.Reference)
		}
	}
	return refs, nil
}

// finish imports the DIDs of a checked-out order (see importDIDs) and deletes its emptied
// cart. The order becomes imported, or while Voxbone has delivered fewer DIDs than planned
// awaiting_delivery until the delivery deadline and partial after it; a final order stays
// final. When a listing, the import or the cart deletion fails the order stays as it was
// (checked_out at least) for Recover, which repeats this idempotently.
func (c *Carrier) finish(ctx context.Context, o *order) ([]knm.SearchRow, error) {
	if err := c.checkAccount(o); err != nil {
		return nil, err
	}
	// Routing: the voice URI is resolved while the DIDs are listed, the configuration is
	// sent once they are known and read back while they are imported.
	var (
		wg   sync.WaitGroup
		plan *routePlan
		v    *verifyResult
	)
	wg.Go(func() { plan = c.planRouting(ctx, o) })
	dids, fetchErr, cartErr := c.fetchDelivered(ctx, o)
	wg.Wait()
	j, out := c.routeDelivered(ctx, o, dids, plan)
	if j != nil && out.err == nil {
		wg.Go(func() { v = c.verifyJob(ctx, out) })
	}
	rows, importErr := c.importDIDs(ctx, o, out.annotate(dids))
	wg.Wait()
	if j != nil {
		if err := c.settleRouting(ctx, j, out, v); err != nil {
			c.log.Warn("knm_voxbone: routing journal write failed; recover settles it", "order", o.OrderID,
				"error", err)
		}
		rows = j.markRows(rows)
	} else if out != nil && out.err != nil {
		// The job could not be journalled: the order stays unfinished, so Recover routes it.
		importErr = errors.Join(importErr, fmt.Errorf("routing: %w", out.err))
	}
	c.distribute(ctx, o, rows) // the state written below records the split
	if err := errors.Join(fetchErr, importErr, cartErr); err != nil {
		o.Error = err.Error()
		stay := StateCheckedOut
		if o.state() == StateAwaitingDelivery || o.state().Final() {
			stay = o.state()
		}
		if werr := c.advance(ctx, o, stay); werr != nil {
			c.log.Warn("knm_voxbone: journal write failed", "order", o.OrderID, "error", werr)
		}
		if fetchErr == nil && importErr == nil {
			// Every number is in knm; only the cart is left, which Recover deletes.
			c.log.Warn("knm_voxbone: cart deletion failed; recover will retry", "order", o.OrderID, "error", cartErr)
			return rows, nil
		}
		return rows, carrierError("voxbone order "+o.OrderID+
			": bought, not all numbers imported yet (recover will finish)", err)
	}
	return rows, c.conclude(ctx, o)
}

// fetchDelivered lists every page of the DIDs of each order reference and, unless the order
// is final (its cart is gone), deletes its cart, all at once.
func (c *Carrier) fetchDelivered(ctx context.Context, o *order) (dids []voxbone.DID, fetchErr, cartErr error) {
	var wg sync.WaitGroup
	if o.CartID != 0 && !o.state().Final() {
		wg.Go(func() {
			if err := c.client.DeleteCart(ctx, o.CartID); err != nil && !cartGone(err) {
				cartErr = err
			}
		})
	}
	lists := make([][]voxbone.DID, len(o.OrderReferences))
	errs := make([]error, len(o.OrderReferences))
	for i, ref := range o.OrderReferences {
		wg.Go(func() {
			lists[i], errs[i] = c.client.ListAllDIDs(ctx, voxbone.ListDIDsOptions{
				ListOptions: voxbone.ListOptions{PageSize: c.settings.PageSize}, OrderReference: ref})
		})
	}
	wg.Wait()
	for _, l := range lists {
		dids = append(dids, l...)
	}
	return dids, errors.Join(errs...), cartErr
}

// conclude writes the state of an order whose delivered DIDs are all in knm: imported, or
// short of DIDs awaiting_delivery (partial after the deadline, or when it was final
// already). A short order is an unavailable error saying so.
func (c *Carrier) conclude(ctx context.Context, o *order) error {
	o.Error = ""
	state := StateImported
	if planned, _ := o.planned(); o.delivered() < planned {
		msg := fmt.Sprintf("voxbone delivered %d of %d DIDs", o.delivered(), planned)
		if len(o.BadDIDs) > 0 {
			msg += fmt.Sprintf(" (%d more with an unusable number: %s)", len(o.BadDIDs), strings.Join(o.BadDIDs, "; "))
		}
		deadline := o.checkoutTime().Add(c.deliveryDeadline)
		if c.now().Before(deadline) && !o.state().Final() { // a final order never waits again
			state = StateAwaitingDelivery
			o.Error = msg + "; the rest are awaited until " + deadline.UTC().Format(time.RFC3339) +
				" (recover imports them when voxbone delivers)"
		} else {
			state = StatePartial
			o.Error = msg + "; the rest were not delivered by " + deadline.UTC().Format(time.RFC3339)
		}
	}
	if len(o.Conflicts) > 0 {
		list := make([]string, len(o.Conflicts))
		for i, cf := range o.Conflicts {
			list[i] = cf.String()
		}
		note := fmt.Sprintf("%d DID(s) bought but stored otherwise in knm, not moved: %s",
			len(list), strings.Join(list, "; "))
		o.Error = strings.TrimPrefix(o.Error+"; "+note, "; ")
	}
	if err := c.advance(ctx, o, state); err != nil {
		c.log.Warn("knm_voxbone: journal write failed", "order", o.OrderID, "error", err)
	}
	if state != StateImported {
		return knm.Errorf(knm.ErrUnavailable, "voxbone order %s: %s", o.OrderID, o.Error)
	}
	return nil
}
