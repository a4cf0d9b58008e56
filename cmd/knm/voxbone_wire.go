package main

import (
	"context"
	"errors"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/carriers"
	"github.com/knmproject/knm/carriers/knmvoxbone"
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

// registerVoxbone registers knm_voxbone in reg. The carrier follows
// number_manager.voxbone (see voxboneHolder); while Voxbone is not configured or its
// settings are unusable, the module answers every call with the reason.
func (a *app) registerVoxbone(reg *carriers.Registry, s knm.Store, cfg *config.Config) {
	a.vox = &voxboneHolder{a: a, store: s, cfg: cfg, recheck: voxboneRecheck}
	reg.Register(knmvoxbone.ModuleName, func() (knm.Carrier, error) {
		c, err := a.vox.get(context.Background())
		if c == nil {
			return unavailableCarrier{name: knmvoxbone.ModuleName, why: err}, nil
		}
		return c, nil
	})
}

// voxboneCarrier returns the knm_voxbone carrier, or nil and the reason there is none.
func (a *app) voxboneCarrier(ctx context.Context) (*knmvoxbone.Carrier, error) {
	if _, err := a.manager(ctx); err != nil {
		return nil, err
	}
	return a.vox.get(ctx)
}

// voxboneAPI adapts the carrier to httpapi.Voxbone.
// The carrier is resolved per call, so a change of number_manager.voxbone applies to the
// API without a restart; while Voxbone is unusable every route answers why (404 when it is
// not configured, 400 when its settings are incomplete).
type voxboneAPI struct {
	h *voxboneHolder
}

func (v voxboneAPI) DIDGroups(ctx context.Context, q httpapi.DIDGroupQuery) (any, error) {
	c, err := v.h.get(ctx)
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
	c, err := v.h.get(ctx)
	if err != nil {
		return nil, err
	}
	b, err := c.Client().AccountBalance(ctx)
	return b, carrierError(err)
}

func (v voxboneAPI) Order(ctx context.Context, r httpapi.OrderRequest) (*httpapi.Order, error) {
	c, err := v.h.get(ctx)
	if err != nil {
		return nil, err
	}
	res, err := c.Order(ctx, knmvoxbone.OrderRequest{GroupID: int(r.GroupID), Quantity: r.Quantity, Country: r.Country,
		IdempotencyKey: r.IdempotencyKey, AssignTo: r.AssignTo})
	if err != nil {
		// The carrier answers an order that may have spent money with its result and no
		// error (so the API says 201 with the state and the reason, and a client does not
		// retry and buy again); an error here means nothing was bought.
		if res != nil && res.State != knmvoxbone.StateFailed && res.State != "" && res.OrderID != "" &&
			res.State != knmvoxbone.StatePlanned && res.State != knmvoxbone.StateCartCreated && res.State != knmvoxbone.StateItemsAdded {
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
	c, err := v.h.get(ctx)
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
	c, err := v.h.get(ctx)
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
