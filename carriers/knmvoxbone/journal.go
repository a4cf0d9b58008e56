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

// Journal states of an order, in the order an order moves through them. Each is written
// BEFORE the step it names the outcome of can have happened at Voxbone, so after a crash
// the row says the most that may have been done:
//
//	planned       the cart may have been created (look it up by customerReference)
//	cart_created  the cart exists (CartID); items may have been added
//	items_added   every item is in the cart; nothing bought yet
//	checkout_sent the checkout may or may not have happened
//	checked_out   the orders exist (OrderReferences); their DIDs may not be in knm yet
//	awaiting_delivery
//	              every DID delivered so far is in knm and the cart is gone, but Voxbone
//	              delivered fewer than ordered (back-orders): Recover imports again until
//	              the count is complete (imported) or the delivery deadline passes (partial)
//	imported      final: every delivered DID is in knm and the cart is gone
//	partial       final: as imported, but Voxbone delivered fewer DIDs than ordered by the
//	              delivery deadline (DeliveryDeadline after the checkout); until
//	              LateDeliveryHorizon after the checkout Recover still looks for the rest
//	              now and then and imports them (partial → imported when complete)
//	failed        final: nothing was bought and the cart is gone
//
// A DID Voxbone delivers after its order is final is imported by its order: for a partial
// order by Recover while the order is younger than LateDeliveryHorizon (see
// Carrier.Recover), and at any age by Reconcile with importMissing, which also finds late
// DIDs of imported orders (partial becomes imported when the count is complete). Only
// DIDs the final order never imported are: a number in its Imported is settled (deleted,
// released or reassigned since on purpose: never re-created, moved or put in Conflicts),
// and a DID knm journalled a cancel of (cancel-<didId> sent or done) is never imported. DIDs knm already stores otherwise (another module, or another
// account than assign_to) are the order's Conflicts: delivered, never moved, not imported;
// one imported later (its holder let it go) leaves Conflicts, so it is counted once. Only an
// unfinished order moves a number of its own from the pool to assign_to: for a final one, a
// pooled number was put there on purpose and stays.
// Every order records its Voxbone account (Account); a carrier of another account leaves
// it alone. Releases journal their cancels under "cancel-<didId>" rows (see release.go).
const (
	StatePlanned      OrderState = "planned"
	StateCartCreated  OrderState = "cart_created"
	StateItemsAdded   OrderState = "items_added"
	StateCheckoutSent OrderState = "checkout_sent"
	StateCheckedOut   OrderState = "checked_out"
	// StateAwaitingDelivery is the one unfinished state after the import: see above.
	StateAwaitingDelivery OrderState = "awaiting_delivery"
	StateImported         OrderState = "imported"
	StatePartial          OrderState = "partial"
	StateFailed           OrderState = "failed"
)

// OrderState is the state of an order's journal row.
type OrderState string

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

// DeliveryDeadline is how long after its checkout an order short of DIDs keeps waiting
// for Voxbone to deliver the rest (awaiting_delivery) before it becomes partial (final).
const DeliveryDeadline = 7 * 24 * time.Hour

// LateDeliveryHorizon is how long after its checkout a partial order is still looked at by
// Recover for DIDs Voxbone delivers late (billed, so they must reach knm): each run looks at
// up to LateDeliveryBatch of those due (see lateDeliveryInterval: hourly, then every 6
// hours, then daily) and imports what was delivered since. An older partial
// order is left alone (no requests); reconcile --import still brings its late DIDs in.
const LateDeliveryHorizon = 30 * 24 * time.Hour

// LateDeliveryBatch is how many partial orders one Recover run looks at, at most: those
// looked at least recently (never first), so successive runs go round the lot.
const LateDeliveryBatch = 50

// PlanLine is what an order buys from one DID group.
type PlanLine struct {
	GroupID   int    `json:"group_id"`
	Quantity  int    `json:"quantity"`
	UnitCents int    `json:"unit_cents"` // setup100 + monthly100
	AreaCode  string `json:"area_code,omitempty"`
	City      string `json:"city,omitempty"`
}

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
	// CheckoutAt is when the checkout was sent; the delivery deadline runs from it (rows
	// written before it existed use their creation time).
	CheckoutAt *time.Time `json:"checkout_at,omitempty"`
	// BadDIDs are DIDs of the order Voxbone sent with an unusable e164: not imported,
	// counted as not delivered.
	BadDIDs []string `json:"bad_dids,omitempty"`
	// Group and Quantity are a native order's request, to refuse an idempotency key reused
	// for a different one.
	Group    int `json:"request_group,omitempty"`
	Quantity int `json:"request_quantity,omitempty"`
	// Orphan marks a row written only to fence an idempotency key whose first claimant died
	// before writing its order: the key's request goes on under a derived key.
	Orphan bool `json:"orphan,omitempty"`
	// Duplicate marks the row of a native order that found its idempotency key taken: it
	// bought nothing and the first order's result was returned.
	Duplicate bool `json:"duplicate,omitempty"`
	// Account is the AccountFingerprint of the carrier that placed the order: only a carrier
	// of that account settles it (rows without one are taken as the current account's).
	Account string `json:"account,omitempty"`
	// Conflicts are DIDs of the order that knm already stores otherwise (another module,
	// or for assign_to another account): "number: why". They count as delivered, not
	// imported, and are never moved.
	Conflicts []string `json:"conflicts,omitempty"`
	// LateCheckedAt is when Recover last looked for late DIDs of this partial order (see
	// LateDeliveryHorizon): the least recently looked at are looked at first.
	LateCheckedAt *time.Time `json:"late_checked_at,omitempty"`
}

// addConflict records a conflicting DID once.
func (p *orderPayload) addConflict(num, why string) {
	for _, c := range p.Conflicts {
		if conflictNumber(c) == num {
			return
		}
	}
	p.Conflicts = append(p.Conflicts, num+": "+why)
}

// Errors a failed row records when its checkout was sent (settleCheckout found no order
// placed): matched by checkoutMayHaveHappened on rows written before CheckoutAt existed,
// so they must stay as they are.
const (
	errCheckoutNotHappened = "checkout did not happen: "
	errCheckoutInterrupted = "checkout interrupted (found by recover)"
)

// checkoutMayHaveHappened reports whether the order's checkout was sent: CheckoutAt is
// set, the order has references, or (a row written before CheckoutAt existed) its error is
// one only a sent checkout leaves. A failed order for which it is false bought nothing and
// never will; one for which it is true is replayed, never bought again.
func (p *orderPayload) checkoutMayHaveHappened() bool {
	return p.CheckoutAt != nil || len(p.OrderReferences) > 0 ||
		strings.Contains(p.Error, errCheckoutNotHappened) || strings.Contains(p.Error, errCheckoutInterrupted) ||
		strings.Contains(p.Error, "checkout outcome unknown")
}

// conflictNumber is the number of a Conflicts entry ("number: why").
func conflictNumber(c string) string {
	num, _, _ := strings.Cut(c, ":")
	return num
}

// dropConflict forgets num's conflict: the number has been imported since.
func (p *orderPayload) dropConflict(num string) {
	p.Conflicts = slices.DeleteFunc(p.Conflicts, func(c string) bool { return conflictNumber(c) == num })
	if len(p.Conflicts) == 0 {
		p.Conflicts = nil
	}
}

// delivered is how many DIDs Voxbone delivered with a usable number: imported or in
// conflict, each number once (rows written before a conflict was dropped on its import
// may list it in both).
func (p *orderPayload) delivered() int {
	seen := make(map[string]bool, len(p.Imported)+len(p.Conflicts))
	for _, n := range p.Imported {
		seen[n] = true
	}
	for _, c := range p.Conflicts {
		seen[conflictNumber(c)] = true
	}
	return len(seen)
}

// bookkeeping reports whether the row is no order of its own (an idempotency fence or a
// repeat's row): it is left out of listings and metrics.
func (p *orderPayload) bookkeeping() bool { return p.Orphan || p.Duplicate }

// planned returns how many DIDs the plan buys and what they cost, in cents.
func (p *orderPayload) planned() (qty, cents int) {
	for _, l := range p.Plan {
		qty += l.Quantity
		cents += l.Quantity * l.UnitCents
	}
	return qty, cents
}

// order is one journal row being worked on: the entry as last read or written and its
// decoded payload.
type order struct {
	e        *knm.JournalEntry
	p        orderPayload
	reserved bool // the plan's stock and cost are reserved in the carrier's Reservations
}

// state is the order's state as last read or written.
func (o *order) state() OrderState { return OrderState(o.e.State) }

// newOrderID returns a fresh knm order id, which is also the cart's customerReference.
func newOrderID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return OrderPrefix + hex.EncodeToString(b[:])
}

func decodeOrder(e *knm.JournalEntry) (*order, error) {
	o := &order{e: e}
	if err := json.Unmarshal(e.Payload, &o.p); err != nil {
		return nil, fmt.Errorf("knm_voxbone: journal %s: bad payload: %w", e.ID, err)
	}
	return o, nil
}

// create writes the order's first row.
func (c *Carrier) createOrder(ctx context.Context, p orderPayload) (*order, error) {
	p.Account = c.account
	raw, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	now := c.now()
	e := &knm.JournalEntry{ID: p.OrderID, Carrier: ModuleName, State: string(StatePlanned), Payload: raw, Created: now, Updated: now}
	if err := c.store.CreateJournal(ctx, e); err != nil {
		return nil, fmt.Errorf("knm_voxbone: journal order %s: %w", p.OrderID, err)
	}
	return &order{e: e, p: p}, nil
}

// advance writes the order in state, guarded by the revision last read: if another writer
// (Recover on this or another instance) moved the row, it fails with a conflict and the
// caller must stop acting on the order.
func (c *Carrier) advance(ctx context.Context, o *order, state OrderState) error {
	raw, err := json.Marshal(o.p)
	if err != nil {
		return err
	}
	prev := o.e
	next := *o.e
	next.State, next.Payload, next.Updated = string(state), raw, c.now()
	if err := c.store.UpdateJournal(ctx, &next); err != nil {
		return fmt.Errorf("knm_voxbone: journal order %s -> %s: %w", o.p.OrderID, state, err)
	}
	o.e = &next
	if state.Final() && OrderState(prev.State) != state && c.metrics.Order != nil && !o.p.bookkeeping() {
		c.metrics.Order(state, len(o.p.Imported))
	}
	if state.Final() && c.metrics.Spent != nil {
		// Voxbone charges for the DIDs it delivers: the plan's price, pro rata. A final
		// order finished again (late DIDs found by Reconcile) adds only what is new.
		was := 0
		if OrderState(prev.State).Final() {
			var pp orderPayload
			if json.Unmarshal(prev.Payload, &pp) == nil {
				was = pp.delivered()
			}
		}
		if qty, cents := o.p.planned(); qty > 0 {
			if d := cents*min(o.p.delivered(), qty)/qty - cents*min(was, qty)/qty; d > 0 {
				c.metrics.Spent(d)
			}
		}
	}
	return nil
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
	// Conflicts are DIDs bought by the order that knm stores otherwise (another module,
	// or another account than assign_to): "number: why"; never moved.
	Conflicts      []string  `json:"conflicts,omitempty"`
	Error          string    `json:"error,omitempty"`
	IdempotencyKey string    `json:"idempotency_key,omitempty"`
	AssignTo       string    `json:"assign_to,omitempty"`
	Created        time.Time `json:"created"`
	Updated        time.Time `json:"updated"`
	// Replayed is true when the result is that of an earlier request with the same
	// idempotency key.
	Replayed bool `json:"replayed,omitempty"`
}

func (o *order) result() *OrderResult {
	qty, cents := o.p.planned()
	nums := o.p.Imported
	if nums == nil {
		nums = []string{}
	}
	return &OrderResult{
		OrderID: o.p.OrderID, State: o.state(), QueryID: o.p.QueryID, Plan: o.p.Plan,
		Quantity: qty, CostCents: cents, CartID: o.p.CartID, OrderReferences: o.p.OrderReferences,
		Numbers: nums, Conflicts: o.p.Conflicts, Error: o.p.Error, IdempotencyKey: o.p.IdempotencyKey, AssignTo: o.p.AssignTo,
		Created: o.e.Created, Updated: o.e.Updated,
	}
}

// GetOrder returns an order of this carrier from the journal, or a not_found error.
func (c *Carrier) GetOrder(ctx context.Context, id string) (*OrderResult, error) {
	e, err := c.store.GetJournal(ctx, id)
	if err != nil {
		if knm.IsErrorName(err, knm.ErrNotFound) {
			return nil, knm.Errorf(knm.ErrNotFound, "voxbone order %s not found", id)
		}
		return nil, err
	}
	if e.Carrier != ModuleName || isCancelRow(e) {
		return nil, knm.Errorf(knm.ErrNotFound, "voxbone order %s not found", id)
	}
	o, err := decodeOrder(e)
	if err != nil {
		return nil, err
	}
	return o.result(), nil
}

// ListOrders returns every order of this carrier, oldest first (without the rows that
// repeats of an idempotent request, or fences of a dead request's key, leave; GetOrder
// still finds those).
func (c *Carrier) ListOrders(ctx context.Context) ([]*OrderResult, error) {
	es, err := c.store.FindJournals(ctx, knm.JournalFilter{Carrier: ModuleName})
	if err != nil {
		return nil, err
	}
	out := make([]*OrderResult, 0, len(es))
	for _, e := range es {
		if isCancelRow(e) {
			continue
		}
		o, err := decodeOrder(e)
		if err != nil {
			return nil, err
		}
		if !o.p.bookkeeping() {
			out = append(out, o.result())
		}
	}
	return out, nil
}
