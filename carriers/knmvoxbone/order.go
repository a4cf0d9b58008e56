package knmvoxbone

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/voxbone"
)

// groupQuery selects the DID groups an order may buy from.
type groupQuery struct {
	CountryA3 string
	DIDType   string // "" for any
	AreaCode  string // "" for any; may end in "*"
	GroupID   int    // non-zero: exactly this group
}

// catalogue is what a plan is made from: the balance and every matching DID group.
type catalogue struct {
	balance   *voxbone.AccountBalance
	groups    []voxbone.DIDGroup
	fetchedAt time.Time // when the listing started
}

// fetchCatalogue gets the balance and every page of matching DID groups in one round trip
// when the groups fit in one page (the first page tells how many pages follow; those are
// fetched in parallel).
func (c *Carrier) fetchCatalogue(ctx context.Context, q groupQuery) (*catalogue, error) {
	var (
		wg     sync.WaitGroup
		cat    = catalogue{fetchedAt: time.Now()}
		balErr error
	)
	wg.Go(func() { cat.balance, balErr = c.client.AccountBalance(ctx) })
	groups, err := c.allGroups(ctx, q)
	wg.Wait()
	if err = errors.Join(balErr, err); err != nil {
		return nil, carrierError("voxbone inventory", err)
	}
	cat.groups = groups
	return &cat, nil
}

// maxGroupPages caps the pages of DID groups one listing fetches, whatever resultCount
// says; groupWorkers is how many of them are fetched at once.
const (
	maxGroupPages = 1000
	groupWorkers  = 4
)

// allGroups fetches every page of inventory/didgroup for q. resultCount is a hint only: it
// says how many pages to fetch in parallel (groupWorkers at a time, at most maxGroupPages),
// and the listing ends at the first empty or short page or error 13 (page past the end),
// whatever the count says; when the counted pages were all full, the following ones are
// fetched one by one until a short one.
func (c *Carrier) allGroups(ctx context.Context, q groupQuery) ([]voxbone.DIDGroup, error) {
	size := c.settings.PageSize
	opts := voxbone.ListDIDGroupsOptions{
		ListOptions:   voxbone.ListOptions{PageSize: size},
		CountryCodeA3: q.CountryA3, DIDType: q.DIDType, AreaCode: q.AreaCode,
		ShowEmpty: voxbone.Ptr(false),
	}
	if q.GroupID != 0 {
		opts.DIDGroupIDs = []int{q.GroupID}
	}
	first, total, err := c.client.ListDIDGroups(ctx, opts)
	if err != nil {
		return nil, err
	}
	if len(first) < size {
		return first, nil
	}
	hint := 2 // the first page was full: at least look at the next
	if total > size {
		hint = total / size // no overflow, whatever the count
		if total%size != 0 {
			hint++
		}
	}
	hint = min(max(hint, 2), maxGroupPages)
	pages := make([][]voxbone.DIDGroup, maxGroupPages)
	pages[0] = first
	fetch := func(p int) (full bool, err error) {
		o := opts
		o.PageNumber = p
		gs, _, err := c.client.ListDIDGroups(ctx, o)
		if voxbone.HasCode(err, 13) { // PAGINATION_OVERFLOW: past the end
			return false, nil
		}
		if err != nil {
			return false, err
		}
		pages[p] = gs
		return len(gs) >= size, nil
	}

	// Pages 1..hint-1 in parallel, groupWorkers at a time; none is started after a short one.
	var (
		mu    sync.Mutex
		next  = 1
		end   = hint // pages >= end are not fetched
		errs  []error
		wg    sync.WaitGroup
		short bool
	)
	for range min(groupWorkers, hint-1) {
		wg.Go(func() {
			for {
				mu.Lock()
				p := next
				if p >= end || len(errs) > 0 {
					mu.Unlock()
					return
				}
				next++
				mu.Unlock()
				full, err := fetch(p)
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				} else if !full {
					short = true
					end = min(end, p+1)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	// The count was too low: go on one page at a time.
	p := hint
	for ; !short && p < maxGroupPages; p++ {
		full, err := fetch(p)
		if err != nil {
			return nil, err
		}
		short = !full
	}
	if !short {
		return nil, fmt.Errorf("inventory/didgroup still returns full pages after %d pages", maxGroupPages)
	}
	var out []voxbone.DIDGroup
	for _, pg := range pages { // up to the first short page; later ones are past the end
		out = append(out, pg...)
		if len(pg) < size {
			break
		}
	}
	return out, nil
}

// planResult is a greedy plan and why it may fall short.
type planResult struct {
	lines   []PlanLine
	qty     int
	inStock int // DIDs in stock over all usable groups
	short   error
}

// makePlan fills want greedily over the groups in Voxbone's order, never taking more than a
// group's stock (no back-orders) and never spending more than budgetCents (< 0: no limit).
func makePlan(groups []voxbone.DIDGroup, want, budgetCents int) planResult {
	var r planResult
	seen := map[int]bool{}
	for _, g := range groups {
		if !g.Available || g.Stock <= 0 || seen[g.DIDGroupID] {
			continue
		}
		seen[g.DIDGroupID] = true
		r.inStock += g.Stock
		take := min(g.Stock, want-r.qty)
		unit := g.Setup100 + g.Monthly100
		if budgetCents >= 0 && unit > 0 {
			take = min(take, budgetCents/unit)
		}
		if take <= 0 {
			continue
		}
		if budgetCents >= 0 {
			budgetCents -= take * unit
		}
		line := PlanLine{GroupID: g.DIDGroupID, Quantity: take, UnitCents: unit, AreaCode: g.AreaCode}
		if g.CityName != nil {
			line.City = *g.CityName
		}
		r.lines = append(r.lines, line)
		r.qty += take
	}
	return r
}

// budgetCents is what one order may spend: the balance less takenCents (planned by other
// orders in progress), capped by max_order_cost.
func (c *Carrier) budgetCents(bal *voxbone.AccountBalance, takenCents int) int {
	b := int(math.Floor(bal.Balance*100+1e-6)) - takenCents
	if c.settings.MaxOrderCost > 0 {
		b = min(b, int(math.Floor(c.settings.MaxOrderCost*100+1e-6)))
	}
	return max(b, 0)
}

// plan makes the plan for want DIDs and explains a shortfall. The stock other orders of
// this Carrier (and of the carriers sharing its Reservations) are buying right now is taken off the listed stock first: Voxbone lowers a
// group's stock only at checkout, and concurrent searches would otherwise all plan on the
// same DIDs and end in back-orders. The plan's quantities stay reserved until release.
func (c *Carrier) plan(cat *catalogue, want int) planResult {
	res := c.reservations
	res.mu.Lock()
	defer res.mu.Unlock()
	groups := slices.Clone(cat.groups)
	recent := res.consumed[:0]
	for _, b := range res.consumed {
		if time.Since(b.at) < time.Minute {
			recent = append(recent, b)
		}
	}
	res.consumed = recent
	for i := range groups {
		id := groups[i].DIDGroupID
		groups[i].Stock -= res.inflight[id]
		for _, b := range res.consumed {
			if b.group == id && !b.at.Before(cat.fetchedAt) {
				groups[i].Stock -= b.qty // bought after the listing was taken
			}
		}
	}
	// Money is reserved like stock: the balance was listed before the checkouts of other
	// orders planned here, which it does not show yet (an auto-refill account does not
	// stop them at checkout either).
	taken := res.reservedCents
	for _, b := range res.consumed {
		if !b.at.Before(cat.fetchedAt) {
			taken += b.cents // debited after the balance was read
		}
	}
	r := makePlan(groups, want, c.budgetCents(cat.balance, taken))
	for _, l := range r.lines {
		res.inflight[l.GroupID] += l.Quantity
		res.reservedCents += l.Quantity * l.UnitCents
	}
	switch {
	case r.qty >= want:
	case r.inStock < want:
		r.short = knm.Errorf(knm.ErrUnavailable, "insufficient inventory: wanted %d, %d in stock", want, r.inStock)
	default:
		limit := fmt.Sprintf("balance %.2f %s", cat.balance.Balance, cat.balance.Currency)
		if taken > 0 {
			limit += fmt.Sprintf(", %.2f of it planned by orders in progress", float64(taken)/100)
		}
		if c.settings.MaxOrderCost > 0 {
			limit += fmt.Sprintf(", max_order_cost %.2f", c.settings.MaxOrderCost)
		}
		r.short = knm.Errorf(knm.ErrNotEnoughCredit, "not enough credit: wanted %d, can afford %d (%s)", want, r.qty, limit)
	}
	return r
}

// releaseOrder gives back the stock the order's plan reserved, once. After a checkout
// (bought true) the quantities are remembered as consumed for a minute, so that a listing
// taken before the checkout is not trusted for them.
func (c *Carrier) releaseOrder(o *order, bought bool) {
	if !o.reserved {
		return
	}
	o.reserved = false
	c.release(o.p.Plan)
	if bought {
		res := c.reservations
		res.mu.Lock()
		now := time.Now()
		for _, l := range o.p.Plan {
			res.consumed = append(res.consumed, consumption{group: l.GroupID, qty: l.Quantity, cents: l.Quantity * l.UnitCents, at: now})
		}
		res.mu.Unlock()
	}
}

// Reservations are the stock and money planned by orders not checked out yet, and the
// recent checkouts, that a plan takes off the listed stock and balance (Voxbone lowers them
// only at checkout). Carriers of one account that share one Reservations (a carrier rebuilt
// after a settings change and the old one finishing its orders) never plan the same stock
// or money twice. It is safe for concurrent use.
type Reservations struct {
	mu            sync.Mutex
	inflight      map[int]int   // DID group id -> DIDs planned by orders not yet checked out
	reservedCents int           // cost of the plans of orders not yet checked out
	consumed      []consumption // recent checkouts, for listings taken before them
}

// NewReservations returns empty reservations.
func NewReservations() *Reservations { return &Reservations{inflight: map[int]int{}} }

// consumption is stock a checkout of this Carrier took.
type consumption struct {
	group, qty, cents int
	at                time.Time
}

// release gives back the stock and money reserved by plan.
func (c *Carrier) release(lines []PlanLine) {
	res := c.reservations
	res.mu.Lock()
	defer res.mu.Unlock()
	for _, l := range lines {
		res.reservedCents = max(res.reservedCents-l.Quantity*l.UnitCents, 0)
		if res.inflight[l.GroupID] -= l.Quantity; res.inflight[l.GroupID] <= 0 {
			delete(res.inflight, l.GroupID)
		}
	}
}

// orderOutcome is what executing an order brought into knm.
type orderOutcome struct {
	rows []knm.SearchRow // numbers stored available and unassigned by this order
}

// execute runs a prepared order (planned, cart created) to a final state (or as far as it can,
// leaving the row for Recover). Before checkout every failure deletes the cart and marks
// the order failed; from checkout on the work is detached from ctx (money may be spent)
// and any checkout error is settled by looking the order up, never by buying again.
func (c *Carrier) execute(ctx context.Context, o *order) (*orderOutcome, error) {
	defer c.releaseOrder(o, false)
	if err := c.advance(ctx, o, StateCartCreated); err != nil {
		return nil, c.abort(ctx, o, err)
	}
	if err := c.addItems(ctx, o); err != nil {
		return nil, c.abort(ctx, o, err)
	}
	if err := c.advance(ctx, o, StateItemsAdded); err != nil {
		return nil, c.abort(ctx, o, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, c.abort(ctx, o, err) // the caller gave up: do not buy for nobody
	}
	at := c.now()
	o.p.CheckoutAt = &at
	if err := c.advance(ctx, o, StateCheckoutSent); err != nil {
		o.p.CheckoutAt = nil // not sent: the failed row must let a retry of its key buy
		return nil, c.abort(ctx, o, err)
	}

	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.settleTimeout)
	defer cancel()
	res, err := c.client.Checkout(sctx, o.p.CartID)
	c.releaseOrder(o, true) // conservatively, even if the checkout failed
	if err == nil {
		o.p.OrderReferences = didReferences(res)
	}
	if err != nil || len(o.p.OrderReferences) == 0 {
		if err == nil {
			err = fmt.Errorf("checkout of cart %d returned no DID order (status %q)", o.p.CartID, res.Status)
		}
		return c.settleCheckout(sctx, o, err, false)
	}
	if err := c.advance(sctx, o, StateCheckedOut); err != nil {
		// The row still says checkout_sent, which Recover settles the same way; importing
		// now is idempotent, so go on.
		c.log.Warn("knm_voxbone: journal write after checkout failed", "order", o.p.OrderID, "error", err)
	}
	return c.finish(sctx, o)
}

// addItems adds one line per planned group, all in parallel (the limiter keeps the rate).
func (c *Carrier) addItems(ctx context.Context, o *order) error {
	errs := make([]error, len(o.p.Plan))
	var wg sync.WaitGroup
	for i, l := range o.p.Plan {
		wg.Go(func() { errs[i] = c.client.AddDIDsToCart(ctx, o.p.CartID, l.GroupID, l.Quantity) })
	}
	wg.Wait()
	return errors.Join(errs...)
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

// abort undoes an order that cannot have bought anything: it deletes the order's cart(s)
// and marks the row failed. If the cart cannot be deleted, the row is left for Recover.
// It runs detached from ctx, which may be the reason for aborting.
func (c *Carrier) abort(ctx context.Context, o *order, cause error) error {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*c.settings.RequestTimeout)
	defer cancel()
	if err := c.removeCarts(dctx, o, o.p.CartID == 0); err != nil {
		c.log.Warn("knm_voxbone: cart cleanup failed; recover will retry", "order", o.p.OrderID, "error", err)
		return carrierError("voxbone order "+o.p.OrderID, cause)
	}
	o.p.Error = cause.Error()
	if err := c.advance(dctx, o, StateFailed); err != nil {
		c.log.Warn("knm_voxbone: journal write failed; recover will settle", "order", o.p.OrderID, "error", err)
	}
	return carrierError("voxbone order "+o.p.OrderID, cause)
}

// removeCarts deletes the order's cart: the recorded one, or, when byReference is set (the
// cart id may be unknown), every cart whose customerReference is the order id. A cart that
// is already gone is not an error. Deleting is the fence of settleCheckout: once the cart
// is gone no late checkout of it can succeed.
func (c *Carrier) removeCarts(ctx context.Context, o *order, byReference bool) error {
	ids := []int{}
	if o.p.CartID != 0 {
		ids = append(ids, o.p.CartID)
	}
	if byReference {
		carts, err := c.client.ListAllCarts(ctx, voxbone.ListCartsOptions{Reference: o.p.OrderID})
		if err != nil {
			return err
		}
		for _, ct := range carts {
			if ct.CustomerReference == o.p.OrderID && ct.CartIdentifier != o.p.CartID {
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
	return voxbone.HasCode(err, 400) || voxbone.IsNotFound(err)
}

// settleCheckout decides an order whose checkout outcome is unknown: first the fence (delete
// the cart, so no late checkout can still succeed), then the orders placed with the order
// id as customerReference. Found: the order goes on as checked out. None: nothing was
// bought. When the fence or the lookup fails the row stays checkout_sent for Recover.
// byReference also deletes any other cart carrying the order id (Recover's thoroughness).
func (c *Carrier) settleCheckout(ctx context.Context, o *order, cause error, byReference bool) (*orderOutcome, error) {
	if err := c.checkAccount(o); err != nil {
		return nil, err
	}
	if err := c.removeCarts(ctx, o, byReference || o.p.CartID == 0); err != nil {
		return nil, carrierError("voxbone order "+o.p.OrderID+": checkout outcome unknown, recover will settle it",
			errors.Join(cause, err))
	}
	orders, err := c.client.ListAllOrders(ctx, voxbone.ListOrdersOptions{CustomerReference: o.p.OrderID})
	if err != nil {
		return nil, carrierError("voxbone order "+o.p.OrderID+": checkout outcome unknown, recover will settle it",
			errors.Join(cause, err))
	}
	var refs []string
	for _, vo := range orders {
		if vo.CustomerReference == o.p.OrderID && vo.Reference != "" {
			refs = append(refs, vo.Reference)
		}
	}
	if len(refs) == 0 {
		o.p.Error = errCheckoutNotHappened + cause.Error()
		if err := c.advance(ctx, o, StateFailed); err != nil {
			c.log.Warn("knm_voxbone: journal write failed; recover will settle", "order", o.p.OrderID, "error", err)
		}
		return nil, carrierError("voxbone order "+o.p.OrderID, cause)
	}
	c.log.Info("knm_voxbone: checkout answer lost but the order exists; importing it", "order", o.p.OrderID, "references", refs)
	o.p.OrderReferences = refs
	if err := c.advance(ctx, o, StateCheckedOut); err != nil {
		c.log.Warn("knm_voxbone: journal write failed", "order", o.p.OrderID, "error", err)
	}
	return c.finish(ctx, o)
}

// finish imports the DIDs of a checked-out order: every page of inventory/did per order
// reference, in parallel with each other and with deleting the emptied cart. The row
// becomes imported; when Voxbone delivered fewer DIDs than planned it becomes
// awaiting_delivery (Recover repeats this until the rest arrive) or, once the delivery
// deadline has passed, partial. If a fetch or the cart deletion fails it stays checked_out
// (or awaiting_delivery) for Recover, which repeats this idempotently. A final order (its
// late DIDs looked for by Recover or Reconcile) stays final: partial while still short,
// imported once complete, never awaiting_delivery again.
func (c *Carrier) finish(ctx context.Context, o *order) (*orderOutcome, error) {
	if err := c.checkAccount(o); err != nil {
		return nil, err
	}
	var (
		wg      sync.WaitGroup
		cartErr error
	)
	if o.p.CartID != 0 && !o.state().Final() { // a final order's cart is gone already
		wg.Go(func() {
			if err := c.client.DeleteCart(ctx, o.p.CartID); err != nil && !cartGone(err) {
				cartErr = err
			}
		})
	}
	lists := make([][]voxbone.DID, len(o.p.OrderReferences))
	errs := make([]error, len(o.p.OrderReferences))
	for i, ref := range o.p.OrderReferences {
		wg.Go(func() {
			lists[i], errs[i] = c.client.ListAllDIDs(ctx, voxbone.ListDIDsOptions{
				ListOptions: voxbone.ListOptions{PageSize: c.settings.PageSize}, OrderReference: ref})
		})
	}
	wg.Wait()
	var dids []voxbone.DID
	for _, l := range lists {
		dids = append(dids, l...)
	}
	out, impErr := c.importDIDs(ctx, o, dids)
	fetchErr := errors.Join(errs...)
	if err := errors.Join(fetchErr, impErr, cartErr); err != nil {
		o.p.Error = err.Error()
		stay := StateCheckedOut
		if o.state() == StateAwaitingDelivery || o.state().Final() {
			stay = o.state() // a final order (late DIDs looked for) stays final
		}
		if werr := c.advance(ctx, o, stay); werr != nil {
			c.log.Warn("knm_voxbone: journal write failed", "order", o.p.OrderID, "error", werr)
		}
		if fetchErr == nil && impErr == nil {
			// Every number is in knm; only the cart is left, which Recover deletes.
			c.log.Warn("knm_voxbone: cart deletion failed; recover will retry", "order", o.p.OrderID, "error", cartErr)
			return out, nil
		}
		return out, carrierError("voxbone order "+o.p.OrderID+": bought, not all numbers imported yet (recover will finish)", err)
	}
	o.p.Error = ""
	state := StateImported
	if planned, _ := o.p.planned(); o.p.delivered() < planned {
		msg := fmt.Sprintf("voxbone delivered %d of %d DIDs", o.p.delivered(), planned)
		if len(o.p.BadDIDs) > 0 {
			msg += fmt.Sprintf(" (%d more with an unusable number: %s)", len(o.p.BadDIDs), strings.Join(o.p.BadDIDs, "; "))
		}
		deadline := c.deliveryDeadlineOf(o)
		if c.now().Before(deadline) && !o.state().Final() { // a final order never waits again
			state = StateAwaitingDelivery
			o.p.Error = msg + "; the rest are awaited until " + deadline.UTC().Format(time.RFC3339) +
				" (recover imports them when voxbone delivers)"
		} else {
			state = StatePartial
			o.p.Error = msg + "; the rest were not delivered by " + deadline.UTC().Format(time.RFC3339)
		}
	}
	if len(o.p.Conflicts) > 0 {
		note := fmt.Sprintf("%d DID(s) bought but stored otherwise in knm, not moved: %s", len(o.p.Conflicts), strings.Join(o.p.Conflicts, "; "))
		if o.p.Error == "" {
			o.p.Error = note
		} else {
			o.p.Error += "; " + note
		}
	}
	if err := c.advance(ctx, o, state); err != nil {
		c.log.Warn("knm_voxbone: journal write failed", "order", o.p.OrderID, "error", err)
	}
	if state != StateImported {
		return out, knm.Errorf(knm.ErrUnavailable, "voxbone order %s: %s", o.p.OrderID, o.p.Error)
	}
	return out, nil
}

// deliveryDeadlineOf is when a short order stops waiting for the rest of its DIDs.
func (c *Carrier) deliveryDeadlineOf(o *order) time.Time {
	return o.checkoutTime().Add(c.deliveryDeadline)
}

// checkoutTime is when the order's checkout was sent (rows written before CheckoutAt
// existed: when the row was created).
func (o *order) checkoutTime() time.Time {
	if o.p.CheckoutAt != nil {
		return *o.p.CheckoutAt
	}
	return o.e.Created
}

// importDIDs stores the DIDs in one transaction: available and unassigned, or in_service
// for the order's assign_to account, module knm_voxbone, carrier_data the DID as Voxbone
// sent it. DIDs already stored as knm_voxbone numbers count as imported (an import that
// ran before a crash); a DID stored under another module, or (for assign_to) for another
// account, is recorded in the order's Conflicts, never overwritten, and counts as
// delivered but not imported.
//
// For a final order (imported or partial: its late DIDs looked for by Recover or
// Reconcile) only DIDs it never imported are imported: a number already in Imported is
// settled, whatever became of it since (hard-deleted, released, reassigned by an admin),
// so it is never re-created, moved or recorded as a conflict; nor is a DID knm journalled
// a cancel of (cancel-<didId> row sent or done: knm released it).
func (c *Carrier) importDIDs(ctx context.Context, o *order, dids []voxbone.DID) (*orderOutcome, error) {
	out := &orderOutcome{}
	ns := make([]*knm.Number, 0, len(dids))
	byNum := map[string]*knm.Number{}
	var (
		settled map[string]bool // a final order's numbers imported before: never touched again
		errs    []error
	)
	if o.state().Final() {
		settled = make(map[string]bool, len(o.p.Imported))
		for _, n := range o.p.Imported {
			settled[n] = true
		}
	}
	for _, d := range dids {
		n, ok := c.didNumber(d, o.p.AssignTo)
		if !ok {
			bad := fmt.Sprintf("didId %d: e164 %q", d.DIDID, d.E164)
			if !slices.Contains(o.p.BadDIDs, bad) {
				c.log.Warn("knm_voxbone: bought DID has no usable number; not imported", "order", o.p.OrderID, "did_id", d.DIDID, "e164", d.E164)
				o.p.BadDIDs = append(o.p.BadDIDs, bad)
			}
			continue
		}
		if settled != nil {
			if settled[n.Number] {
				// Imported by this order before: whatever became of it since (deleted or
				// released by an operator, reassigned by an admin) was done on purpose.
				continue
			}
			if gone, err := c.releasedDID(ctx, d.DIDID); err != nil {
				errs = append(errs, err)
				continue
			} else if gone {
				continue // knm cancelled this DID itself: it is being (or was) released
			}
		}
		if byNum[n.Number] == nil {
			byNum[n.Number] = n
			ns = append(ns, n)
		}
	}
	if len(ns) == 0 {
		return out, errors.Join(errs...)
	}
	skipped, err := c.store.ImportNumbers(ctx, ns)
	if err != nil {
		return out, errors.Join(append(errs, fmt.Errorf("store DIDs of order %s: %w", o.p.OrderID, err))...)
	}
	skip := map[string]bool{}
	conflict := map[string]bool{}
	for _, num := range skipped {
		skip[num] = true
		cur, err := c.store.GetNumber(ctx, num)
		switch {
		case err != nil:
			errs = append(errs, err)
		case cur.ModuleName != ModuleName:
			// Never overwritten; delivered (and billed) but not knm_voxbone's: reported on
			// the order, which can still finish.
			conflict[num] = true
			o.p.addConflict(num, "bought from voxbone but stored with module "+cur.ModuleName)
		case o.p.AssignTo == "":
			if cur.State == knm.StateAvailable && cur.AssignedTo == "" {
				out.rows = append(out.rows, row(cur))
			}
		case cur.AssignedTo == o.p.AssignTo:
		case cur.AssignedTo == "" && cur.State == knm.StateAvailable && o.state().Final():
			// The order finished long ago (a late DID, found by Reconcile): a number in the
			// pool was put there on purpose (an admin returned it), so it stays there.
		case cur.AssignedTo == "" && cur.State == knm.StateAvailable:
			// Stored before this import (reconcile --import, say) in the pool while the order
			// was unfinished: the number was bought for the account, so it goes there, unless
			// someone took it meanwhile.
			next := cur.Clone()
			next.State, next.AssignedTo = knm.StateInService, o.p.AssignTo
			if err := c.store.UpdateNumber(ctx, next); err != nil {
				errs = append(errs, fmt.Errorf("assign %s to %s: %w", num, o.p.AssignTo, err))
			} else {
				c.log.Info("knm_voxbone: number found in the pool assigned to the account it was bought for",
					"order", o.p.OrderID, "number", num, "account", o.p.AssignTo)
			}
		default:
			// Someone else has the number: never moved. Reported on the order, which counts
			// it as delivered but not imported and can still finish.
			conflict[num] = true
			o.p.addConflict(num, fmt.Sprintf("bought for account %s but stored %s for account %q",
				o.p.AssignTo, cur.State, cur.AssignedTo))
		}
	}
	if len(conflict) > 0 {
		// Rows written before conflicts were recorded may list them as imported.
		o.p.Imported = slices.DeleteFunc(o.p.Imported, func(n string) bool { return conflict[n] })
		c.log.Warn("knm_voxbone: bought DIDs stored otherwise in knm; not moved", "order", o.p.OrderID, "conflicts", o.p.Conflicts)
	}
	seen := map[string]bool{}
	for _, n := range o.p.Imported {
		seen[n] = true
	}
	for _, n := range ns {
		if !skip[n.Number] && n.State == knm.StateAvailable {
			out.rows = append(out.rows, row(n))
		}
		if conflict[n.Number] {
			continue
		}
		if !seen[n.Number] {
			seen[n.Number] = true
			o.p.Imported = append(o.p.Imported, n.Number)
		}
		// A conflict of an earlier run that has been imported now (the other holder let the
		// number go) is delivered once: imported, no longer in conflict.
		o.p.dropConflict(n.Number)
	}
	return out, errors.Join(errs...)
}

// releasedDID reports whether knm journalled a cancel of DID id that was sent (its outcome
// unknown) or done: the DID was released by knm and must not be imported again.
func (c *Carrier) releasedDID(ctx context.Context, id int) (bool, error) {
	if id <= 0 {
		return false, nil
	}
	e, err := c.store.GetJournal(ctx, fmt.Sprintf("%s%d", cancelPrefix, id))
	if knm.IsErrorName(err, knm.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("knm_voxbone: journal of cancels, DID %d: %w", id, err)
	}
	return e.Carrier == ModuleName && (e.State == cancelSent || e.State == cancelDone), nil
}

// didNumber is the knm number of a bought DID, or false when its e164 is not a usable
// E.164 number.
func (c *Carrier) didNumber(d voxbone.DID, assignTo string) (*knm.Number, bool) {
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
// (after an optional "+").
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

func row(n *knm.Number) knm.SearchRow {
	return knm.SearchRow{Number: n.Number, Module: ModuleName, State: knm.StateAvailable, CarrierData: n.CarrierData}
}

// carrierError wraps a Voxbone failure as a knm error, keeping a knm error's name (such as
// a conflict) when there is one. Voxbone's errors never carry credentials.
func carrierError(what string, err error) error {
	var ke *knm.Error
	if errors.As(err, &ke) {
		return &knm.Error{Name: ke.Name, Message: what, Err: err}
	}
	name := knm.ErrCarrier
	if voxbone.IsRateLimited(err) {
		name = knm.ErrTooManyRequests
	}
	return &knm.Error{Name: name, Message: what, Err: err}
}
