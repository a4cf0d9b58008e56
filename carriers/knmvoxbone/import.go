package knmvoxbone

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/voxbone"
)

// importDIDs stores the DIDs an order bought, in one transaction, as knm_voxbone numbers
// with the DID as carrier data: available, or in_service for the order's assign_to account.
// A DID knm stores otherwise already is a Conflict of the order, never overwritten; a final
// order imports only DIDs it never imported and knm never cancelled.
func (c *Carrier) importDIDs(ctx context.Context, o *order, dids []voxbone.DID) ([]knm.SearchRow, error) {
	ns, errs := c.newNumbers(ctx, o, dids)
	if len(ns) == 0 {
		return nil, errors.Join(errs...)
	}
	skipped, err := c.store.ImportNumbers(ctx, ns)
	if err != nil {
		return nil, errors.Join(append(errs, fmt.Errorf("store DIDs of order %s: %w", o.OrderID, err))...)
	}
	var rows []knm.SearchRow
	skip, conflict := map[string]bool{}, map[string]bool{}
	for _, num := range skipped {
		skip[num] = true
		r, inConflict, err := c.resolveStored(ctx, o, num)
		if err != nil {
			errs = append(errs, err)
		}
		if r != nil {
			rows = append(rows, *r)
		}
		if inConflict {
			conflict[num] = true
		}
	}
	if len(conflict) > 0 {
		// A number imported by an earlier run may have been taken since.
		o.Imported = slices.DeleteFunc(o.Imported, func(n string) bool { return conflict[n] })
		c.log.Warn("knm_voxbone: bought DIDs stored otherwise in knm; not moved", "order", o.OrderID,
			"conflicts", o.Conflicts)
	}
	for _, n := range ns {
		if !skip[n.Number] && n.State == knm.StateAvailable {
			rows = append(rows, row(n))
		}
		if conflict[n.Number] {
			continue
		}
		if !slices.Contains(o.Imported, n.Number) {
			o.Imported = append(o.Imported, n.Number)
		}
		// A conflict of an earlier run that is imported now (its holder let the number go)
		// counts once: imported, no longer in conflict.
		o.dropConflict(n.Number)
	}
	return rows, errors.Join(errs...)
}

// newNumbers turns the order's DIDs into the numbers to import: each number once, not one
// a final order settled before, and not one with an unusable e164 (recorded in BadDIDs).
func (c *Carrier) newNumbers(ctx context.Context, o *order, dids []voxbone.DID) ([]*knm.Number, []error) {
	var (
		ns   []*knm.Number
		errs []error
		seen = map[string]bool{}
	)
	for _, d := range dids {
		n, ok := didNumber(d, o.AssignTo)
		if !ok {
			bad := fmt.Sprintf("didId %d: e164 %q", d.DIDID, d.E164)
			if !slices.Contains(o.BadDIDs, bad) {
				c.log.Warn("knm_voxbone: bought DID has no usable number; not imported", "order", o.OrderID,
					"did_id", d.DIDID, "e164", d.E164)
				o.BadDIDs = append(o.BadDIDs, bad)
			}
			continue
		}
		if seen[n.Number] {
			continue
		}
		if o.state().Final() {
			if slices.Contains(o.Imported, n.Number) {
				continue // settled: deleted, released or reassigned since on purpose
			}
			if gone, err := c.cancelledByKnm(ctx, d.DIDID); err != nil || gone {
				if err != nil {
					errs = append(errs, err)
				}
				continue
			}
		}
		seen[n.Number] = true
		ns = append(ns, n)
	}
	return ns, errs
}

// resolveStored decides a number of the order that the import found stored already. It
// returns the number's row when it is in the pool as a search's purchase (or held for one of
// the order's searching accounts), and whether it is
// a conflict of the order (recorded in Conflicts).
func (c *Carrier) resolveStored(ctx context.Context, o *order, num string) (*knm.SearchRow, bool, error) {
	cur, err := c.store.GetNumber(ctx, num)
	switch {
	case err != nil:
		return nil, false, err
	case cur.ModuleName != ModuleName:
		o.addConflict(num, "bought from voxbone but stored with module "+cur.ModuleName)
		return nil, true, nil
	case o.AssignTo == "":
		if cur.State == knm.StateAvailable && cur.AssignedTo == "" {
			r := row(cur)
			return &r, false, nil
		}
		if cur.State == knm.StateReserved && slices.ContainsFunc(o.Members, func(m orderMember) bool {
			return m.Account != "" && m.Account == cur.AssignedTo
		}) { // held for a searching account by an earlier attempt: distribute gives it to it
			r := row(cur)
			r.State = cur.State
			return &r, false, nil
		}
		return nil, false, nil
	case cur.AssignedTo == o.AssignTo:
		return nil, false, nil
	case cur.AssignedTo == "" && cur.State == knm.StateAvailable && o.state().Final():
		// A late DID of an order finished long ago: a number in the pool was put there on
		// purpose (an admin returned it), so it stays there.
		return nil, false, nil
	case cur.AssignedTo == "" && cur.State == knm.StateAvailable:
		// Stored in the pool (by reconcile --import, say) while the order was unfinished: it
		// was bought for the account, so it goes there.
		next := cur.Clone()
		next.State, next.AssignedTo = knm.StateInService, o.AssignTo
		if err := c.store.UpdateNumber(ctx, next); err != nil {
			return nil, false, fmt.Errorf("assign %s to %s: %w", num, o.AssignTo, err)
		}
		c.log.Info("knm_voxbone: number found in the pool assigned to the account it was bought for",
			"order", o.OrderID, "number", num, "account", o.AssignTo)
		return nil, false, nil
	default:
		o.addConflict(num, fmt.Sprintf("bought for account %s but stored %s for account %q",
			o.AssignTo, cur.State, cur.AssignedTo))
		return nil, true, nil
	}
}

// cancelledByKnm reports whether knm journalled a cancel of DID id that was sent (outcome
// unknown) or done: knm released the DID, so it must not be imported again.
func (c *Carrier) cancelledByKnm(ctx context.Context, id int) (bool, error) {
	if id <= 0 {
		return false, nil
	}
	e, err := c.store.GetJournal(ctx, cancelRowID(id))
	if knm.IsErrorName(err, knm.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("knm_voxbone: journal of cancels, DID %d: %w", id, err)
	}
	return e.Carrier == ModuleName && (e.State == cancelSent || e.State == cancelDone), nil
}

// didNumber is the knm number of a bought DID, or false when its e164 is not a usable E.164
// number.
func didNumber(d voxbone.DID, assignTo string) (*knm.Number, bool) {
	num, ok := didE164(d.E164)
	if !ok {
		return nil, false
	}
	n := &knm.Number{Number: num, State: knm.StateAvailable, CarrierData: d.Raw}
	n.SetModule(ModuleName)
	if assignTo != "" {
		n.State, n.AssignedTo = knm.StateInService, assignTo
	}
	return n, true
}

// didE164 returns a DID's e164 with a leading "+", or false unless it is 8 to 15 digits
// after an optional "+".
func didE164(s string) (string, bool) {
	d := strings.TrimPrefix(s, "+")
	if len(d) < 8 || len(d) > 15 {
		return "", false
	}
	for _, r := range d {
		if r < '0' || r > '9' {
			return "", false
		}
	}
	return "+" + d, true
}

// row is a stored number as a search returns it.
func row(n *knm.Number) knm.SearchRow {
	return knm.SearchRow{Number: n.Number, Module: ModuleName, State: knm.StateAvailable, CarrierData: n.CarrierData}
}
