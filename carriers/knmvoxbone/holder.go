package knmvoxbone

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/ratelimit"
)

// HolderOptions are what a Holder takes from the process that wires it.
type HolderOptions struct {
	Store knm.Store
	// Settings reads number_manager.voxbone (ReadSettings over the process's config).
	Settings func(ctx context.Context) (Settings, error)
	// Limiter returns the limiter of a client sending rps requests per second: in-process,
	// or shared by every instance through Redis. It is asked again only when rate_limit_rps
	// changes, so a rebuild never resets the budget.
	Limiter func(rps int) (ratelimit.Limiter, error)
	Metrics Metrics
	Logger  *slog.Logger
	// Recheck is how long the settings read last are trusted; 0 reads them at every call.
	Recheck time.Duration
	// Owner returns the instance id of this process's lease (see Deps.Owner).
	Owner func() string
}

// Holder keeps a process's knm_voxbone carrier in step with number_manager.voxbone: a
// change of the settings applies within Recheck, without a restart. Orders running on a
// replaced carrier finish on it; the limiter is kept across rebuilds, and so are the
// reservations of orders in flight, per Voxbone account. It is safe for concurrent use.
type Holder struct {
	opts HolderOptions

	mu       sync.Mutex
	checked  time.Time
	settings Settings // of carrier
	carrier  *Carrier
	why      error // why there is no carrier
	limiter  ratelimit.Limiter
	rps      int // of limiter
	// reservations are kept per account fingerprint, so that a rebuilt carrier never plans
	// what an older one of the same account is still buying, even after a switch to another
	// account and back.
	reservations map[string]*Reservations
	flights      *Flights // orders running on any carrier the holder built
}

var _ knm.Recoverer = (*Holder)(nil)

// NewHolder returns a holder; it reads the settings at its first use.
func NewHolder(o HolderOptions) *Holder {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Holder{opts: o, reservations: map[string]*Reservations{}, flights: NewFlights()}
}

// Carrier returns the current carrier, or nil and why there is none: a not_found error when
// Voxbone is not configured, an invalid one when its settings are incomplete. When stored
// settings become unreadable the last good carrier is kept (writes are validated, so the
// store was edited by hand), rather than stop buying and releasing.
func (h *Holder) Carrier(ctx context.Context) (*Carrier, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if time.Since(h.checked) < h.opts.Recheck && (h.carrier != nil || h.why != nil) {
		return h.carrier, h.why
	}
	h.checked = time.Now()
	s, err := h.read(ctx)
	if err != nil {
		if h.carrier != nil && !knm.IsErrorName(err, knm.ErrNotFound) {
			h.opts.Logger.Error(Category+" is unusable; keeping the previous settings", "error", err.Error())
			return h.carrier, nil
		}
		h.carrier, h.why = nil, err
		return nil, err
	}
	if h.carrier != nil && s == h.settings {
		return h.carrier, nil
	}
	c, err := h.build(s)
	if err != nil {
		h.carrier, h.why = nil, err
		return nil, err
	}
	h.carrier, h.settings, h.why = c, s, nil
	return c, nil
}

// read returns usable settings, or why there are none.
func (h *Holder) read(ctx context.Context) (Settings, error) {
	s, err := h.opts.Settings(ctx)
	if err != nil {
		return s, err
	}
	if !s.Configured() {
		return s, knm.Errorf(knm.ErrNotFound, "Voxbone is not configured on this knm").
			WithCause("set " + Category + " username and password (or api_key for beta, or base_url)")
	}
	return s, s.CheckCredentials()
}

// build makes a carrier for s, keeping the limiter unless the rate changed and the
// reservations of the account.
func (h *Holder) build(s Settings) (*Carrier, error) {
	if h.limiter == nil || h.rps != s.RateLimitRPS {
		lim, err := h.opts.Limiter(s.RateLimitRPS)
		if err != nil {
			return nil, err
		}
		h.limiter, h.rps = lim, s.RateLimitRPS
	}
	fp := s.AccountFingerprint()
	res := h.reservations[fp]
	if res == nil {
		res = NewReservations()
		h.reservations[fp] = res
	}
	return New(s, Deps{Store: h.opts.Store, Limiter: h.limiter, Logger: h.opts.Logger, Metrics: h.opts.Metrics,
		Reservations: res, Owner: h.opts.Owner, Flights: h.flights})
}

// Module is the carriers registry's factory of knm_voxbone: the current carrier, or while
// there is none a stand-in that fails every call with the reason.
func (h *Holder) Module() (knm.Carrier, error) {
	c, err := h.Carrier(context.Background())
	if c == nil {
		return unavailable{why: err}, nil
	}
	return c, nil
}

// RecoverIdle recovers the orders of the current carrier (see Carrier.RecoverIdle); without
// a carrier there is nothing it could settle.
func (h *Holder) RecoverIdle(ctx context.Context, minIdle time.Duration) (knm.RecoverSummary, error) {
	c, _ := h.Carrier(ctx)
	if c == nil {
		return knm.RecoverSummary{}, nil
	}
	return c.RecoverIdle(ctx, minIdle)
}

// InFlight returns the orders running in this process now, on any carrier the holder built.
func (h *Holder) InFlight() []string { return h.flights.IDs() }

// unavailable stands for knm_voxbone while it cannot run: a search reports the reason beside
// the other carriers' rows, and a release of a Voxbone number is refused instead of
// skipping the cancel (which would keep the DID billed).
type unavailable struct{ why error }

func (u unavailable) Name() string { return ModuleName }
func (u unavailable) FindNumbers(context.Context, knm.SearchOptions) ([]knm.SearchRow, error) {
	return nil, u.why
}
func (u unavailable) AcquireNumber(context.Context, *knm.Number) error    { return nil } // as the real module
func (u unavailable) DisconnectNumber(context.Context, *knm.Number) error { return u.why }
func (u unavailable) IsNumberBillable(*knm.Number) bool                   { return true }
func (u unavailable) ShouldLookupCNAM() bool                              { return true }
func (u unavailable) IsLocal() bool                                       { return false }
func (u unavailable) CheckNumbers(context.Context, []string) (map[string]string, error) {
	return nil, u.why
}
func (u unavailable) Info() knm.CarrierInfo           { return knm.CarrierInfo{MaximalPrefixLength: 3} }
func (u unavailable) ReturnsNumberOnDisconnect() bool { return true }
