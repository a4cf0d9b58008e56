package knmvoxbone

import (
	"context"
	"errors"
	"fmt"
	"slices"
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
	// LateChecked is how many partial orders were looked at for DIDs Voxbone delivered
	// late (at most LateDeliveryBatch), LateImported how many such DIDs they brought into
	// knm, and LateCompleted how many of them became imported (their count complete).
	LateChecked   int `json:"late_checked"`
	LateImported  int `json:"late_imported"`
	LateCompleted int `json:"late_completed"`
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
//     (a later Recover looks again), or partial after it;
//   - partial (final, short of DIDs) and checked out less than LateDeliveryHorizon ago: the
//     DIDs of each order reference are fetched again and those Voxbone delivered since are
//     imported through the order, as reconcile --import does (in service for its assign_to
//     account; a number the order imported that is back in the pool stays there), and the
//     order becomes imported once its count is complete. Voxbone bills them, so they must
//     reach knm without an operator. Only DIDs the order never imported are imported: a
//     number it imported before that was deleted, released or reassigned since is left as
//     it is (see importDIDs). An order is due again only lateDeliveryInterval after its last
//     look (hourly in its first day, every 6 hours in its first week, daily after: see
//     LateIntervalFirstDay). At most LateDeliveryBatch due partial orders are looked at
//     per run, those looked at least recently first (never looked at: oldest first), so a
//     backlog is worked through over successive runs; an order looked at is not looked at
//     again by the same run. Older partial orders get no request at all. A failed look is
//     listed in Unsettled; the order stays partial and is looked at again by a later run.
//
// An order placed on another Voxbone account (the settings were switched meanwhile) is left
// as it is: an unfinished one is listed in Unsettled, a partial one is skipped silently (it
// is final); a carrier of that account settles it.
//
// Rows are updated under their revision, so two Recovers (or a Recover racing the order's
// own goroutine) never both act on one step. An order that cannot be settled now stays as
// it is and is listed in Unsettled.
func (c *Carrier) Recover(ctx context.Context) (*RecoverReport, error) {
	return c.RecoverOlderThan(ctx, 0)
}

// RecoverOlderThan is Recover limited to orders not updated for at least age, so a periodic
// run on one instance leaves alone the orders other instances are still working on. The
// same applies to the partial orders it looks at for late DIDs: one written less than age
// ago (looked at by another instance, or by reconcile) waits for a later run.
func (c *Carrier) RecoverOlderThan(ctx context.Context, age time.Duration) (*RecoverReport, error) {
	es, err := c.store.FindJournals(ctx, knm.JournalFilter{Carrier: ModuleName, States: unfinishedStates})
	if err != nil {
		return nil, err
	}
	rep := &RecoverReport{Unsettled: []string{}}
	cutoff := c.now().Add(-age)
	seen := map[string]bool{}
	for _, e := range es {
		if age > 0 && e.Updated.After(cutoff) {
			continue
		}
		seen[e.ID] = true
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
			rep.Unsettled = append(rep.Unsettled, e.ID+": still "+string(state))
		}
		if ctx.Err() != nil {
			break
		}
	}
	if ctx.Err() == nil {
		if err := c.recoverLate(ctx, age, seen, rep); err != nil {
			return rep, err
		}
	}
	return rep, ctx.Err()
}

// recoverLate is Recover's look at partial orders for DIDs Voxbone delivered late (see
// Recover): orders in skip (settled by this run) or, with age > 0, updated less than age
// ago are left for a later run.
func (c *Carrier) recoverLate(ctx context.Context, age time.Duration, skip map[string]bool, rep *RecoverReport) error {
	if c.lateBatch <= 0 || c.lateHorizon <= 0 {
		return nil
	}
	es, err := c.store.FindJournals(ctx, knm.JournalFilter{Carrier: ModuleName, States: []string{string(StatePartial)}})
	if err != nil {
		return err
	}
	now := c.now()
	since, cutoff := now.Add(-c.lateHorizon), now.Add(-age)
	var due []*order
	for _, e := range es {
		// The journal filter has no time bound; a row not written since the horizon began
		// was checked out before it (Updated is never before the checkout), so it is left
		// without decoding its payload.
		if skip[e.ID] || isCancelRow(e) || (age > 0 && e.Updated.After(cutoff)) || e.Updated.Before(since) {
			continue
		}
		o, err := decodeOrder(e)
		if err != nil {
			c.log.Warn("knm_voxbone: partial order not looked at for late DIDs", "order", e.ID, "error", err)
			continue
		}
		if o.p.bookkeeping() || len(o.p.OrderReferences) == 0 || c.checkAccount(o) != nil || o.checkoutTime().Before(since) {
			continue
		}
		if o.p.LateCheckedAt != nil && now.Sub(*o.p.LateCheckedAt) < c.lateInterval(now.Sub(o.checkoutTime())) {
			continue // looked at recently enough
		}
		due = append(due, o)
	}
	// Least recently looked at first; never looked at (the zero time) before all, oldest
	// first as FindJournals lists them (the sort is stable).
	slices.SortStableFunc(due, func(a, b *order) int { return lateCheckedAt(a).Compare(lateCheckedAt(b)) })
	for _, o := range due[:min(len(due), c.lateBatch)] {
		if ctx.Err() != nil {
			break
		}
		rep.LateChecked++
		had := make(map[string]bool, len(o.p.Imported))
		for _, n := range o.p.Imported {
			had[n] = true
		}
		at := c.now()
		o.p.LateCheckedAt = &at
		read := o.e
		_, err := c.finish(ctx, o)
		if o.e == read { // finish's write lost the revision race (or failed)
			c.markLateChecked(ctx, o.p.OrderID, at)
		}
		var late []string
		for _, n := range o.p.Imported {
			if !had[n] {
				late = append(late, n)
			}
		}
		rep.LateImported += len(late)
		if o.state() == StateImported {
			rep.LateCompleted++
		}
		if len(late) > 0 {
			c.log.Info("knm_voxbone: late DIDs of a partial order imported", "order", o.p.OrderID,
				"numbers", late, "state", o.state())
		}
		if err != nil && !knm.IsErrorName(err, knm.ErrUnavailable) { // unavailable: still short
			rep.Unsettled = append(rep.Unsettled, fmt.Sprintf("%s: looking for late DIDs: %v", o.p.OrderID, err))
		}
	}
	return nil
}

// markLateChecked records at as the order's LateCheckedAt when finish could not write it
// (another writer moved the row meanwhile): the row is read again and, if still partial
// and not looked at since, only LateCheckedAt is written, once. Losing that race too is
// accepted (logged): the other writer touched the order just now, and the worst outcome is
// one more look at it by a later run.
func (c *Carrier) markLateChecked(ctx context.Context, id string, at time.Time) {
	e, err := c.store.GetJournal(ctx, id)
	if err != nil {
		c.log.Warn("knm_voxbone: late_checked_at not recorded", "order", id, "error", err)
		return
	}
	o, err := decodeOrder(e)
	if err != nil || OrderState(e.State) != StatePartial || !lateCheckedAt(o).Before(at) {
		return
	}
	o.p.LateCheckedAt = &at
	if err := c.advance(ctx, o, StatePartial); err != nil {
		c.log.Warn("knm_voxbone: late_checked_at not recorded", "order", id, "error", err)
	}
}

// Intervals between two looks of Recover at one partial order for late DIDs, by the time
// since its checkout (see lateDeliveryInterval): late deliveries come mostly soon after the
// checkout, so young orders are looked at more often; none is looked at more than hourly.
const (
	LateIntervalFirstDay  = time.Hour     // checked out less than a day ago
	LateIntervalFirstWeek = 6 * time.Hour // less than a week ago
	LateIntervalLater     = 24 * time.Hour
)

// lateDeliveryInterval is how long after its last look a partial order checked out since
// ago is due for another: LateIntervalFirstDay, LateIntervalFirstWeek, then
// LateIntervalLater (until LateDeliveryHorizon, after which it is not looked at).
func lateDeliveryInterval(since time.Duration) time.Duration {
	switch {
	case since < 24*time.Hour:
		return LateIntervalFirstDay
	case since < 7*24*time.Hour:
		return LateIntervalFirstWeek
	default:
		return LateIntervalLater
	}
}

// lateCheckedAt is when Recover last looked at the order for late DIDs (zero: never).
func lateCheckedAt(o *order) time.Time {
	if o.p.LateCheckedAt == nil {
		return time.Time{}
	}
	return *o.p.LateCheckedAt
}

// recoverOne settles one row and returns the state it ended in.
func (c *Carrier) recoverOne(ctx context.Context, e *knm.JournalEntry) (OrderState, error) {
	o, err := decodeOrder(e)
	if err != nil {
		return OrderState(e.State), err
	}
	if err := c.checkAccount(o); err != nil {
		return o.state(), err // left as it is, listed in Unsettled
	}
	c.log.Info("knm_voxbone: recovering order", "order", o.p.OrderID, "state", o.state())
	switch st := o.state(); {
	case st.BeforeCheckout():
		if err := c.removeCarts(ctx, o, true); err != nil {
			return st, err
		}
		if o.p.Error == "" {
			o.p.Error = "abandoned in state " + string(st) + " before checkout; cart deleted by recover"
		}
		if err := c.advance(ctx, o, StateFailed); err != nil {
			return st, err
		}
	case st == StateCheckoutSent:
		_, err := c.settleCheckout(ctx, o, errors.New(errCheckoutInterrupted), true)
		if !o.state().Final() && o.state() != StateAwaitingDelivery {
			return o.state(), errors.Join(err, errors.New("not settled"))
		}
	case st == StateCheckedOut || st == StateAwaitingDelivery:
		_, err := c.finish(ctx, o)
		if o.state().Final() || o.state() == StateAwaitingDelivery {
			return o.state(), nil // a shortfall is reported by the state
		}
		if err != nil {
			return o.state(), err
		}
		return o.state(), errors.New("not settled: " + o.p.Error)
	}
	return o.state(), nil
}

// RecoverIdle is RecoverOlderThan for knm serve, which recovers every module that has it
// (knm.Recoverer) without knowing which module it is.
func (c *Carrier) RecoverIdle(ctx context.Context, minIdle time.Duration) (knm.RecoverSummary, error) {
	rep, err := c.RecoverOlderThan(ctx, minIdle)
	if rep == nil {
		return knm.RecoverSummary{}, err
	}
	return knm.RecoverSummary{Examined: rep.Examined, Settled: rep.Imported + rep.Partial,
		Failed: rep.Failed, Unsettled: len(rep.Unsettled) + rep.Awaiting}, err
}
