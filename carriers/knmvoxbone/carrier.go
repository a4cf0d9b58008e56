// Package knmvoxbone is the knm_voxbone carrier module (DESIGN.md §4): a number search that
// buys safely from Voxbone, an order journal with crash recovery, idempotent native orders,
// release, reconciliation and cart purging.
//
// Voxbone reveals a DID only once it is bought, so a search in order mode serves the pool of
// numbers bought earlier first and buys only the shortfall, within max_order_quantity,
// max_order_cost and the balance. Every order is journalled before each step, with the knm
// order id as the cart's customerReference, so an order whose checkout may have happened is
// settled by looking it up, never by buying again.
package knmvoxbone

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/ratelimit"
	"github.com/knmproject/knm/voxbone"
)

// ModuleName is the Kazoo carrier module name of this carrier.
const ModuleName = "knm_voxbone"

// OrderPrefix starts the customerReference of every cart knm creates, which is also the knm
// order id. Purge deletes only carts whose reference has it.
const OrderPrefix = "knm-"

// Metrics are optional instrumentation hooks; they must not block.
type Metrics struct {
	// Request is called after every HTTP attempt of the carrier's Voxbone client.
	Request func(endpoint string, status int, d time.Duration)
	// Order is called when an order reaches a final state, with the DIDs it brought into knm.
	Order func(state OrderState, dids int)
	// Search is called after every FindNumbers with the rows served from the pool and bought.
	Search func(fromPool, bought int, d time.Duration)
	// Spent is called when an order reaches a final state with what its delivered DIDs cost,
	// in cents of the account currency.
	Spent func(cents int)
	// Routing is called after every routing attempt with the DIDs it routed and those left
	// pending.
	Routing func(routed, pending int)
	// RoutingPending is called after every recovery pass with the DIDs still waiting to be
	// routed.
	RoutingPending func(dids int)
}

// Deps are the carrier's collaborators. Store is required.
type Deps struct {
	Store knm.Store
	// Limiter paces every request of the carrier's client; nil gives a local limiter at
	// rate_limit_rps.
	Limiter ratelimit.Limiter
	// ClientOptions are applied after the options the settings give (a proxy's transport,
	// a test's short retries).
	ClientOptions []voxbone.Option
	Logger        *slog.Logger
	Now           func() time.Time
	Metrics       Metrics
	// Reservations are shared with the other carriers of the same Voxbone account; nil makes
	// new ones.
	Reservations *Reservations
	// Owner returns the instance id this process holds its lease under (lease.Lease.ID);
	// orders and cancels are journalled as its own. Nil, or "", journals them without an
	// owner, for a process that holds no lease.
	Owner func() string
	// Flights are the orders running in this process, shared by the carriers it builds; nil
	// makes new ones.
	Flights *Flights
}

// Carrier is the knm_voxbone carrier module. It is safe for concurrent use, and several
// Carriers (in one process or many) may share one store.
type Carrier struct {
	settings     Settings
	account      string // settings.AccountFingerprint(): the Voxbone account talked to
	store        knm.Store
	client       *voxbone.Client
	limiter      ratelimit.Limiter
	reservations *Reservations
	owner        func() string
	flights      *Flights
	log          *slog.Logger
	now          func() time.Time
	metrics      Metrics
	latency      *ewma // of the client's requests, for admission

	// settleTimeout bounds the work after a checkout or a cancel was sent, which runs
	// detached from the caller's context: money may be spent, so it must reach the database.
	settleTimeout time.Duration
	// deliveryDeadline, lateHorizon, lateBatch and lateInterval are DeliveryDeadline,
	// LateDeliveryHorizon, LateDeliveryBatch and lateDeliveryInterval; tests change them.
	deliveryDeadline time.Duration
	lateHorizon      time.Duration
	lateBatch        int
	lateInterval     func(sinceCheckout time.Duration) time.Duration
}

var (
	_ knm.Carrier        = (*Carrier)(nil)
	_ knm.NumberReturner = (*Carrier)(nil)
	_ knm.Recoverer      = (*Carrier)(nil)
)

// New returns the carrier. Zero fields of s take their defaults; invalid settings or a
// missing store are an invalid error.
func New(s Settings, d Deps) (*Carrier, error) {
	s = s.withDefaults()
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if d.Store == nil {
		return nil, knm.Errorf(knm.ErrInvalid, "knm_voxbone: a store is required")
	}
	c := &Carrier{settings: s, account: s.AccountFingerprint(), store: d.Store, reservations: d.Reservations,
		log: d.Logger, now: d.Now, metrics: d.Metrics,
		settleTimeout: 6 * s.RequestTimeout, deliveryDeadline: DeliveryDeadline,
		lateHorizon: LateDeliveryHorizon, lateBatch: LateDeliveryBatch, lateInterval: lateDeliveryInterval}
	if c.reservations == nil {
		c.reservations = NewReservations()
	}
	c.owner, c.flights = d.Owner, d.Flights
	if c.owner == nil {
		c.owner = func() string { return "" }
	}
	if c.flights == nil {
		c.flights = NewFlights()
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.now == nil {
		c.now = time.Now
	}
	lim := d.Limiter
	if lim == nil {
		lim = ratelimit.NewLocal(s.RateLimitRPS)
	}
	if m, ok := lim.(interface{ SetMargin(time.Duration) }); ok {
		m.SetMargin(s.RateLimitMargin)
	}
	c.limiter, c.latency = lim, &ewma{}
	observe := func(endpoint string, status int, took time.Duration) {
		c.latency.observe(took)
		if d.Metrics.Request != nil {
			d.Metrics.Request(endpoint, status, took)
		}
	}
	opts := append(s.clientOptions(lim, c.log, observe), d.ClientOptions...)
	client, err := voxbone.New(opts...)
	if err != nil {
		// The client's errors never hold credentials.
		return nil, knm.Errorf(knm.ErrInvalid, "knm_voxbone: %v", err)
	}
	c.client = client
	return c, nil
}

// RateBudget is the Voxbone request budget in use: the requests sent (or about to be) in
// the limiter's window, by every instance when the budget is shared through Redis.
type RateBudget struct {
	Used, PerSecond int
	Shared          bool // the budget is shared by every instance (Redis)
}

// RateBudget reports how much of the request budget is in use now; ok is false when the
// limiter cannot tell (it does not implement ratelimit.Meter).
func (c *Carrier) RateBudget(ctx context.Context) (b RateBudget, ok bool, err error) {
	m, ok := c.limiter.(ratelimit.Meter)
	if !ok {
		return RateBudget{}, false, nil
	}
	_, shared := c.limiter.(*ratelimit.Redis)
	used, rps, err := m.InUse(ctx)
	return RateBudget{Used: used, PerSecond: rps, Shared: shared}, true, err
}

// AccountFingerprint names the Voxbone account the carrier talks to (see
// Settings.AccountFingerprint).
func (c *Carrier) AccountFingerprint() string { return c.account }

// Client returns the carrier's Voxbone client (for the CLI's balance, groups and carts).
func (c *Carrier) Client() *voxbone.Client { return c.client }

// Settings returns the carrier's settings, defaults filled in.
func (c *Carrier) Settings() Settings { return c.settings }

// Name returns "knm_voxbone".
func (c *Carrier) Name() string { return ModuleName }

// Info reports a maximal prefix length of 3, as every HTTP carrier in Kazoo.
func (c *Carrier) Info() knm.CarrierInfo { return knm.CarrierInfo{MaximalPrefixLength: 3} }

// IsLocal is false: the module calls Voxbone.
func (c *Carrier) IsLocal() bool { return false }

// IsNumberBillable is true: Voxbone numbers cost money.
func (c *Carrier) IsNumberBillable(*knm.Number) bool { return true }

// ShouldLookupCNAM is true, as for Kazoo's other HTTP carriers.
func (c *Carrier) ShouldLookupCNAM() bool { return true }

// AcquireNumber buys nothing: a knm_voxbone number was bought when it was found. When the
// routing settings of the account it goes to ask for another configuration than its DID
// has (a reseller's own SBC), it routes the DID (see acquireRouting); otherwise it makes no
// Voxbone call.
func (c *Carrier) AcquireNumber(ctx context.Context, n *knm.Number) error {
	c.acquireRouting(ctx, n)
	return nil
}

// ReturnsNumberOnDisconnect is true: DisconnectNumber cancels the DID at Voxbone, so the
// manager deletes the number rather than offering it from the pool again.
func (c *Carrier) ReturnsNumberOnDisconnect() bool { return true }

// carrierError wraps a Voxbone failure as a knm error, keeping the name of a knm error
// (such as a conflict). Voxbone's errors never carry credentials.
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
