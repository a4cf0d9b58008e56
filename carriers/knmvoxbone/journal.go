package knmvoxbone

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/knmproject/knm"
)

// OrderState is the state of an order's journal row. Each state is written before the step
// whose outcome it names can have happened at Voxbone, so after a crash the row says the
// most that may have been done.
type OrderState string

// Order states, in the order an order moves through them.
const (
	StatePlanned      OrderState = "planned"       // the cart may exist (look it up by customerReference)
	StateCartCreated  OrderState = "cart_created"  // the cart exists; items may be in it
	StateItemsAdded   OrderState = "items_added"   // every item is in the cart; nothing bought
	StateCheckoutSent OrderState = "checkout_sent" // the checkout may or may not have happened
	StateCheckedOut   OrderState = "checked_out"   // Voxbone's orders exist; DIDs may not be in knm
	// StateAwaitingDelivery: what Voxbone delivered is in knm, but fewer DIDs than ordered;
	// Recover looks again until the count is complete or DeliveryDeadline passes.
	StateAwaitingDelivery OrderState = "awaiting_delivery"
	StateImported         OrderState = "imported" // final: every DID is in knm, the cart is gone
	StatePartial          OrderState = "partial"  // final: fewer DIDs delivered by the deadline
	StateFailed           OrderState = "failed"   // final: nothing bought, the cart is gone
)

// BeforeCheckout reports whether an order in state s cannot have bought anything yet.
func (s OrderState) BeforeCheckout() bool {
	return s == StatePlanned || s == StateCartCreated || s == StateItemsAdded
}

// MaySpend reports whether an order in state s may have spent money: its checkout was sent.
func (s OrderState) MaySpend() bool {
	switch s {
	case StateCheckoutSent, StateCheckedOut, StateAwaitingDelivery, StateImported, StatePartial:
		return true
	}
	return false
}

// Final reports whether s is a final state.
func (s OrderState) Final() bool { return s == StateImported || s == StatePartial || s == StateFailed }

// unfinishedStates are the states Recover settles, as the journal filter takes them.
var unfinishedStates = []string{string(StatePlanned), string(StateCartCreated), string(StateItemsAdded),
	string(StateCheckoutSent), string(StateCheckedOut), string(StateAwaitingDelivery)}

// PlanLine is what an order buys from one DID group.
type PlanLine struct {
	GroupID   int    `json:"group_id"`
	Quantity  int    `json:"quantity"`
	UnitCents int    `json:"unit_cents"` // setup100 + monthly100
	AreaCode  string `json:"area_code,omitempty"`
	City      string `json:"city,omitempty"`
}

// Conflict is a DID an order bought that knm already stores otherwise (under another module,
// or for another account than the order's assign_to). It counts as delivered, is never
// moved and is not the order's import.
type Conflict struct {
	Number string `json:"number"`
	Why    string `json:"why"`
}

// String is "number: why".
func (c Conflict) String() string { return c.Number + ": " + c.Why }

// orderPayload is the journal row's payload.
type orderPayload struct {
	OrderID         string     `json:"order_id"`
	QueryID         string     `json:"query_id,omitempty"`
	Plan            []PlanLine `json:"plan"`
	CartID          int        `json:"cart_id,omitempty"`
	OrderReferences []string   `json:"order_references,omitempty"`
	Imported        []string   `json:"imported,omitempty"`
	Error           string     `json:"error,omitempty"`
	IdempotencyKey  string     `json:"idempotency_key,omitempty"`
	AssignTo        string     `json:"assign_to,omitempty"`
	// CheckoutAt is when the checkout was sent; the delivery deadline runs from it.
	CheckoutAt *time.Time `json:"checkout_at,omitempty"`
	// BadDIDs are DIDs Voxbone sent with an unusable e164: not imported, not delivered.
	BadDIDs []string `json:"bad_dids,omitempty"`
	// Group and Quantity are a native order's request, to refuse an idempotency key reused
	// for another one.
	Group    int `json:"request_group,omitempty"`
	Quantity int `json:"request_quantity,omitempty"`
	// Duplicate marks the row of a native order that found its idempotency key taken, or of
	// a search order that ended before buying (see tombstone): it bought nothing, and
	// listings leave it out.
	Duplicate bool `json:"duplicate,omitempty"`
	// Account is the fingerprint of the Voxbone account the order was placed on; only a
	// carrier of that account settles it.
	Account   string     `json:"account,omitempty"`
	Conflicts []Conflict `json:"conflicts,omitempty"`
	// RouteFor and RouteReseller are the knm account (and its reseller) whose routing
	// overrides apply to the DIDs: the searching account; AssignTo wins when set.
	RouteFor      string `json:"route_for,omitempty"`
	RouteReseller string `json:"route_reseller,omitempty"`
	// LateCheckedAt is when Recover last looked for late DIDs of this partial order.
	LateCheckedAt *time.Time `json:"late_checked_at,omitempty"`
	// Members are the searches the order buys for (several when coalesced), with the
	// numbers each got; empty for a native order.
	Members []orderMember `json:"members,omitempty"`
}

// addConflict records a conflicting DID once.
func (p *orderPayload) addConflict(num, why string) {
	if !slices.ContainsFunc(p.Conflicts, func(c Conflict) bool { return c.Number == num }) {
		p.Conflicts = append(p.Conflicts, Conflict{Number: num, Why: why})
	}
}

// dropConflict forgets num's conflict: the number has been imported since.
func (p *orderPayload) dropConflict(num string) {
	p.Conflicts = slices.DeleteFunc(p.Conflicts, func(c Conflict) bool { return c.Number == num })
	if len(p.Conflicts) == 0 {
		p.Conflicts = nil
	}
}

// delivered is how many DIDs Voxbone delivered with a usable number: imported or in
// conflict, each number once.
func (p *orderPayload) delivered() int {
	seen := make(map[string]bool, len(p.Imported)+len(p.Conflicts))
	for _, n := range p.Imported {
		seen[n] = true
	}
	for _, c := range p.Conflicts {
		seen[c.Number] = true
	}
	return len(seen)
}

// planned returns how many DIDs the plan buys and what they cost, in cents.
func (p *orderPayload) planned() (qty, cents int) {
	for _, l := range p.Plan {
		qty += l.Quantity
		cents += l.Quantity * l.UnitCents
	}
	return qty, cents
}

// checkoutTime is when the checkout was sent; zero when it was not.
func (p *orderPayload) checkoutTime() time.Time {
	if p.CheckoutAt == nil {
		return time.Time{}
	}
	return *p.CheckoutAt
}

// order is one journal row being worked on: the entry as last read or written, and its
// decoded payload.
type order struct {
	entry *knm.JournalEntry
	orderPayload
	reserved bool // the plan's stock and money are held in the carrier's Reservations
	// live is the batch of searches waiting for the order in this process; nil when the
	// order is settled by Recover (its callers are gone).
	live *batch
	// onCheckout, when set, is called once the checkout_sent state is written.
	onCheckout func()
}

// state is the order's state as last read or written.
func (o *order) state() OrderState { return OrderState(o.entry.State) }

// newOrderID returns a fresh knm order id, which is also the cart's customerReference.
func newOrderID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return OrderPrefix + hex.EncodeToString(b[:])
}

func decodeOrder(e *knm.JournalEntry) (*order, error) {
	o := &order{entry: e}
	if err := json.Unmarshal(e.Payload, &o.orderPayload); err != nil {
		return nil, fmt.Errorf("knm_voxbone: journal %s: bad payload: %w", e.ID, err)
	}
	return o, nil
}

// createOrder writes the order's first row, planned, on the carrier's account, owned by this
// instance. The caller has begun the order's flight (Flights) and ends it when done.
func (c *Carrier) createOrder(ctx context.Context, p orderPayload) (*order, error) {
	p.Account = c.account
	raw, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	now := c.now()
	e := &knm.JournalEntry{ID: p.OrderID, Carrier: ModuleName, State: string(StatePlanned), Payload: raw,
		Created: now, Updated: now, Owner: c.owner()}
	if err := c.store.CreateJournal(ctx, e); err != nil {
		return nil, fmt.Errorf("knm_voxbone: journal order %s: %w", p.OrderID, err)
	}
	return &order{entry: e, orderPayload: p}, nil
}

// advance writes the order in state, guarded by the revision last read: if another writer
// (Recover on this or another instance) moved the row, it fails with a conflict and the
// caller must stop acting on the order.
func (c *Carrier) advance(ctx context.Context, o *order, state OrderState) error {
	raw, err := json.Marshal(o.orderPayload)
	if err != nil {
		return err
	}
	prev := o.entry
	next := *o.entry
	next.State, next.Payload, next.Updated = string(state), raw, c.now()
	if err := c.store.UpdateJournal(ctx, &next); err != nil {
		return fmt.Errorf("knm_voxbone: journal order %s -> %s: %w", o.OrderID, state, err)
	}
	o.entry = &next
	if state.Final() {
		c.observeFinal(prev, o)
	}
	return nil
}

// observeFinal reports an order that reached a final state to the metrics. Voxbone charges
// for the DIDs it delivers, the plan's price pro rata; an order finished again (late DIDs)
// adds only what it brought since.
func (c *Carrier) observeFinal(prev *knm.JournalEntry, o *order) {
	if c.metrics.Order != nil && OrderState(prev.State) != o.state() && !o.Duplicate {
		c.metrics.Order(o.state(), len(o.Imported))
	}
	qty, cents := o.planned()
	if c.metrics.Spent == nil || qty == 0 {
		return
	}
	was := 0
	if OrderState(prev.State).Final() {
		var pp orderPayload
		if json.Unmarshal(prev.Payload, &pp) == nil {
			was = pp.delivered()
		}
	}
	if d := cents*min(o.delivered(), qty)/qty - cents*min(was, qty)/qty; d > 0 {
		c.metrics.Spent(d)
	}
}

// checkAccount refuses to settle an order placed on another Voxbone account than the
// carrier's: there its cart, orders and DIDs are invisible, so a lookup finding nothing
// would fail an order that bought numbers.
func (c *Carrier) checkAccount(o *order) error {
	if o.Account == c.account {
		return nil
	}
	return knm.Errorf(knm.ErrConflict, "voxbone order %s was placed on another Voxbone account "+
		"(fingerprint %s, this one is %s); switch back to settle it", o.OrderID, o.Account, c.account)
}

// OrderResult is an order as its journal row tells it.
type OrderResult struct {
	OrderID         string     `json:"order_id"`
	State           OrderState `json:"state"`
	QueryID         string     `json:"query_id,omitempty"`
	Plan            []PlanLine `json:"plan"`
	Quantity        int        `json:"quantity"`   // DIDs planned
	CostCents       int        `json:"cost_cents"` // price of the plan, in cents
	CartID          int        `json:"cart_id,omitempty"`
	OrderReferences []string   `json:"order_references,omitempty"`
	Numbers         []string   `json:"numbers"` // the DIDs brought into knm
	Conflicts       []Conflict `json:"conflicts,omitempty"`
	Error           string     `json:"error,omitempty"`
	IdempotencyKey  string     `json:"idempotency_key,omitempty"`
	AssignTo        string     `json:"assign_to,omitempty"`
	Created         time.Time  `json:"created"`
	Updated         time.Time  `json:"updated"`
	// Replayed is true when the result is that of an earlier request with the same
	// idempotency key.
	Replayed bool `json:"replayed,omitempty"`
	// Routing is the state of the routing of the order's DIDs (sent, pending, done; absent
	// when routing is off), RoutingError why it is pending, RoutingPending how many DIDs wait.
	Routing        string `json:"routing,omitempty"`
	RoutingError   string `json:"routing_error,omitempty"`
	RoutingPending int    `json:"routing_pending,omitempty"`
	// Instance is the knm instance (its lease id) that holds the order, or held it last: the
	// one that ran it, or the one that took it over to settle it. "" when none held a lease.
	Instance string `json:"instance,omitempty"`
}

// withRouting fills the routing fields of results from their routing jobs.
func (c *Carrier) withRouting(ctx context.Context, rs ...*OrderResult) error {
	if len(rs) == 1 {
		e, err := c.store.GetJournal(ctx, routeRowID(rs[0].OrderID))
		if knm.IsErrorName(err, knm.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		return rs[0].setRouting(e)
	}
	es, err := c.store.FindJournals(ctx, knm.JournalFilter{Carrier: RoutingJournal})
	if err != nil {
		return err
	}
	byOrder := map[string]*knm.JournalEntry{}
	for _, e := range es {
		byOrder[strings.TrimPrefix(e.ID, "route-")] = e
	}
	for _, r := range rs {
		if e := byOrder[r.OrderID]; e != nil {
			if err := r.setRouting(e); err != nil {
				return err
			}
		}
	}
	return nil
}

func (r *OrderResult) setRouting(e *knm.JournalEntry) error {
	j, err := decodeJob(e)
	if err != nil {
		return err
	}
	r.Routing, r.RoutingError, r.RoutingPending = e.State, j.Error, j.undone()
	return nil
}

func (o *order) result() *OrderResult {
	qty, cents := o.planned()
	nums := o.Imported
	if nums == nil {
		nums = []string{}
	}
	return &OrderResult{
		OrderID: o.OrderID, State: o.state(), QueryID: o.QueryID, Plan: o.Plan,
		Quantity: qty, CostCents: cents, CartID: o.CartID, OrderReferences: o.OrderReferences,
		Numbers: nums, Conflicts: o.Conflicts, Error: o.Error, IdempotencyKey: o.IdempotencyKey,
		AssignTo: o.AssignTo, Created: o.entry.Created, Updated: o.entry.Updated, Instance: o.entry.Owner,
	}
}

// GetOrder returns an order of this carrier from the journal, or a not_found error.
func (c *Carrier) GetOrder(ctx context.Context, id string) (*OrderResult, error) {
	e, err := c.store.GetJournal(ctx, id)
	if err != nil && !knm.IsErrorName(err, knm.ErrNotFound) {
		return nil, err
	}
	if err != nil || e.Carrier != ModuleName || isCancelRow(e) {
		return nil, knm.Errorf(knm.ErrNotFound, "voxbone order %s not found", id)
	}
	o, err := decodeOrder(e)
	if err != nil {
		return nil, err
	}
	res := o.result()
	return res, c.withRouting(ctx, res)
}

// ListOrders returns every order of this carrier, oldest first, without the rows of
// repeated idempotent requests (GetOrder still finds those).
func (c *Carrier) ListOrders(ctx context.Context) ([]*OrderResult, error) {
	os, err := c.journalOrders(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]*OrderResult, 0, len(os))
	for _, o := range os {
		out = append(out, o.result())
	}
	return out, c.withRouting(ctx, out...)
}

// journalOrders returns the journal's orders, oldest first, without cancel rows and the
// rows of repeated idempotent requests.
func (c *Carrier) journalOrders(ctx context.Context) ([]*order, error) {
	es, err := c.store.FindJournals(ctx, knm.JournalFilter{Carrier: ModuleName})
	if err != nil {
		return nil, err
	}
	var out []*order
	for _, e := range es {
		if isCancelRow(e) {
			continue
		}
		o, err := decodeOrder(e)
		if err != nil {
			return nil, err
		}
		if !o.Duplicate {
			out = append(out, o)
		}
	}
	return out, nil
}

// States of a cancel's journal row, "cancel-<didId>": sent before the cancel goes out (the
// outcome is unknown while it stays so), then done, or refused when Voxbone cancelled
// nothing. Cancel rows are no orders: the order listings leave them out.
const (
	cancelSent    = "sent"
	cancelDone    = "done"
	cancelRefused = "refused"
)

// cancelPayload is a cancel row's payload.
type cancelPayload struct {
	DIDID   int    `json:"did_id"`
	Number  string `json:"number"`
	Account string `json:"fingerprint"`
}

const cancelPrefix = "cancel-"

func cancelRowID(didID int) string { return fmt.Sprintf("%s%d", cancelPrefix, didID) }

func isCancelRow(e *knm.JournalEntry) bool { return strings.HasPrefix(e.ID, cancelPrefix) }
