package voxbone

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strconv"
	"time"
)

// AccountBalance is the prepaid balance of the account, in currency units (not cents).
type AccountBalance struct {
	Balance   float64 `json:"balance"`
	Threshold float64 `json:"threshold"` // automatic refill threshold
	Currency  string  `json:"currency"`
	Active    bool    `json:"active"`
}

// Cart is an ordering cart (voxbone-api.md §4.2). OrderProducts is nil for an empty cart,
// which the server sends as null.
type Cart struct {
	CartIdentifier    int            `json:"cartIdentifier"`
	CustomerReference string         `json:"customerReference"`
	Description       string         `json:"description"`
	DateAdded         string         `json:"dateAdded"` // "YYYY-MM-DD HH:MM:SS"
	OrderProducts     []OrderProduct `json:"orderProducts"`
}

// OrderProduct is one line of a cart. Note the wire name didgroupId, with a lower-case g,
// unlike didGroupId everywhere else.
type OrderProduct struct {
	OrderProductID     int    `json:"orderProductId"`
	ProductType        string `json:"productType"` // DID, CAPACITY, CREDIT_PACKAGE
	ProductDescription string `json:"productDescription"`
	Quantity           int    `json:"quantity"`
	DIDGroupID         *int   `json:"didgroupId"` // null for non-DID lines
}

// CreateCartRequest is the body of PUT ordering/cart. Both fields are optional;
// CustomerReference is at most 255 characters (error 416).
type CreateCartRequest struct {
	CustomerReference string `json:"customerReference,omitempty"`
	Description       string `json:"description,omitempty"`
}

// ListCartsOptions filters ordering/cart.
type ListCartsOptions struct {
	ListOptions
	CartIdentifier *int
	Reference      string // matches the carts' customerReference
}

// CartItem is the one product of an add-to-cart request: exactly one field must be set.
type CartItem struct {
	DID           *DIDCartItem           `json:"didCartItem,omitempty"`
	Capacity      *CapacityCartItem      `json:"capacityCartItem,omitempty"`
	CreditPackage *CreditPackageCartItem `json:"creditPackageCartItem,omitempty"`
}

// DIDCartItem orders Quantity DIDs from a DID group.
type DIDCartItem struct {
	DIDGroupID int `json:"didGroupId"`
	Quantity   int `json:"quantity"`
}

// CapacityCartItem orders channels in a zone, in multiples of 10.
type CapacityCartItem struct {
	Zone     string `json:"zone"`
	Quantity int    `json:"quantity"`
}

// CreditPackageCartItem orders prepaid credit.
type CreditPackageCartItem struct {
	CreditPackageID int `json:"creditPackageId"`
	Quantity        int `json:"quantity"`
}

// CheckoutResult is the answer of a checkout: one order per product type in the cart.
type CheckoutResult struct {
	Status              string            `json:"status"`
	ProductCheckoutList []ProductCheckout `json:"productCheckoutList"`
}

// ProductCheckout is the outcome for one product type. Message may be null.
type ProductCheckout struct {
	ProductType    string  `json:"productType"`
	Status         string  `json:"status"` // SUCCESS, PARTIAL, WARNING, ERROR
	OrderReference string  `json:"orderReference"`
	Message        *string `json:"message"`
}

// Order is a placed order (voxbone-api.md §4.8).
type Order struct {
	OrderID           int     `json:"orderId"`
	Reference         string  `json:"reference"` // the checkout's orderReference
	DateAdded         string  `json:"dateAdded"`
	DateCanceled      *string `json:"dateCanceled"`
	Status            string  `json:"status"`
	CustomerReference string  `json:"customerReference"`
}

// ListOrdersOptions filters ordering/order. Dates are sent as "YYYY-MM-DD HH:MM:SS" in the
// time's own location.
type ListOrdersOptions struct {
	ListOptions
	Reference         string
	CustomerReference string
	Status            string
	DateFrom          *time.Time
	DateTo            *time.Time
}

// dateLayout is the API's date format.
const dateLayout = "2006-01-02 15:04:05"

// statusResponse is the {"status":…} answer of calls that return nothing else.
type statusResponse struct {
	Status string `json:"status"`
}

// check turns a status other than SUCCESS into an *Error, so that callers cannot mistake
// a 200 carrying ERROR for a success.
func (s statusResponse) check() error {
	if s.Status == "SUCCESS" {
		return nil
	}
	return &Error{HTTPStatus: 200, Message: fmt.Sprintf("unexpected status %q", s.Status)}
}

func cartSeg(id int) string { return strconv.Itoa(id) }

func checkID(what string, id int) error {
	if id <= 0 {
		return fmt.Errorf("invalid %s %d", what, id)
	}
	return nil
}

// AccountBalance calls GET ordering/accountbalance.
func (c *Client) AccountBalance(ctx context.Context) (*AccountBalance, error) {
	var resp struct {
		AccountBalance AccountBalance `json:"accountBalance"`
	}
	r := &request{method: "GET", segments: []string{"ordering", "accountbalance"},
		endpoint: "GET ordering/accountbalance", retry: true}
	if err := c.do(ctx, r, &resp); err != nil {
		return nil, fmt.Errorf("voxbone: account balance: %w", err)
	}
	return &resp.AccountBalance, nil
}

// CreateCart calls PUT ordering/cart. It is never retried: a lost answer may still have
// created a cart, which knm finds again by its customerReference.
func (c *Client) CreateCart(ctx context.Context, req CreateCartRequest) (*Cart, error) {
	if len(req.CustomerReference) > 255 {
		return nil, errors.New("voxbone: create cart: customer reference longer than 255 characters")
	}
	var resp struct {
		Cart Cart `json:"cart"`
	}
	r := &request{method: "PUT", segments: []string{"ordering", "cart"}, endpoint: "PUT ordering/cart", body: req}
	if err := c.do(ctx, r, &resp); err != nil {
		return nil, fmt.Errorf("voxbone: create cart: %w", err)
	}
	return &resp.Cart, nil
}

// ListCarts calls GET ordering/cart and returns one page and the total count.
func (c *Client) ListCarts(ctx context.Context, opts ListCartsOptions) ([]Cart, int, error) {
	q, _, err := c.pageQuery(opts.ListOptions)
	if err != nil {
		return nil, 0, fmt.Errorf("voxbone: list carts: %w", err)
	}
	setInt(q, "cartIdentifier", opts.CartIdentifier)
	setString(q, "reference", opts.Reference)
	var resp struct {
		Carts       []Cart `json:"carts"`
		ResultCount int    `json:"resultCount"`
	}
	r := &request{method: "GET", segments: []string{"ordering", "cart"}, endpoint: "GET ordering/cart", query: q,
		retry: true}
	if err := c.do(ctx, r, &resp); err != nil {
		return nil, 0, fmt.Errorf("voxbone: list carts: %w", err)
	}
	return resp.Carts, resp.ResultCount, nil
}

// AllCarts follows the pages of GET ordering/cart from opts.PageNumber to the end.
func (c *Client) AllCarts(ctx context.Context, opts ListCartsOptions) iter.Seq2[Cart, error] {
	return paginate(ctx, c, opts.ListOptions, pageOf(opts, c.ListCarts))
}

// ListAllCarts collects every page of GET ordering/cart.
func (c *Client) ListAllCarts(ctx context.Context, opts ListCartsOptions) ([]Cart, error) {
	return collect(c.AllCarts(ctx, opts))
}

// GetCart calls GET ordering/cart/{cartIdentifier}. It returns an error matching
// ErrNotFound when the answer holds no cart.
func (c *Client) GetCart(ctx context.Context, cartID int) (*Cart, error) {
	if err := checkID("cart identifier", cartID); err != nil {
		return nil, fmt.Errorf("voxbone: get cart: %w", err)
	}
	var resp struct {
		Carts []Cart `json:"carts"`
	}
	r := &request{method: "GET", segments: []string{"ordering", "cart", cartSeg(cartID)},
		endpoint: "GET ordering/cart/{cartIdentifier}", retry: true}
	if err := c.do(ctx, r, &resp); err != nil {
		return nil, fmt.Errorf("voxbone: get cart %d: %w", cartID, err)
	}
	if len(resp.Carts) == 0 {
		return nil, fmt.Errorf("voxbone: get cart %d: %w", cartID, ErrNotFound)
	}
	return &resp.Carts[0], nil
}

// DeleteCart calls DELETE ordering/cart/{cartIdentifier}. Deleting is idempotent, so it is
// retried like a GET; a repeat of a delete that did happen answers error 400.
func (c *Client) DeleteCart(ctx context.Context, cartID int) error {
	if err := checkID("cart identifier", cartID); err != nil {
		return fmt.Errorf("voxbone: delete cart: %w", err)
	}
	var resp statusResponse
	r := &request{method: "DELETE", segments: []string{"ordering", "cart", cartSeg(cartID)},
		endpoint: "DELETE ordering/cart/{cartIdentifier}", retry: true}
	err := c.do(ctx, r, &resp)
	if err == nil {
		err = resp.check()
	}
	if err != nil {
		return fmt.Errorf("voxbone: delete cart %d: %w", cartID, err)
	}
	return nil
}

// AddToCart calls POST ordering/cart/{cartIdentifier}/product with exactly one item. The
// server merges a DID group already in the cart into its line. Never retried: a repeat
// could double the quantity.
func (c *Client) AddToCart(ctx context.Context, cartID int, item CartItem) error {
	if err := validateItem(cartID, item); err != nil {
		return fmt.Errorf("voxbone: add to cart %d: %w", cartID, err)
	}
	body := struct {
		CartIdentifier int `json:"cartIdentifier"`
		CartItem
	}{cartID, item}
	var resp statusResponse
	r := &request{method: "POST", segments: []string{"ordering", "cart", cartSeg(cartID), "product"},
		endpoint: "POST ordering/cart/{cartIdentifier}/product", body: body}
	err := c.do(ctx, r, &resp)
	if err == nil {
		err = resp.check()
	}
	if err != nil {
		return fmt.Errorf("voxbone: add to cart %d: %w", cartID, err)
	}
	return nil
}

// AddDIDsToCart adds quantity DIDs of a DID group to a cart (AddToCart with a DID item).
func (c *Client) AddDIDsToCart(ctx context.Context, cartID, didGroupID, quantity int) error {
	return c.AddToCart(ctx, cartID, CartItem{DID: &DIDCartItem{DIDGroupID: didGroupID, Quantity: quantity}})
}

func validateItem(cartID int, item CartItem) error {
	if err := checkID("cart identifier", cartID); err != nil {
		return err
	}
	n := 0
	if item.DID != nil {
		n++
		if item.DID.DIDGroupID <= 0 || item.DID.Quantity <= 0 {
			return errors.New("DID item needs a DID group id and a positive quantity")
		}
	}
	if item.Capacity != nil {
		n++
		if item.Capacity.Zone == "" || item.Capacity.Quantity <= 0 || item.Capacity.Quantity%10 != 0 {
			return errors.New("capacity item needs a zone and a positive quantity that is a multiple of 10")
		}
	}
	if item.CreditPackage != nil {
		n++
		if item.CreditPackage.CreditPackageID <= 0 || item.CreditPackage.Quantity <= 0 {
			return errors.New("credit package item needs a package id and a positive quantity")
		}
	}
	if n != 1 {
		return fmt.Errorf("exactly one item per request, got %d", n)
	}
	return nil
}

// RemoveFromCart calls POST ordering/cart/{cartIdentifier}/product/{orderProductId} and
// removes quantity units from that line. Never retried: a repeat would remove twice.
func (c *Client) RemoveFromCart(ctx context.Context, cartID, orderProductID, quantity int) error {
	err := checkID("cart identifier", cartID)
	if err == nil {
		err = checkID("order product id", orderProductID)
	}
	if err == nil && quantity <= 0 {
		err = fmt.Errorf("invalid quantity %d", quantity)
	}
	if err != nil {
		return fmt.Errorf("voxbone: remove from cart %d: %w", cartID, err)
	}
	body := struct {
		CartIdentifier int `json:"cartIdentifier"`
		OrderProductID int `json:"orderProductId"`
		Quantity       int `json:"quantity"`
	}{cartID, orderProductID, quantity}
	var resp statusResponse
	r := &request{method: "POST", segments: []string{"ordering", "cart", cartSeg(cartID), "product",
		strconv.Itoa(orderProductID)},
		endpoint: "POST ordering/cart/{cartIdentifier}/product/{orderProductId}", body: body}
	err = c.do(ctx, r, &resp)
	if err == nil {
		err = resp.check()
	}
	if err != nil {
		return fmt.Errorf("voxbone: remove product %d from cart %d: %w", orderProductID, cartID, err)
	}
	return nil
}

// Checkout calls GET ordering/cart/{cartIdentifier}/checkout, which places the orders and
// spends money. Although it is a GET it is never retried: after a lost answer the caller
// must look the order up (ListOrders by the cart's customerReference) instead of buying
// again. A PARTIAL product status is returned as is, not as an error.
func (c *Client) Checkout(ctx context.Context, cartID int) (*CheckoutResult, error) {
	if err := checkID("cart identifier", cartID); err != nil {
		return nil, fmt.Errorf("voxbone: checkout cart: %w", err)
	}
	var resp CheckoutResult
	r := &request{method: "GET", segments: []string{"ordering", "cart", cartSeg(cartID), "checkout"},
		endpoint: "GET ordering/cart/{cartIdentifier}/checkout"}
	if err := c.do(ctx, r, &resp); err != nil {
		return nil, fmt.Errorf("voxbone: checkout cart %d: %w", cartID, err)
	}
	return &resp, nil
}

// ListOrders calls GET ordering/order and returns one page and the total count.
func (c *Client) ListOrders(ctx context.Context, opts ListOrdersOptions) ([]Order, int, error) {
	q, _, err := c.pageQuery(opts.ListOptions)
	if err != nil {
		return nil, 0, fmt.Errorf("voxbone: list orders: %w", err)
	}
	setString(q, "reference", opts.Reference)
	setString(q, "customerReference", opts.CustomerReference)
	setString(q, "status", opts.Status)
	if opts.DateFrom != nil {
		q.Set("dateFrom", opts.DateFrom.Format(dateLayout))
	}
	if opts.DateTo != nil {
		q.Set("dateTo", opts.DateTo.Format(dateLayout))
	}
	var resp struct {
		Orders      []Order `json:"orders"`
		ResultCount int     `json:"resultCount"`
	}
	r := &request{method: "GET", segments: []string{"ordering", "order"}, endpoint: "GET ordering/order", query: q,
		retry: true}
	if err := c.do(ctx, r, &resp); err != nil {
		return nil, 0, fmt.Errorf("voxbone: list orders: %w", err)
	}
	return resp.Orders, resp.ResultCount, nil
}

// AllOrders follows the pages of GET ordering/order from opts.PageNumber to the end.
func (c *Client) AllOrders(ctx context.Context, opts ListOrdersOptions) iter.Seq2[Order, error] {
	return paginate(ctx, c, opts.ListOptions, pageOf(opts, c.ListOrders))
}

// ListAllOrders collects every page of GET ordering/order.
func (c *Client) ListAllOrders(ctx context.Context, opts ListOrdersOptions) ([]Order, error) {
	return collect(c.AllOrders(ctx, opts))
}

// CancelDIDs calls POST ordering/cancel and returns numberCancelled. Never retried: the
// caller compares numberCancelled with what it asked and re-checks the inventory.
func (c *Client) CancelDIDs(ctx context.Context, didIDs []int) (int, error) {
	if len(didIDs) == 0 {
		return 0, errors.New("voxbone: cancel DIDs: no DID ids")
	}
	for _, id := range didIDs {
		if err := checkID("DID id", id); err != nil {
			return 0, fmt.Errorf("voxbone: cancel DIDs: %w", err)
		}
	}
	body := struct {
		DIDIDs []int `json:"didIds"`
	}{didIDs}
	var resp struct {
		NumberCancelled int `json:"numberCancelled"`
	}
	r := &request{method: "POST", segments: []string{"ordering", "cancel"}, endpoint: "POST ordering/cancel",
		body: body}
	if err := c.do(ctx, r, &resp); err != nil {
		return 0, fmt.Errorf("voxbone: cancel DIDs %v: %w", didIDs, err)
	}
	return resp.NumberCancelled, nil
}
