package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/carriers"
	cvoxbone "github.com/knmproject/knm/carriers/voxbone"
	"github.com/knmproject/knm/config"
	"github.com/knmproject/knm/httpapi"
)

// metrics returns the process's Prometheus metrics, shared by the API and the Voxbone
// client, limiter and carrier.
func (a *app) metrics() *httpapi.Metrics {
	if a.metricsReg == nil {
		a.metricsReg = httpapi.NewMetrics(nil)
	}
	return a.metricsReg
}

// registerVoxbone registers knm_voxbone in reg when number_manager.voxbone names
// credentials or a base_url; otherwise knm runs without it and the native routes say
// Voxbone is not configured. An invalid number_manager.voxbone is an error, so a typo is
// found at start-up rather than at the first search.
func (a *app) registerVoxbone(ctx context.Context, reg *carriers.Registry, s knm.Store, cfg *config.Config) error {
	vc, err := cfg.Voxbone(ctx)
	if err != nil {
		return fmt.Errorf("number_manager.voxbone: %w", err)
	}
	if vc.Username == "" && vc.APIKey == "" && vc.BaseURL == "" {
		return nil
	}
	cl, _, err := a.voxboneClient(ctx)
	if err != nil {
		return err
	}
	m := a.metrics()
	st := cvoxbone.Settings{
		Username: vc.Username, Password: vc.Password, APIKey: vc.APIKey, Environment: vc.Environment,
		PageSize: vc.PageSize, BaseURL: vc.BaseURL, RateLimitRPS: vc.RateLimitRPS, RequestTimeout: vc.RequestTimeout,
		SearchMode: vc.SearchMode, MaxOrderQuantity: vc.MaxOrderQuantity, MaxOrderCost: vc.MaxOrderCost, CartTTL: vc.CartTTL,
	}
	c, err := cvoxbone.New(st, cvoxbone.Deps{
		Store:  s,
		Client: cl,
		Logger: a.logger,
		Now:    time.Now,
		Metrics: cvoxbone.Metrics{
			Order: func(state string, _ int) { m.ObserveOrderState(state) },
			Spent: func(cents int) { m.AddMoneySpent("account", float64(cents)/100) },
		},
	})
	if err != nil {
		return err
	}
	a.vbCarrier = c
	reg.Register(cvoxbone.ModuleName, func() (knm.Carrier, error) { return c, nil })
	return nil
}

// voxboneCarrier returns the knm_voxbone carrier, or nil when Voxbone is not configured.
func (a *app) voxboneCarrier(ctx context.Context) (*cvoxbone.Carrier, error) {
	if _, err := a.manager(ctx); err != nil {
		return nil, err
	}
	return a.vbCarrier, nil
}

// voxboneAPI adapts the carrier to httpapi.Voxbone.
type voxboneAPI struct {
	c *cvoxbone.Carrier
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
		// The carrier answers an order that may have spent money with its result and no
		// error (so the API says 201 with the state and the reason, and a client does not
		// retry and buy again); an error here means nothing was bought.
		if res != nil && res.State != cvoxbone.StateFailed && res.State != "" && res.OrderID != "" &&
			res.State != cvoxbone.StatePlanned && res.State != cvoxbone.StateCartCreated && res.State != cvoxbone.StateItemsAdded {
			if res.Error == "" {
				res.Error = err.Error()
			}
			return apiOrder(res), nil
		}
		return nil, carrierError(err)
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
