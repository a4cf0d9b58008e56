package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/carriers"
	cvoxbone "github.com/knmproject/knm/carriers/voxbone"
	"github.com/knmproject/knm/config"
	"github.com/knmproject/knm/httpapi"
	"github.com/knmproject/knm/ratelimit"
)

// wiring is per-app state of the Voxbone wiring. It lives beside app (keyed by it) because
// app's fields belong to app.go.
type wiring struct {
	once    sync.Once
	metrics *httpapi.Metrics
	carrier *cvoxbone.Carrier
}

var wirings sync.Map // *app -> *wiring

func (a *app) wiring() *wiring {
	w, _ := wirings.LoadOrStore(a, &wiring{})
	return w.(*wiring)
}

// metrics returns the process's Prometheus metrics, shared by the API and the Voxbone
// client, limiter and carrier.
func (a *app) metrics() *httpapi.Metrics {
	w := a.wiring()
	if w.metrics == nil {
		w.metrics = httpapi.NewMetrics(nil)
	}
	return w.metrics
}

// wireVoxbone adds the knm_voxbone registration to a.registerCarriers, once per app. The
// carrier is built from system_config number_manager.voxbone when the manager is built,
// and only when credentials or a base_url are configured; otherwise knm runs without it
// and the native routes say Voxbone is not configured.
func (a *app) wireVoxbone() {
	w := a.wiring()
	w.once.Do(func() {
		a.registerCarriers = append(a.registerCarriers, func(ctx context.Context, reg *carriers.Registry, s knm.Store, cfg *config.Config) error {
			c, err := a.buildVoxbone(ctx, s, cfg)
			if err != nil || c == nil {
				return err
			}
			w.carrier = c
			reg.Register(cvoxbone.ModuleName, func() (knm.Carrier, error) { return c, nil })
			return nil
		})
	})
}

func (a *app) buildVoxbone(ctx context.Context, s knm.Store, cfg *config.Config) (*cvoxbone.Carrier, error) {
	vc, err := cfg.Voxbone(ctx)
	if err != nil {
		return nil, fmt.Errorf("number_manager.voxbone: %w", err)
	}
	if vc.Username == "" && vc.APIKey == "" && vc.BaseURL == "" {
		return nil, nil
	}
	var lim ratelimit.Limiter = ratelimit.NewLocal(vc.RateLimitRPS)
	if a.redis != "" {
		opt, err := redis.ParseURL(a.redis)
		if err != nil {
			return nil, knm.Errorf(knm.ErrInvalid, "--redis: not a Redis URL").WithCause("redis")
		}
		// One budget per Voxbone account and egress IP: every instance uses the same key.
		lim = ratelimit.NewRedis(redis.NewClient(opt), "knm:voxbone:ratelimit", vc.RateLimitRPS)
	}
	m := a.metrics()
	st := cvoxbone.Settings{
		Username: vc.Username, Password: vc.Password, APIKey: vc.APIKey, Environment: vc.Environment,
		PageSize: vc.PageSize, BaseURL: vc.BaseURL, RateLimitRPS: vc.RateLimitRPS, RequestTimeout: vc.RequestTimeout,
		SearchMode: vc.SearchMode, MaxOrderQuantity: vc.MaxOrderQuantity, MaxOrderCost: vc.MaxOrderCost, CartTTL: vc.CartTTL,
	}
	return cvoxbone.New(st, cvoxbone.Deps{
		Store:   s,
		Limiter: timedLimiter{lim, m.ObserveLimiterWait},
		Logger:  a.logger,
		Now:     time.Now,
		Metrics: cvoxbone.Metrics{
			Request: m.ObserveVoxboneRequest,
			Order:   func(state string, _ int) { m.ObserveOrderState(state) },
		},
	})
}

// voxboneCarrier returns the knm_voxbone carrier, or nil when Voxbone is not configured.
func (a *app) voxboneCarrier(ctx context.Context) (*cvoxbone.Carrier, error) {
	a.wireVoxbone()
	if _, err := a.manager(ctx); err != nil {
		return nil, err
	}
	return a.wiring().carrier, nil
}

// timedLimiter reports how long each request waited for the rate budget.
type timedLimiter struct {
	ratelimit.Limiter
	observe func(time.Duration)
}

func (l timedLimiter) Wait(ctx context.Context) error {
	start := time.Now()
	err := l.Limiter.Wait(ctx)
	l.observe(time.Since(start))
	return err
}

// voxboneAPI adapts the carrier to httpapi.Voxbone.
type voxboneAPI struct {
	c       *cvoxbone.Carrier
	metrics *httpapi.Metrics
}

func (v voxboneAPI) DIDGroups(ctx context.Context, q httpapi.DIDGroupQuery) (any, error) {
	res, err := v.c.Quote(ctx, cvoxbone.QuoteRequest{Country: q.Country, AreaCode: q.AreaCode, Type: q.Type})
	if res == nil {
		res = []cvoxbone.GroupQuote{}
	}
	return res, carrierError(err)
}

func (v voxboneAPI) Balance(ctx context.Context) (any, error) {
	b, err := v.c.Client().AccountBalance(ctx)
	return b, carrierError(err)
}

func (v voxboneAPI) Order(ctx context.Context, r httpapi.OrderRequest) (*httpapi.Order, error) {
	res, err := v.c.Order(ctx, cvoxbone.OrderRequest{GroupID: int(r.GroupID), Quantity: r.Quantity, Country: r.Country,
		IdempotencyKey: r.IdempotencyKey, AssignTo: r.AssignTo})
	if err != nil {
		return nil, carrierError(err)
	}
	if !res.Replayed && len(res.Numbers) > 0 && res.Quantity > 0 {
		// Money actually spent: the planned cost, pro rata of the DIDs delivered.
		v.metrics.AddMoneySpent("account", float64(res.CostCents)/100*float64(len(res.Numbers))/float64(res.Quantity))
	}
	return apiOrder(res), nil
}

func (v voxboneAPI) GetOrder(ctx context.Context, id string) (*httpapi.Order, error) {
	res, err := v.c.GetOrder(ctx, id)
	if err != nil {
		return nil, carrierError(err)
	}
	return apiOrder(res), nil
}

func (v voxboneAPI) ListOrders(ctx context.Context) ([]*httpapi.Order, error) {
	all, err := v.c.ListOrders(ctx)
	if err != nil {
		return nil, carrierError(err)
	}
	out := make([]*httpapi.Order, len(all))
	for i, o := range all {
		out[i] = apiOrder(o)
	}
	return out, nil
}

func apiOrder(o *cvoxbone.OrderResult) *httpapi.Order {
	nums := o.Numbers
	if nums == nil {
		nums = []string{}
	}
	return &httpapi.Order{ID: o.OrderID, State: o.State, AssignTo: o.AssignTo, Numbers: nums, Details: o}
}

// carrierError keeps knm errors and turns anything else (a Voxbone client error, which
// never carries credentials) into a carrier_fault, so the API answers 502 with the reason
// instead of a bare 500.
func carrierError(err error) error {
	if err == nil {
		return nil
	}
	var ke *knm.Error
	if errors.As(err, &ke) {
		return err
	}
	return (&knm.Error{Name: knm.ErrCarrier, Message: "voxbone: " + err.Error()}).Wrap(err)
}
