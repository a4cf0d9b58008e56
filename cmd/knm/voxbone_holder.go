package main

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/carriers/knmvoxbone"
	"github.com/knmproject/knm/config"
	"github.com/knmproject/knm/ratelimit"
	"github.com/knmproject/knm/voxbone"
)

// voxboneRecheck is how often number_manager.voxbone is read again: a change (credentials,
// search_mode, max_order_cost, …) applies within this time, without a restart.
const voxboneRecheck = time.Second

// voxboneHolder keeps the process's knm_voxbone carrier in step with
// number_manager.voxbone. When the settings change it builds a new client and carrier
// (orders already running finish on the old one); the rate limiter is kept across
// rebuilds, so the budget is never reset by a config change, and so are the reservations of
// orders in flight, per Voxbone account. When Voxbone is not
// configured, or its settings are unusable, get says why, and knm runs without it.
type voxboneHolder struct {
	a     *app
	store knm.Store
	cfg   *config.Config

	recheck time.Duration // voxboneRecheck; 0 in tests

	mu       sync.Mutex
	checked  time.Time
	settings config.VoxboneConfig
	carrier  *knmvoxbone.Carrier
	why      error // why there is no carrier
	limiter  ratelimit.Limiter
	rps      int
	redis    *redis.Client // the shared limiter's client, made once: a rate change must not leak one
	// reservations are the stock and money planned by orders in flight, per Voxbone
	// account (its fingerprint), kept across rebuilds so that a rebuilt carrier never plans
	// what an older one of the same account is still buying, even after a switch to
	// another account and back (A→B→A).
	reservations map[string]*knmvoxbone.Reservations
}

// get returns the current carrier, or nil and the reason there is none.
func (h *voxboneHolder) get(ctx context.Context) (*knmvoxbone.Carrier, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if time.Since(h.checked) < h.recheck && (h.carrier != nil || h.why != nil) {
		return h.carrier, h.why
	}
	h.checked = time.Now()
	vc, err := h.cfg.Voxbone(ctx)
	if err == nil && !vc.Configured() {
		err = knm.Errorf(knm.ErrNotFound, "Voxbone is not configured on this knm").
			WithCause("set number_manager.voxbone username and password (or api_key for beta, or base_url)")
	}
	if err == nil {
		err = vc.CheckCredentials()
	}
	if err != nil {
		if h.carrier != nil && knm.ErrorNameOf(err) != knm.ErrNotFound {
			// Unreadable now (validation refuses such writes, so the store was edited by
			// hand): keep the last good carrier rather than stop buying and releasing.
			h.a.logger.Error("number_manager.voxbone is unusable; keeping the previous settings", slog.String("error", err.Error()))
			return h.carrier, nil
		}
		h.carrier, h.why = nil, err
		return nil, err
	}
	if h.carrier != nil && vc == h.settings {
		return h.carrier, nil
	}
	c, err := h.build(vc)
	if err != nil {
		h.carrier, h.why = nil, err
		return nil, err
	}
	h.carrier, h.settings, h.why = c, vc, nil
	return c, nil
}

// build makes a client and a carrier for vc, keeping the limiter unless the rate changed
// and the reservations unless the account changed.
func (h *voxboneHolder) build(vc config.VoxboneConfig) (*knmvoxbone.Carrier, error) {
	a := h.a
	m := a.metrics()
	if h.limiter == nil || h.rps != vc.RateLimitRPS {
		if a.redis != "" {
			if h.redis == nil {
				opt, err := redis.ParseURL(a.redis)
				if err != nil {
					return nil, usageError("--redis %q is not a redis:// URL", redactedURL(a.redis))
				}
				h.redis = redis.NewClient(opt)
			}
			// One budget per Voxbone account and egress IP: every instance uses the same key.
			r := ratelimit.NewRedis(h.redis, "knm:voxbone:ratelimit", vc.RateLimitRPS)
			r.OnWait = m.ObserveLimiterWait
			h.limiter = r
		} else {
			l := ratelimit.NewLocal(vc.RateLimitRPS)
			l.OnWait = m.ObserveLimiterWait
			h.limiter = l
		}
		h.rps = vc.RateLimitRPS
	}
	opts := []voxbone.Option{
		voxbone.WithEnvironment(vc.Environment),
		voxbone.WithPageSize(vc.PageSize),
		voxbone.WithLimiter(h.limiter),
		voxbone.WithRequestTimeout(vc.RequestTimeout),
		voxbone.WithLogger(a.logger),
		voxbone.WithUserAgent("knm"),
		voxbone.WithObserver(m.ObserveVoxboneRequest),
	}
	if vc.BaseURL != "" {
		opts = append(opts, voxbone.WithBaseURL(vc.BaseURL))
	}
	if vc.Username != "" || vc.Password != "" {
		opts = append(opts, voxbone.WithBasicAuth(vc.Username, vc.Password))
	}
	if vc.APIKey != "" {
		opts = append(opts, voxbone.WithAPIKey(vc.APIKey))
	}
	cl, err := voxbone.New(opts...)
	if err != nil {
		return nil, err
	}
	st := knmvoxbone.Settings{
		Username: vc.Username, Password: vc.Password, APIKey: vc.APIKey, Environment: vc.Environment,
		PageSize: vc.PageSize, BaseURL: vc.BaseURL, RateLimitRPS: vc.RateLimitRPS, RequestTimeout: vc.RequestTimeout,
		SearchMode: vc.SearchMode, MaxOrderQuantity: vc.MaxOrderQuantity, MaxOrderCost: vc.MaxOrderCost, CartTTL: vc.CartTTL,
	}
	fp := knmvoxbone.AccountFingerprintOf(st)
	if h.reservations == nil {
		h.reservations = map[string]*knmvoxbone.Reservations{}
	}
	res := h.reservations[fp]
	if res == nil {
		res = knmvoxbone.NewReservations()
		h.reservations[fp] = res
	}
	return knmvoxbone.New(st, knmvoxbone.Deps{
		Store:        h.store,
		Client:       cl,
		Logger:       a.logger,
		Now:          time.Now,
		Reservations: res,
		Metrics: knmvoxbone.Metrics{
			Order: func(state string, _ int) { m.ObserveOrderState(state) },
			Spent: func(cents int) { m.AddMoneySpent("account", float64(cents)/100) },
		},
	})
}

// unavailableCarrier stands for knm_voxbone while it cannot run: every operation fails with
// the reason, so a search reports it beside the other carriers' rows and a release of a
// Voxbone number is refused instead of skipping the cancel (which would keep it billed).
type unavailableCarrier struct {
	name string
	why  error
}

func (u unavailableCarrier) Name() string { return u.name }
func (u unavailableCarrier) FindNumbers(context.Context, knm.SearchOptions) ([]knm.SearchRow, error) {
	return nil, u.why
}
func (u unavailableCarrier) AcquireNumber(context.Context, *knm.Number) error    { return nil } // a no-op for knm_voxbone too
func (u unavailableCarrier) DisconnectNumber(context.Context, *knm.Number) error { return u.why }
func (u unavailableCarrier) IsNumberBillable(*knm.Number) bool                   { return true }
func (u unavailableCarrier) ShouldLookupCNAM() bool                              { return true }
func (u unavailableCarrier) IsLocal() bool                                       { return false }
func (u unavailableCarrier) CheckNumbers(context.Context, []string) (map[string]string, error) {
	return nil, u.why
}
func (u unavailableCarrier) Info() knm.CarrierInfo { return knm.CarrierInfo{MaximalPrefixLength: 3} }

// ReturnsNumberOnDisconnect matches the real knm_voxbone's answer.
func (u unavailableCarrier) ReturnsNumberOnDisconnect() bool { return true }
