package web

import (
	"context"
	"errors"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/carriers/knmvoxbone"
	"github.com/knmproject/knm/voxbone"
)

// Voxbone is what the console asks of the knm_voxbone carrier. VoxboneFrom builds it from
// the process's carrier; tests may pass their own.
type Voxbone interface {
	// Balance returns the Voxbone account balance.
	Balance(ctx context.Context) (*voxbone.AccountBalance, error)
	// Quote lists DID groups in stock with prices; it buys nothing.
	Quote(ctx context.Context, q knmvoxbone.QuoteRequest) ([]knmvoxbone.GroupQuote, error)
	// PlanPurchase says what a search would take from the pool and buy; it buys nothing.
	PlanPurchase(ctx context.Context, q knmvoxbone.PurchaseQuery) (*knmvoxbone.PurchasePlan, error)
	// Order places an idempotent native order.
	Order(ctx context.Context, r knmvoxbone.OrderRequest) (*knmvoxbone.OrderResult, error)
	// GetOrder returns one order, or not_found.
	GetOrder(ctx context.Context, id string) (*knmvoxbone.OrderResult, error)
	// ListOrders returns every order, oldest first.
	ListOrders(ctx context.Context) ([]*knmvoxbone.OrderResult, error)
	// OrdersForQuery returns the orders a search (by query id) placed; unfinishedOnly
	// reads only the orders still running, which is cheap.
	OrdersForQuery(ctx context.Context, queryID string, unfinishedOnly bool) ([]*knmvoxbone.OrderResult, error)
	// SettleOrder settles an unfinished order idle for at least minIdle.
	SettleOrder(ctx context.Context, id string, minIdle time.Duration) (*knmvoxbone.OrderResult, error)
	// Reconcile compares the Voxbone account with knm, importing what knm lacks when asked.
	Reconcile(ctx context.Context, importMissing bool) (*knmvoxbone.ReconcileReport, error)
	// RateBudget says how much of the request budget is in use; nil when the limiter
	// cannot tell.
	RateBudget(ctx context.Context) (*knmvoxbone.RateBudget, error)
}

// VoxboneFrom adapts the knm_voxbone carrier: get returns the carrier in force now (it
// follows number_manager.voxbone without a restart), or why there is none.
func VoxboneFrom(get func(context.Context) (*knmvoxbone.Carrier, error)) Voxbone {
	return carrierVoxbone{get: get}
}

type carrierVoxbone struct {
	get func(context.Context) (*knmvoxbone.Carrier, error)
}

// call runs f on the current carrier, turning a Voxbone client error into a carrier_fault
// whose message names the failure (never credentials: the client's errors carry none).
func call[T any](ctx context.Context, v carrierVoxbone, f func(*knmvoxbone.Carrier) (T, error)) (T, error) {
	var zero T
	c, err := v.get(ctx)
	if err != nil {
		return zero, err
	}
	out, err := f(c)
	var ke *knm.Error
	if err != nil && !errors.As(err, &ke) {
		err = (&knm.Error{Name: knm.ErrCarrier, Message: "voxbone: " + err.Error()}).Wrap(err)
	}
	return out, err
}

func (v carrierVoxbone) Balance(ctx context.Context) (*voxbone.AccountBalance, error) {
	return call(
		ctx,
		v,
		func(c *knmvoxbone.Carrier) (*voxbone.AccountBalance, error) { return c.Client().AccountBalance(ctx) },
	)
}

func (v carrierVoxbone) Quote(ctx context.Context, q knmvoxbone.QuoteRequest) ([]knmvoxbone.GroupQuote, error) {
	return call(ctx, v, func(c *knmvoxbone.Carrier) ([]knmvoxbone.GroupQuote, error) { return c.Quote(ctx, q) })
}

func (v carrierVoxbone) PlanPurchase(
	ctx context.Context,
	q knmvoxbone.PurchaseQuery,
) (*knmvoxbone.PurchasePlan, error) {
	return call(ctx, v, func(c *knmvoxbone.Carrier) (*knmvoxbone.PurchasePlan, error) { return c.PlanPurchase(ctx, q) })
}

func (v carrierVoxbone) Order(ctx context.Context, r knmvoxbone.OrderRequest) (*knmvoxbone.OrderResult, error) {
	return call(ctx, v, func(c *knmvoxbone.Carrier) (*knmvoxbone.OrderResult, error) { return c.Order(ctx, r) })
}

func (v carrierVoxbone) GetOrder(ctx context.Context, id string) (*knmvoxbone.OrderResult, error) {
	return call(ctx, v, func(c *knmvoxbone.Carrier) (*knmvoxbone.OrderResult, error) { return c.GetOrder(ctx, id) })
}

func (v carrierVoxbone) ListOrders(ctx context.Context) ([]*knmvoxbone.OrderResult, error) {
	return call(ctx, v, func(c *knmvoxbone.Carrier) ([]*knmvoxbone.OrderResult, error) { return c.ListOrders(ctx) })
}

func (v carrierVoxbone) OrdersForQuery(
	ctx context.Context,
	queryID string,
	unfinishedOnly bool,
) ([]*knmvoxbone.OrderResult, error) {
	return call(ctx, v, func(c *knmvoxbone.Carrier) ([]*knmvoxbone.OrderResult, error) {
		return c.OrdersForQuery(ctx, queryID, unfinishedOnly)
	})
}

func (v carrierVoxbone) SettleOrder(
	ctx context.Context,
	id string,
	minIdle time.Duration,
) (*knmvoxbone.OrderResult, error) {
	return call(
		ctx,
		v,
		func(c *knmvoxbone.Carrier) (*knmvoxbone.OrderResult, error) { return c.SettleOrder(ctx, id, minIdle) },
	)
}

func (v carrierVoxbone) Reconcile(ctx context.Context, importMissing bool) (*knmvoxbone.ReconcileReport, error) {
	return call(
		ctx,
		v,
		func(c *knmvoxbone.Carrier) (*knmvoxbone.ReconcileReport, error) {
			return c.Reconcile(ctx, importMissing)
		},
	)
}

func (v carrierVoxbone) RateBudget(ctx context.Context) (*knmvoxbone.RateBudget, error) {
	return call(ctx, v, func(c *knmvoxbone.Carrier) (*knmvoxbone.RateBudget, error) {
		b, ok, err := c.RateBudget(ctx)
		if !ok || err != nil {
			return nil, err
		}
		return &b, nil
	})
}
