package knmvoxbone

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/voxbone"
)

// DIDSummary is the short form of a Voxbone DID in reports.
type DIDSummary struct {
	DIDID          int    `json:"did_id"`
	E164           string `json:"e164"`
	DIDGroupID     int    `json:"did_group_id"`
	Type           string `json:"type"`
	CountryCodeA3  string `json:"country_code_a3"`
	AreaCode       string `json:"area_code"`
	OrderReference string `json:"order_reference,omitempty"`
	// Order is the knm order the DID was bought by, when the journal has it.
	Order string `json:"order,omitempty"`
}

// ReconcileReport compares the Voxbone account with knm's knm_voxbone numbers.
type ReconcileReport struct {
	// UnknownToKnm are DIDs of the account that knm has no knm_voxbone number for.
	UnknownToKnm []DIDSummary `json:"unknown_to_knm"`
	// MissingAtVoxbone are knm_voxbone numbers the account no longer has.
	MissingAtVoxbone []string `json:"missing_at_voxbone"`
	// MissingSettled are the numbers of MissingAtVoxbone that knm holds released or deleted
	// (as --fix leaves them): out of the pool already, nothing left to do.
	MissingSettled []string `json:"missing_settled,omitempty"`
	// Imported is how many unknown DIDs were stored (importMissing only).
	Imported int `json:"imported"`
	// Conflicts are unknown DIDs that knm stores under another module (never overwritten).
	Conflicts []string `json:"conflicts,omitempty"`
	// InOrders are unknown DIDs of orders the journal has not finished: Recover imports
	// them (for the account an order was for), so they are never imported here.
	InOrders []DIDSummary `json:"in_orders,omitempty"`
	// Invalid are DIDs whose e164 is not a usable number (never imported).
	Invalid []string `json:"invalid,omitempty"`
	// LateDeliveries are unknown DIDs of finished orders, delivered after the order stopped
	// waiting. With importMissing their order imports them (Imported counts them);
	// otherwise they are also listed in UnknownToKnm.
	LateDeliveries []DIDSummary `json:"late_deliveries,omitempty"`
	// OrderConflicts are DIDs bought by knm's orders that knm stores otherwise (another
	// module, or another account than the order's assign_to): never moved.
	OrderConflicts []string `json:"order_conflicts,omitempty"`
	// RemovedFromKnm are unknown DIDs that a finished order imported and that were deleted
	// from knm since: taken as deliberate, so never imported again (also in UnknownToKnm).
	RemovedFromKnm []DIDSummary `json:"removed_from_knm,omitempty"`
}

// accountDIDs lists every DID of the account (all pages), keyed by E.164 with "+", and
// describes those whose e164 is not a usable number.
func (c *Carrier) accountDIDs(ctx context.Context) (map[string]voxbone.DID, []string, error) {
	dids, err := c.client.ListAllDIDs(ctx, voxbone.ListDIDsOptions{
		ListOptions: voxbone.ListOptions{PageSize: c.settings.PageSize}})
	if err != nil {
		return nil, nil, carrierError("voxbone: list DIDs", err)
	}
	out := make(map[string]voxbone.DID, len(dids))
	var bad []string
	for _, d := range dids {
		num, ok := didE164(d.E164)
		if !ok {
			bad = append(bad, fmt.Sprintf("didId %d: e164 %q", d.DIDID, d.E164))
			continue
		}
		out[num] = d
	}
	return out, bad, nil
}

// ordersByReference returns the orders of the carrier's account by Voxbone order
// reference: those each recorded and, for an order whose checkout answer is unknown, those
// Voxbone lists under the order id as customerReference. It also returns every order.
func (c *Carrier) ordersByReference(ctx context.Context) (map[string]*order, []*order, error) {
	all, err := c.journalOrders(ctx)
	if err != nil {
		return nil, nil, err
	}
	all = slices.DeleteFunc(all, func(o *order) bool { return c.checkAccount(o) != nil })
	byRef := map[string]*order{}
	for _, o := range all {
		refs := o.OrderReferences
		if o.state() == StateCheckoutSent && len(refs) == 0 {
			if refs, err = c.placedOrders(ctx, o.OrderID); err != nil {
				return nil, nil, carrierError("voxbone: list orders of "+o.OrderID, err)
			}
		}
		for _, r := range refs {
			byRef[r] = o
		}
	}
	return byRef, all, nil
}

// Reconcile compares every DID of the Voxbone account with knm's knm_voxbone numbers. A DID
// unknown to knm is left to Recover when its order is unfinished, imported through its
// order when it is a late delivery, and otherwise stored available; the last two only with
// importMissing.
func (c *Carrier) Reconcile(ctx context.Context, importMissing bool) (*ReconcileReport, error) {
	dids, bad, err := c.accountDIDs(ctx)
	if err != nil {
		return nil, err
	}
	byRef, orders, err := c.ordersByReference(ctx)
	if err != nil {
		return nil, err
	}
	known, err := c.store.FindNumbers(ctx, knm.NumberFilter{Module: ModuleName})
	if err != nil {
		return nil, err
	}
	rep := &ReconcileReport{UnknownToKnm: []DIDSummary{}, MissingAtVoxbone: []string{}, Invalid: bad}
	for _, o := range orders {
		for _, cf := range o.Conflicts {
			rep.OrderConflicts = append(rep.OrderConflicts, "order "+o.OrderID+": "+cf.String())
		}
	}
	inKnm := make(map[string]bool, len(known))
	for _, n := range known {
		inKnm[n.Number] = true
		if _, ok := dids[n.Number]; !ok {
			rep.MissingAtVoxbone = append(rep.MissingAtVoxbone, n.Number)
			if n.State == knm.StateReleased || n.State == knm.StateDeleted {
				rep.MissingSettled = append(rep.MissingSettled, n.Number)
			}
		}
	}
	var missing []*knm.Number
	late := map[string]*lateDIDs{}
	for num, d := range dids {
		if !inKnm[num] && c.sortUnknown(rep, late, byRef, num, d, importMissing) {
			n, _ := didNumber(d, "")
			missing = append(missing, n)
		}
	}
	if importMissing {
		err = c.importLate(ctx, rep, late)
	}
	sortSummaries(rep.UnknownToKnm)
	sortSummaries(rep.InOrders)
	sortSummaries(rep.LateDeliveries)
	sortSummaries(rep.RemovedFromKnm)
	if err != nil || !importMissing || len(missing) == 0 {
		return rep, err
	}
	skipped, err := c.store.ImportNumbers(ctx, missing)
	if err != nil {
		return rep, err
	}
	rep.Imported += len(missing) - len(skipped)
	rep.Conflicts = skipped
	return rep, nil
}

// lateDIDs are the DIDs of a finished order that Voxbone delivered late.
type lateDIDs struct {
	order *order
	dids  []DIDSummary
}

// sortUnknown files DID d (number num), unknown to knm, in the report, or in late when it
// is a late delivery of one of the account's orders. It reports whether d belongs to no
// order, to be imported on its own.
func (c *Carrier) sortUnknown(rep *ReconcileReport, late map[string]*lateDIDs, byRef map[string]*order,
	num string, d voxbone.DID, importMissing bool) bool {
	s := DIDSummary{DIDID: d.DIDID, E164: num, DIDGroupID: d.DIDGroupID, Type: d.Type,
		CountryCodeA3: d.CountryCodeA3, AreaCode: d.AreaCode}
	if d.OrderReference != nil {
		s.OrderReference = *d.OrderReference
	}
	o := byRef[s.OrderReference]
	if o != nil && s.OrderReference != "" {
		s.Order = o.OrderID
	}
	if s.Order == "" || o.state() == StateFailed { // a failed order bought nothing it knows of
		rep.UnknownToKnm = append(rep.UnknownToKnm, s)
		return true
	}
	switch {
	case !o.state().Final():
		rep.InOrders = append(rep.InOrders, s) // Recover's to import
	case slices.Contains(o.Imported, num):
		// Imported once and removed from knm since, on purpose: settled, only listed.
		rep.UnknownToKnm = append(rep.UnknownToKnm, s)
		rep.RemovedFromKnm = append(rep.RemovedFromKnm, s)
	default:
		if late[o.OrderID] == nil {
			late[o.OrderID] = &lateDIDs{order: o}
		}
		late[o.OrderID].dids = append(late[o.OrderID].dids, s)
		rep.LateDeliveries = append(rep.LateDeliveries, s)
		if !importMissing {
			rep.UnknownToKnm = append(rep.UnknownToKnm, s)
		}
	}
	return false
}

// importLate imports late deliveries through their orders, as Recover would (in service for
// an order's assign_to account); a partial order they complete becomes imported.
func (c *Carrier) importLate(ctx context.Context, rep *ReconcileReport, late map[string]*lateDIDs) error {
	var errs []error
	live, err := c.liveInstances(ctx)
	if err != nil {
		return err
	}
	for _, id := range slices.Sorted(maps.Keys(late)) {
		l := late[id]
		e, ok, err := c.claim(ctx, l.order.entry, live)
		if err == nil && !ok {
			err = knm.Errorf(knm.ErrConflict, "order %s is being worked on by instance %s", id, l.order.entry.Owner)
		}
		if err == nil {
			l.order.entry = e
			_, err = c.finish(ctx, l.order)
		}
		for _, s := range l.dids {
			if slices.Contains(l.order.Imported, s.E164) {
				rep.Imported++
			} else {
				rep.UnknownToKnm = append(rep.UnknownToKnm, s)
			}
		}
		if err != nil && !knm.IsErrorName(err, knm.ErrUnavailable) { // unavailable: still short
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func sortSummaries(s []DIDSummary) {
	slices.SortFunc(s, func(a, b DIDSummary) int { return strings.Compare(a.E164, b.E164) })
}

// Number statuses of CheckNumbers.
const (
	CheckActive  = "active"
	CheckMissing = "missing"
)

// CheckNumbers returns "active" for each number the Voxbone account has and "missing" for
// the others, from one listing of the account's DIDs.
func (c *Carrier) CheckNumbers(ctx context.Context, numbers []string) (map[string]string, error) {
	dids, _, err := c.accountDIDs(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(numbers))
	for _, n := range numbers {
		key := n
		if !strings.HasPrefix(key, "+") {
			key = "+" + key
		}
		if _, ok := dids[key]; ok {
			out[n] = CheckActive
		} else {
			out[n] = CheckMissing
		}
	}
	return out, nil
}

// MarkMissing takes the numbers a reconcile found missing at Voxbone out of the pool that
// searches offer first: each one still knm_voxbone, available and unassigned is set to
// released, so it is never sold again. Others (assigned to an account, in another state
// or module, or gone) are left alone and returned in left with the reason.
func (c *Carrier) MarkMissing(ctx context.Context, numbers []string) (marked, left []string, err error) {
	for _, num := range numbers {
		n, err := c.store.GetNumber(ctx, num)
		if knm.IsErrorName(err, knm.ErrNotFound) {
			left = append(left, num+": no longer in knm")
			continue
		} else if err != nil {
			return marked, left, err
		}
		switch {
		case n.ModuleName != ModuleName:
			left = append(left, num+": now under "+n.ModuleName)
		case n.AssignedTo != "":
			left = append(left, fmt.Sprintf("%s: %s for account %s (check it with Voxbone)", num, n.State,
				n.AssignedTo))
		case n.State != knm.StateAvailable:
			left = append(left, fmt.Sprintf("%s: %s, not in the pool", num, n.State))
		default:
			n.State = knm.StateReleased
			if err := c.store.UpdateNumber(ctx, n); err != nil {
				return marked, left, fmt.Errorf("voxbone: mark %s released: %w", num, err)
			}
			marked = append(marked, num)
		}
	}
	return marked, left, nil
}
