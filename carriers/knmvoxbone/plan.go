package knmvoxbone

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
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

// catalogue is what a plan is made from: the balance and every matching DID group in stock.
type catalogue struct {
	balance   *voxbone.AccountBalance
	groups    []voxbone.DIDGroup
	fetchedAt time.Time // when the listing started
}

// fetchCatalogue gets the balance and every page of matching DID groups at once.
func (c *Carrier) fetchCatalogue(ctx context.Context, q groupQuery) (*catalogue, error) {
	cat := catalogue{fetchedAt: time.Now()}
	opts := voxbone.ListDIDGroupsOptions{
		ListOptions:   voxbone.ListOptions{PageSize: c.settings.PageSize},
		CountryCodeA3: q.CountryA3, DIDType: q.DIDType, AreaCode: q.AreaCode,
		ShowEmpty: voxbone.Ptr(false),
	}
	if q.GroupID != 0 {
		opts.DIDGroupIDs = []int{q.GroupID}
	}
	var (
		wg     sync.WaitGroup
		balErr error
	)
	wg.Go(func() { cat.balance, balErr = c.client.AccountBalance(ctx) })
	groups, err := c.client.ListAllDIDGroups(ctx, opts)
	wg.Wait()
	if err = errors.Join(balErr, err); err != nil {
		return nil, carrierError("voxbone inventory", err)
	}
	cat.groups = groups
	return &cat, nil
}

// Reservations are the stock and money planned by orders not checked out yet, and the
// recent checkouts, which a plan takes off the listed stock and balance: Voxbone lowers them
// only at checkout. Carriers of one account share one Reservations (a carrier rebuilt after
// a settings change beside the old one finishing its orders), so they never plan the same
// stock or money twice. It is safe for concurrent use.
type Reservations struct {
	mu            sync.Mutex
	inflight      map[int]int   // DID group id -> DIDs planned by orders not yet checked out
	reservedCents int           // cost of the plans of orders not yet checked out
	consumed      []consumption // recent checkouts, for listings taken before them
	buyer         *buyer        // the account's searches buying now (see buyer)
}

// consumption is what one checkout took, for a minute after it.
type consumption struct {
	group, qty, cents int
	at                time.Time
}

// NewReservations returns empty reservations.
func NewReservations() *Reservations { return &Reservations{inflight: map[int]int{}} }

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
func (c *Carrier) budgetCents(bal *voxbone.AccountBalance, takenCents, shares int) int {
	b := int(math.Floor(bal.Balance*100+1e-6)) - takenCents
	if c.settings.MaxOrderCost > 0 {
		b = min(b, shares*int(math.Floor(c.settings.MaxOrderCost*100+1e-6)))
	}
	return max(b, 0)
}

// plan makes the plan for want DIDs from cat, net of what other orders of the account hold
// or have just checked out, reserves it, and explains a shortfall. Concurrent searches
// would otherwise all plan on the same DIDs and end in back-orders.
func (c *Carrier) plan(cat *catalogue, want, shares int) planResult {
	res := c.reservations
	res.mu.Lock()
	defer res.mu.Unlock()
	res.consumed = slices.DeleteFunc(res.consumed, func(b consumption) bool { return time.Since(b.at) >= time.Minute })
	groups := slices.Clone(cat.groups)
	taken := res.reservedCents // the balance does not show the money of unfinished orders
	for i := range groups {
		groups[i].Stock -= res.inflight[groups[i].DIDGroupID]
	}
	for _, b := range res.consumed {
		if b.at.Before(cat.fetchedAt) {
			continue // the listing shows it already
		}
		taken += b.cents
		for i := range groups {
			if groups[i].DIDGroupID == b.group {
				groups[i].Stock -= b.qty
			}
		}
	}
	r := makePlan(groups, want, c.budgetCents(cat.balance, taken, shares))
	for _, l := range r.lines {
		res.inflight[l.GroupID] += l.Quantity
		res.reservedCents += l.Quantity * l.UnitCents
	}
	r.short = c.shortfall(cat.balance, r, want, taken)
	return r
}

// shortfall explains why plan r has fewer than want DIDs: not enough stock, or not enough
// money (the balance, what other orders hold of it, max_order_cost).
func (c *Carrier) shortfall(bal *voxbone.AccountBalance, r planResult, want, takenCents int) error {
	switch {
	case r.qty >= want:
		return nil
	case r.inStock < want:
		return knm.Errorf(knm.ErrUnavailable, "insufficient inventory: wanted %d, %d in stock", want, r.inStock)
	}
	limit := fmt.Sprintf("balance %.2f %s", bal.Balance, bal.Currency)
	if takenCents > 0 {
		limit += fmt.Sprintf(", %.2f of it planned by orders in progress", float64(takenCents)/100)
	}
	if c.settings.MaxOrderCost > 0 {
		limit += fmt.Sprintf(", max_order_cost %.2f", c.settings.MaxOrderCost)
	}
	return knm.Errorf(knm.ErrNotEnoughCredit, "not enough credit: wanted %d, can afford %d (%s)", want, r.qty, limit)
}

// unreserve gives back the stock and money reserved for lines.
func (c *Carrier) unreserve(lines []PlanLine) {
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

// endReservation gives back what the order's plan reserved, once. After a checkout
// (checkedOut) the quantities are remembered as consumed for a minute, so that a listing
// taken before the checkout is not trusted for them.
func (c *Carrier) endReservation(o *order, checkedOut bool) {
	if !o.reserved {
		return
	}
	o.reserved = false
	c.unreserve(o.Plan)
	if !checkedOut {
		return
	}
	res := c.reservations
	res.mu.Lock()
	defer res.mu.Unlock()
	now := time.Now()
	for _, l := range o.Plan {
		res.consumed = append(res.consumed,
			consumption{group: l.GroupID, qty: l.Quantity, cents: l.Quantity * l.UnitCents, at: now})
	}
}
