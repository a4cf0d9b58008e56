package voxbone

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/knmproject/knm"
)

// RecoverReport says what Recover did.
type RecoverReport struct {
	Examined  int      `json:"examined"`  // unfinished orders found
	Failed    int      `json:"failed"`    // settled as "nothing bought", carts deleted
	Imported  int      `json:"imported"`  // settled as bought, numbers in knm
	Partial   int      `json:"partial"`   // bought, fewer DIDs delivered than ordered by the deadline
	Awaiting  int      `json:"awaiting"`  // bought, imported so far, the rest not delivered yet
	Unsettled []string `json:"unsettled"` // order ids left for a later run, with the reason
}

// Recover finishes or undoes every unfinished order of the journal, e.g. at start-up after a
// crash. It never buys again:
//   - planned, cart_created, items_added (nothing can have been bought): every cart whose
//     customerReference is the order id is deleted, and the order is failed;
//   - checkout_sent (the checkout may or may not have happened): the fence first, deleting
//     the order's cart so no late checkout can still succeed, then the orders placed with
//     that customerReference are looked up: found, the order goes on as checked_out; none,
//     it is failed;
//   - checked_out, awaiting_delivery: the DIDs of each order reference are fetched and
//     stored (idempotently), the cart is deleted if still there, and the order is imported,
//     or awaiting_delivery while DIDs are missing and the delivery deadline has not passed
//     (a later Recover looks again), or partial after it.
//
// An order placed on another Voxbone account (the settings were switched meanwhile) is left
// as it is and listed in Unsettled: a carrier of that account settles it.
//
// Rows are updated under their revision, so two Recovers (or a Recover racing the order's
// own goroutine) never both act on one step. An order that cannot be settled now stays as
// it is and is listed in Unsettled.
func (c *Carrier) Recover(ctx context.Context) (*RecoverReport, error) {
	return c.RecoverOlderThan(ctx, 0)
}

// RecoverOlderThan is Recover limited to orders not updated for at least age, so a periodic
// run on one instance leaves alone the orders other instances are still working on.
func (c *Carrier) RecoverOlderThan(ctx context.Context, age time.Duration) (*RecoverReport, error) {
	es, err := c.store.FindJournals(ctx, knm.JournalFilter{Carrier: ModuleName, States: unfinishedStates})
	if err != nil {
		return nil, err
	}
	rep := &RecoverReport{Unsettled: []string{}}
	cutoff := c.now().Add(-age)
	for _, e := range es {
		if age > 0 && e.Updated.After(cutoff) {
			continue
		}
		rep.Examined++
		state, err := c.recoverOne(ctx, e)
		switch {
		case err != nil:
			rep.Unsettled = append(rep.Unsettled, fmt.Sprintf("%s: %v", e.ID, err))
		case state == StateFailed:
			rep.Failed++
		case state == StateImported:
			rep.Imported++
		case state == StatePartial:
			rep.Partial++
		case state == StateAwaitingDelivery:
			rep.Awaiting++
		default:
			rep.Unsettled = append(rep.Unsettled, e.ID+": still "+state)
		}
		if ctx.Err() != nil {
			break
		}
	}
	return rep, ctx.Err()
}

// recoverOne settles one row and returns the state it ended in.
func (c *Carrier) recoverOne(ctx context.Context, e *knm.JournalEntry) (string, error) {
	o, err := decodeOrder(e)
	if err != nil {
		return e.State, err
	}
	if err := c.otherAccount(o); err != nil {
		return e.State, err // left as it is, listed in Unsettled
	}
	c.log.Info("knm_voxbone: recovering order", "order", o.p.OrderID, "state", e.State)
	switch {
	case preCheckout(e.State):
		if err := c.removeCarts(ctx, o, true); err != nil {
			return e.State, err
		}
		if o.p.Error == "" {
			o.p.Error = "abandoned in state " + e.State + " before checkout; cart deleted by recover"
		}
		if err := c.advance(ctx, o, StateFailed); err != nil {
			return e.State, err
		}
	case e.State == StateCheckoutSent:
		_, err := c.settleCheckout(ctx, o, errors.New(errCheckoutInterrupted), true)
		if !final(o.e.State) && o.e.State != StateAwaitingDelivery {
			return o.e.State, errors.Join(err, errors.New("not settled"))
		}
	case e.State == StateCheckedOut || e.State == StateAwaitingDelivery:
		_, err := c.finish(ctx, o)
		if final(o.e.State) || o.e.State == StateAwaitingDelivery {
			return o.e.State, nil // a shortfall is reported by the state
		}
		if err != nil {
			return o.e.State, err
		}
		return o.e.State, errors.New("not settled: " + o.p.Error)
	}
	return o.e.State, nil
}
