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
	// LateChecked is how many partial orders were looked at for DIDs delivered late,
	// LateImported how many such DIDs they brought into knm, and LateCompleted how many of
	// those orders became imported.
	LateChecked   int `json:"late_checked"`
	LateImported  int `json:"late_imported"`
	LateCompleted int `json:"late_completed"`
	// Routed is how many routing jobs were settled (every DID configured and verified);
	// RoutingPending how many are still pending after this run's attempt.
	Routed         int `json:"routed"`
	RoutingPending int `json:"routing_pending"`
	// HoldsReleased is how many held numbers whose hold expired went back to the pool.
	HoldsReleased int `json:"holds_released"`
	// Running is how many unfinished orders were left to the live instance (or the flight
	// in this process) working on them.
	Running int `json:"running"`
}

// Recover settles every unfinished order, as at start-up after a crash, and never buys
// again: before the checkout the carts are deleted and the order fails; after it the order
// is looked up and its DIDs imported. It then looks for late DIDs of partial orders. An order
// it cannot settle now, or of another Voxbone account, stays as it is, listed in Unsettled.
func (c *Carrier) Recover(ctx context.Context) (*RecoverReport, error) {
	return c.recoverOlderThan(ctx, 0, true)
}

// RecoverOlderThan is Recover for what no running instance is working on. An order owned
// by a live instance is left to it (this process's own only while it runs here); one whose
// owner's lease has ended is taken over under a new fence and settled at once. An order
// without an owner (journalled by a process without a lease) is settled once not written
// for at least age.
func (c *Carrier) RecoverOlderThan(ctx context.Context, age time.Duration) (*RecoverReport, error) {
	return c.recoverOlderThan(ctx, age, false)
}

// recoverOlderThan settles orders, late deliveries, then routing jobs: those due by their
// backoff, or all of them when forced (an operator's `knm voxbone recover`).
func (c *Carrier) recoverOlderThan(ctx context.Context, age time.Duration, force bool) (*RecoverReport, error) {
	es, err := c.store.FindJournals(ctx, knm.JournalFilter{Carrier: ModuleName, States: unfinishedStates})
	if err != nil {
		return nil, err
	}
	live, err := c.liveInstances(ctx)
	if err != nil {
		return nil, err
	}
	rep := &RecoverReport{Unsettled: []string{}}
	cutoff := c.now().Add(-age)
	seen := map[string]bool{}
	for _, e := range es {
		if ctx.Err() != nil {
			break
		}
		if e.Owner == "" && age > 0 && e.Updated.After(cutoff) {
			continue
		}
		taken, ok, err := c.claim(ctx, e, live)
		if !ok {
			rep.Running++
			continue
		}
		seen[e.ID] = true
		rep.Examined++
		state := OrderState(e.State)
		if err == nil {
			state, err = c.recoverOne(ctx, taken)
		}
		rep.count(e.ID, state, err)
	}
	if ctx.Err() == nil {
		if err := c.recoverLate(ctx, age, seen, live, rep); err != nil {
			return rep, err
		}
	}
	if ctx.Err() == nil {
		if err := c.recoverRouting(ctx, age, force, rep); err != nil {
			return rep, err
		}
	}
	if ctx.Err() == nil {
		n, err := c.ReleaseExpiredHolds(ctx)
		rep.HoldsReleased = n
		if err != nil {
			return rep, err
		}
	}
	return rep, ctx.Err()
}

// count adds the outcome of settling order id to the report.
func (rep *RecoverReport) count(id string, state OrderState, err error) {
	switch {
	case err != nil:
		rep.Unsettled = append(rep.Unsettled, fmt.Sprintf("%s: %v", id, err))
	case state == StateFailed:
		rep.Failed++
	case state == StateImported:
		rep.Imported++
	case state == StatePartial:
		rep.Partial++
	case state == StateAwaitingDelivery:
		rep.Awaiting++
	default:
		rep.Unsettled = append(rep.Unsettled, id+": still "+string(state))
	}
}

// RecoverIdle is RecoverOlderThan for knm serve, which recovers every module that has it
// (knm.Recoverer) without knowing which module it is; minIdle applies to orders without an owner.
func (c *Carrier) RecoverIdle(ctx context.Context, minIdle time.Duration) (knm.RecoverSummary, error) {
	rep, err := c.RecoverOlderThan(ctx, minIdle)
	if rep == nil {
		return knm.RecoverSummary{}, err
	}
	return knm.RecoverSummary{Examined: rep.Examined + rep.Routed + rep.RoutingPending,
		Settled: rep.Imported + rep.Partial + rep.Routed, Failed: rep.Failed,
		Unsettled: len(rep.Unsettled) + rep.Awaiting}, err
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
	c.log.Info("knm_voxbone: recovering order", "order", o.OrderID, "state", o.state())
	switch st := o.state(); {
	case st.BeforeCheckout():
		if err := c.removeCarts(ctx, o, true); err != nil {
			return st, err
		}
		if o.Error == "" {
			o.Error = "abandoned in state " + string(st) + " before checkout; cart deleted by recover"
		}
		if err := c.advance(ctx, o, StateFailed); err != nil {
			return st, err
		}
	case st == StateCheckoutSent:
		_, err := c.settleCheckout(ctx, o, errors.New("checkout interrupted (found by recover)"), true)
		if !o.state().Final() && o.state() != StateAwaitingDelivery {
			return o.state(), errors.Join(err, errors.New("not settled"))
		}
	default: // checked_out, awaiting_delivery
		_, err := c.finish(ctx, o)
		if o.state().Final() || o.state() == StateAwaitingDelivery {
			return o.state(), nil // a shortfall is reported by the state
		}
		if err != nil {
			return o.state(), err
		}
		return o.state(), errors.New("not settled: " + o.Error)
	}
	return o.state(), nil
}

// LateDeliveryHorizon is how long after its checkout a partial order is still looked at by
// Recover for DIDs Voxbone delivers late: they are billed, so they must reach knm. An older
// one gets no request; reconcile --import still brings its late DIDs in.
const LateDeliveryHorizon = 30 * 24 * time.Hour

// LateDeliveryBatch is how many partial orders one Recover run looks at, at most: those
// looked at least recently first, so successive runs go round all of them.
const LateDeliveryBatch = 50

// Intervals between two looks at one partial order, by the time since its checkout: late
// deliveries come mostly soon after the checkout, so young orders are looked at more often.
const (
	LateIntervalFirstDay  = time.Hour     // checked out less than a day ago
	LateIntervalFirstWeek = 6 * time.Hour // less than a week ago
	LateIntervalLater     = 24 * time.Hour
)

// lateDeliveryInterval is how long after its last look a partial order checked out since
// ago is due for another.
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

// recoverLate looks at up to lateBatch due partial orders for DIDs Voxbone delivered late
// and imports them through their order, as reconcile --import does; an order whose count is
// complete becomes imported. Orders in skip (settled by this run) or written less than age
// ago wait for a later run; a failed look is listed in Unsettled.
func (c *Carrier) recoverLate(ctx context.Context, age time.Duration, skip, live map[string]bool,
	rep *RecoverReport) error {
	due, err := c.dueLate(ctx, age, skip)
	if err != nil {
		return err
	}
	for _, o := range due[:min(len(due), c.lateBatch)] {
		if ctx.Err() != nil {
			break
		}
		e, ok, err := c.claim(ctx, o.entry, live)
		if !ok {
			continue
		}
		rep.LateChecked++
		if err != nil {
			rep.Unsettled = append(rep.Unsettled, fmt.Sprintf("%s: looking for late DIDs: %v", o.OrderID, err))
			continue
		}
		o.entry = e
		c.lookLate(ctx, o, rep)
	}
	return nil
}

// lookLate imports the DIDs Voxbone delivered late for partial order o, recording when it
// looked.
func (c *Carrier) lookLate(ctx context.Context, o *order, rep *RecoverReport) {
	had := slices.Clone(o.Imported)
	at := c.now()
	o.LateCheckedAt = &at
	read := o.entry
	_, err := c.finish(ctx, o)
	if o.entry == read { // finish's write lost the revision race, or failed
		c.markLateChecked(ctx, o.OrderID, at)
	}
	late := slices.DeleteFunc(slices.Clone(o.Imported), func(n string) bool { return slices.Contains(had, n) })
	rep.LateImported += len(late)
	if o.state() == StateImported {
		rep.LateCompleted++
	}
	if len(late) > 0 {
		c.log.Info("knm_voxbone: late DIDs of a partial order imported", "order", o.OrderID,
			"numbers", late, "state", o.state())
	}
	if err != nil && !knm.IsErrorName(err, knm.ErrUnavailable) { // unavailable: still short
		rep.Unsettled = append(rep.Unsettled, fmt.Sprintf("%s: looking for late DIDs: %v", o.OrderID, err))
	}
}

// dueLate returns the partial orders due for a look at late DIDs, least recently looked at
// first (never looked at before all, oldest first).
func (c *Carrier) dueLate(ctx context.Context, age time.Duration, skip map[string]bool) ([]*order, error) {
	if c.lateBatch <= 0 || c.lateHorizon <= 0 {
		return nil, nil
	}
	es, err := c.store.FindJournals(ctx, knm.JournalFilter{Carrier: ModuleName, States: []string{string(StatePartial)}})
	if err != nil {
		return nil, err
	}
	now := c.now()
	since, cutoff := now.Add(-c.lateHorizon), now.Add(-age)
	var due []*order
	for _, e := range es {
		// A row not written since the horizon began was checked out before it: it is left
		// without decoding its payload.
		if skip[e.ID] || isCancelRow(e) || (age > 0 && e.Updated.After(cutoff)) || e.Updated.Before(since) {
			continue
		}
		o, err := decodeOrder(e)
		if err != nil {
			c.log.Warn("knm_voxbone: partial order not looked at for late DIDs", "order", e.ID, "error", err)
			continue
		}
		if o.Duplicate || len(o.OrderReferences) == 0 || c.checkAccount(o) != nil || o.checkoutTime().Before(since) {
			continue
		}
		if o.LateCheckedAt != nil && now.Sub(*o.LateCheckedAt) < c.lateInterval(now.Sub(o.checkoutTime())) {
			continue // looked at recently enough
		}
		due = append(due, o)
	}
	slices.SortStableFunc(due, func(a, b *order) int { return lateCheckedAt(a).Compare(lateCheckedAt(b)) })
	return due, nil
}

// markLateChecked records at as the order's LateCheckedAt when finish could not write it
// (another writer moved the row meanwhile): the row is read again and, still partial and not
// looked at since, written once more. Losing that race too only costs a later look.
func (c *Carrier) markLateChecked(ctx context.Context, id string, at time.Time) {
	e, err := c.store.GetJournal(ctx, id)
	if err != nil {
		c.log.Warn("knm_voxbone: late_checked_at not recorded", "order", id, "error", err)
		return
	}
	o, err := decodeOrder(e)
	if err != nil || o.state() != StatePartial || !lateCheckedAt(o).Before(at) {
		return
	}
	o.LateCheckedAt = &at
	if err := c.advance(ctx, o, StatePartial); err != nil {
		c.log.Warn("knm_voxbone: late_checked_at not recorded", "order", id, "error", err)
	}
}

// lateCheckedAt is when Recover last looked at the order for late DIDs (zero: never).
func lateCheckedAt(o *order) time.Time {
	if o.LateCheckedAt == nil {
		return time.Time{}
	}
	return *o.LateCheckedAt
}
