package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/carriers"
	"github.com/knmproject/knm/carriers/knmvoxbone"
	"github.com/knmproject/knm/config"
	"github.com/knmproject/knm/httpapi"
	"github.com/knmproject/knm/ratelimit"
)

// voxboneRecheck is how long the number_manager.voxbone settings read last are trusted: a
// change applies within this time, without a restart.
const voxboneRecheck = time.Second

// voxboneHolder is knm_voxbone as this process wires it: the carrier holder and the client
// of the Redis limiter, which app.close closes.
type voxboneHolder struct {
	*knmvoxbone.Holder
	redis *redis.Client
}

// registerVoxbone registers knm_voxbone in reg, following number_manager.voxbone.
func (a *app) registerVoxbone(reg *carriers.Registry, s knm.Store, cfg *config.Config) {
	m := a.metrics()
	h := &voxboneHolder{}
	h.Holder = knmvoxbone.NewHolder(knmvoxbone.HolderOptions{
		Store:    s,
		Settings: func(ctx context.Context) (knmvoxbone.Settings, error) { return knmvoxbone.ReadSettings(ctx, cfg) },
		Limiter:  h.limiter(a.redis, m.ObserveLimiterWait),
		Metrics: knmvoxbone.Metrics{
			Request:        m.ObserveVoxboneRequest,
			Order:          func(state knmvoxbone.OrderState, _ int) { m.ObserveOrderState(string(state)) },
			Spent:          func(cents int) { m.AddMoneySpent("account", float64(cents)/100) },
			Routing:        m.ObserveRouting,
			RoutingPending: m.SetRoutingPending,
			TakenOver:      m.ObserveOrderTakenOver,
		},
		Logger:  a.logger,
		Recheck: voxboneRecheck,
		Owner:   a.leaseID,
	})
	a.vox = h
	redis.SetLogger(redisLogger{logger: func() *slog.Logger { return a.logger }})
	reg.Register(knmvoxbone.ModuleName, h.Module)
}

// limiter returns the holder's limiter factory: in-process, or with --redis one budget that
// every instance shares (the Voxbone budget is per account and egress IP).
func (h *voxboneHolder) limiter(redisURL string, onWait func(time.Duration)) func(int) (ratelimit.Limiter, error) {
	return func(rps int) (ratelimit.Limiter, error) {
		if redisURL == "" {
			l := ratelimit.NewLocal(rps)
			l.OnWait = onWait
			return l, nil
		}
		if h.redis == nil {
			if !strings.Contains(redisURL, "://") {
				redisURL = "redis://" + redisURL // host:port, as redis-cli takes it
			}
			opt, err := redis.ParseURL(redisURL)
			if err != nil {
				return nil, usageError("--redis %s is not a Redis address (redis://[:PASSWORD@]HOST:PORT[/DB] "+
					"or HOST:PORT): %v", redactedURL(redisURL), err)
			}
			h.redis = redis.NewClient(opt)
		}
		r := ratelimit.NewRedis(h.redis, "knm:voxbone:ratelimit", rps)
		r.OnWait = onWait
		return r, nil
	}
}

// redisLogger sends go-redis's own log lines (a failed dial, retried) to the command's
// logger at debug level: the error that ends the command already says what failed.
type redisLogger struct{ logger func() *slog.Logger }

func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	if lg := l.logger(); lg != nil {
		lg.DebugContext(ctx, "redis: "+fmt.Sprintf(format, v...))
	}
}

// voxboneCarrier returns the knm_voxbone carrier, or nil and the reason there is none.
func (a *app) voxboneCarrier(ctx context.Context) (*knmvoxbone.Carrier, error) {
	if _, err := a.manager(ctx); err != nil {
		return nil, err
	}
	return a.vox.Carrier(ctx)
}

// voxboneAPI adapts the carrier to httpapi.Voxbone. The carrier is resolved per call, so a
// settings change applies to the API without a restart; while Voxbone is unusable every
// route answers why (404 when it is not configured, 400 when its settings are incomplete).
type voxboneAPI struct {
	h *voxboneHolder
}

func (v voxboneAPI) DIDGroups(ctx context.Context, q httpapi.DIDGroupQuery) (any, error) {
	c, err := v.h.Carrier(ctx)
	if err != nil {
		return nil, err
	}
	res, err := c.Quote(ctx, knmvoxbone.QuoteRequest{Country: q.Country, AreaCode: q.AreaCode, Type: q.Type})
	if res == nil {
		res = []knmvoxbone.GroupQuote{}
	}
	return res, carrierError(err)
}

func (v voxboneAPI) Balance(ctx context.Context) (any, error) {
	c, err := v.h.Carrier(ctx)
	if err != nil {
		return nil, err
	}
	b, err := c.Client().AccountBalance(ctx)
	return b, carrierError(err)
}

func (v voxboneAPI) Order(ctx context.Context, r httpapi.OrderRequest) (*httpapi.Order, error) {
	c, err := v.h.Carrier(ctx)
	if err != nil {
		return nil, err
	}
	res, err := c.Order(ctx, knmvoxbone.OrderRequest{GroupID: int(r.GroupID), Quantity: r.Quantity, Country: r.Country,
		IdempotencyKey: r.IdempotencyKey, AssignTo: r.AssignTo})
	if err != nil && (res == nil || !res.State.MaySpend()) {
		return nil, carrierError(err) // nothing was bought
	}
	// An order that may have spent money is answered with its state and the reason, so a
	// client does not retry and buy again.
	if err != nil && res.Error == "" {
		res.Error = err.Error()
	}
	return apiOrder(res), nil
}

func (v voxboneAPI) GetOrder(ctx context.Context, id string) (*httpapi.Order, error) {
	c, err := v.h.Carrier(ctx)
	if err != nil {
		return nil, err
	}
	res, err := c.GetOrder(ctx, id)
	if err != nil {
		return nil, carrierError(err)
	}
	return apiOrder(res), nil
}

func (v voxboneAPI) ListOrders(ctx context.Context) ([]*httpapi.Order, error) {
	c, err := v.h.Carrier(ctx)
	if err != nil {
		return nil, err
	}
	all, err := c.ListOrders(ctx)
	if err != nil {
		return nil, carrierError(err)
	}
	out := make([]*httpapi.Order, len(all))
	for i, o := range all {
		out[i] = apiOrder(o)
	}
	return out, nil
}

func apiOrder(o *knmvoxbone.OrderResult) *httpapi.Order {
	nums := o.Numbers
	if nums == nil {
		nums = []string{}
	}
	return &httpapi.Order{ID: o.OrderID, State: string(o.State), AssignTo: o.AssignTo, Numbers: nums, Details: o}
}

// carrierError keeps knm errors and turns anything else (a Voxbone client error, which never
// carries credentials) into a carrier_fault, so the API answers 502 with the reason.
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

// Route applies the routing settings to DIDs knm holds (POST /v2/voxbone/routing).
func (v voxboneAPI) Route(ctx context.Context, r httpapi.RouteRequest) (any, error) {
	c, err := v.h.Carrier(ctx)
	if err != nil {
		return nil, err
	}
	rep, err := c.Route(ctx, knmvoxbone.RouteRequest{Numbers: r.Numbers, All: r.All, DryRun: r.DryRun})
	if err != nil {
		return nil, carrierError(err)
	}
	return rep, nil
}
