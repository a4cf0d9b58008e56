package knmvoxbone

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

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
	// Imported is how many unknown DIDs were stored (importMissing only).
	Imported int `json:"imported"`
	// Conflicts are unknown DIDs that knm stores under another module (never overwritten).
	Conflicts []string `json:"conflicts,omitempty"`
	// InOrders are unknown DIDs of orders the journal has not finished: Recover imports
	// them (for the account an order was for), so they are never imported here.
	InOrders []DIDSummary `json:"in_orders,omitempty"`
	// Invalid are DIDs whose e164 is not a usable number (never imported).
	Invalid []string `json:"invalid,omitempty"`
	// LateDeliveries are unknown DIDs of orders the journal has finished (imported or
	// partial): Voxbone delivered them after the order stopped waiting. With importMissing
	// their order imports them (Imported counts them); otherwise they are also listed in
	// UnknownToKnm. (Recover imports those of partial orders younger than
	// LateDeliveryHorizon by itself, a batch per run.)
	LateDeliveries []DIDSummary `json:"late_deliveries,omitempty"`
	// OrderConflicts are DIDs bought by knm's orders that knm stores otherwise (another
	// module, or another account than the order's assign_to): never moved.
	OrderConflicts []string `json:"order_conflicts,omitempty"`
}

// accountDIDs lists every DID of the account (all pages), keyed by E.164 with "+", and
// describes those whose e164 is not a usable number.
func (c *Carrier) accountDIDs(ctx context.Context) (map[string]voxbone.DID, []string, error) {
	dids, err := c.client.ListAllDIDs(ctx, voxbone.ListDIDsOptions{ListOptions: voxbone.ListOptions{PageSize: c.settings.PageSize}})
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

// journalOrders returns the journal's orders (of this account) by Voxbone order reference:
// the references each recorded, and for orders whose checkout answer is unknown, those
// Voxbone lists under the order id as customerReference. It also returns every order
// with conflicts.
func (c *Carrier) journalOrders(ctx context.Context) (byRef map[string]*order, conflicted []*order, err error) {
	es, err := c.store.FindJournals(ctx, knm.JournalFilter{Carrier: ModuleName})
	if err != nil {
		return nil, nil, err
	}
	byRef = map[string]*order{}
	for _, e := range es {
		if isCancelRow(e) {
			continue
		}
		o, err := decodeOrder(e)
		if err != nil {
			return nil, nil, err
		}
		if o.p.bookkeeping() || c.checkAccount(o) != nil {
			continue
		}
		if len(o.p.Conflicts) > 0 {
			conflicted = append(conflicted, o)
		}
		for _, r := range o.p.OrderReferences {
			byRef[r] = o
		}
		if o.state() != StateCheckoutSent || len(o.p.OrderReferences) > 0 {
			continue
		}
		orders, err := c.client.ListAllOrders(ctx, voxbone.ListOrdersOptions{CustomerReference: o.p.OrderID})
		if err != nil {
			return nil, nil, carrierError("voxbone: list orders of "+o.p.OrderID, err)
		}
		for _, vo := range orders {
			if vo.CustomerReference == o.p.OrderID && vo.Reference != "" {
				byRef[vo.Reference] = o
			}
		}
	}
	return byRef, conflicted, nil
}

// Reconcile lists every DID of the Voxbone account and compares it with the database's
// knm_voxbone numbers (any state). DIDs unknown to knm are matched to the journal's orders
// by their order reference:
//   - a DID of an order not finished yet is Recover's to import (InOrders);
//   - a DID of a finished order (imported or partial: Voxbone delivered it late, after
//     the delivery deadline, say) is listed in LateDeliveries and UnknownToKnm; with
//     importMissing it is imported by the order itself, as Recover would have (in service
//     for the order's assign_to account), and a partial order it completes becomes
//     imported (Recover does the same by itself for partial orders younger than
//     LateDeliveryHorizon);
//     Only DIDs the order never imported are imported: one it imported before that knm no
//     longer stores (deleted or released since) is settled and only listed in
//     UnknownToKnm, and a DID knm journalled a cancel of (sent or done) is not imported
//     (see importDIDs);
//   - any other is listed in UnknownToKnm, and with importMissing stored available and
//     unassigned, with the DID as carrier data.
func (c *Carrier) Reconcile(ctx context.Context, importMissing bool) (*ReconcileReport, error) {
	dids, bad, err := c.accountDIDs(ctx)
	if err != nil {
		return nil, err
	}
	byRef, conflicted, err := c.journalOrders(ctx)
	if err != nil {
		return nil, err
	}
	known, err := c.store.FindNumbers(ctx, knm.NumberFilter{Module: ModuleName})
	if err != nil {
		return nil, err
	}
	rep := &ReconcileReport{UnknownToKnm: []DIDSummary{}, MissingAtVoxbone: []string{}, Invalid: bad}
	for _, o := range conflicted {
		for _, cf := range o.p.Conflicts {
			rep.OrderConflicts = append(rep.OrderConflicts, "order "+o.p.OrderID+": "+cf)
		}
	}
	inKnm := make(map[string]bool, len(known))
	for _, n := range known {
		inKnm[n.Number] = true
		if _, ok := dids[n.Number]; !ok {
			rep.MissingAtVoxbone = append(rep.MissingAtVoxbone, n.Number)
		}
	}
	var (
		missing []*knm.Number
		late    = map[string][]DIDSummary{} // order id -> its late DIDs
		lateOf  = map[string]*order{}
	)
	for num, d := range dids {
		if inKnm[num] {
			continue
		}
		s := DIDSummary{DIDID: d.DIDID, E164: num, DIDGroupID: d.DIDGroupID, Type: d.Type,
			CountryCodeA3: d.CountryCodeA3, AreaCode: d.AreaCode}
		if d.OrderReference != nil {
			s.OrderReference = *d.OrderReference
		}
		if o := byRef[s.OrderReference]; o != nil && s.OrderReference != "" {
			s.Order = o.p.OrderID
			if !o.state().Final() {
				rep.InOrders = append(rep.InOrders, s) // Recover's to import
				continue
			}
			if o.state() != StateFailed && slices.Contains(o.p.Imported, num) {
				// The order imported it once and it was removed from knm since (deleted or
				// released on purpose): settled, never imported again; listed only.
				rep.UnknownToKnm = append(rep.UnknownToKnm, s)
				continue
			}
			if o.state() != StateFailed {
				late[o.p.OrderID] = append(late[o.p.OrderID], s)
				lateOf[o.p.OrderID] = o
				rep.LateDeliveries = append(rep.LateDeliveries, s)
				if importMissing {
					continue // imported by its order below
				}
				rep.UnknownToKnm = append(rep.UnknownToKnm, s)
				continue
			}
		}
		rep.UnknownToKnm = append(rep.UnknownToKnm, s)
		n, _ := c.didNumber(d, "")
		missing = append(missing, n)
	}
	if importMissing {
		ids := slices.Sorted(maps.Keys(late))
		var errs []error
		for _, id := range ids {
			o := lateOf[id]
			_, ferr := c.finish(ctx, o)
			done := map[string]bool{}
			for _, n := range o.p.Imported {
				done[n] = true
			}
			for _, s := range late[id] {
				if done[s.E164] {
					rep.Imported++
				} else {
					rep.UnknownToKnm = append(rep.UnknownToKnm, s)
				}
			}
			if ferr != nil && !knm.IsErrorName(ferr, knm.ErrUnavailable) { // unavailable: still short (partial)
				errs = append(errs, ferr)
			}
		}
		if err := errors.Join(errs...); err != nil {
			sortSummaries(rep.UnknownToKnm)
			sortSummaries(rep.InOrders)
			sortSummaries(rep.LateDeliveries)
			return rep, err
		}
	}
	sortSummaries(rep.UnknownToKnm)
	sortSummaries(rep.InOrders)
	sortSummaries(rep.LateDeliveries)
	if importMissing && len(missing) > 0 {
		skipped, err := c.store.ImportNumbers(ctx, missing)
		if err != nil {
			return rep, err
		}
		rep.Imported += len(missing) - len(skipped)
		rep.Conflicts = skipped
	}
	return rep, nil
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

// cartDateLayout is the format of a cart's dateAdded, rendered in UTC.
const cartDateLayout = "2006-01-02 15:04:05"

// PurgeCarts deletes knm's own abandoned carts and returns their ids: carts whose
// customerReference starts with OrderPrefix, older than cart_ttl_minutes, whose order was
// never checked out (its journal row is before checkout_sent, failed, or missing). Other
// carts (other tools', or knm carts of orders still in flight or checked out) are never
// touched. With dryRun nothing is deleted; the ids are those that would be.
func (c *Carrier) PurgeCarts(ctx context.Context, dryRun bool) ([]int, error) {
	carts, err := c.client.ListAllCarts(ctx, voxbone.ListCartsOptions{ListOptions: voxbone.ListOptions{PageSize: c.settings.PageSize}})
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
