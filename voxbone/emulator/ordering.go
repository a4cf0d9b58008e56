package emulator

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Handlers of the ordering module (voxbone-api.md §4 and §7.5). They run with e.mu held.

// cartState is a cart with the private details of its lines.
type cartState struct {
	Cart
	lines []*cartLine
}

type cartLine struct {
	OrderProduct
	groupID         int
	zone            string
	creditPackageID int
}

func (c *cartState) view() Cart {
	v := c.Cart
	v.OrderProducts = nil // null, not [], for an empty cart
	for _, l := range c.lines {
		p := l.OrderProduct
		p.DIDgroupID = clonePtr(l.DIDgroupID)
		v.OrderProducts = append(v.OrderProducts, p)
	}
	return v
}

func (e *Emulator) accountBalance(*request) (any, error) {
	return map[string]any{"accountBalance": AccountBalance{
		Balance: e.balance, Threshold: 100.0, Currency: e.cfg.Currency, Active: true,
	}}, nil
}

func (e *Emulator) createCart(q *request) (any, error) {
	var body struct {
		CustomerReference string `json:"customerReference"`
		Description       string `json:"description"`
	}
	if err := decodeBody(q.body, &body); err != nil {
		return nil, err
	}
	if len([]rune(body.CustomerReference)) > 255 {
		return nil, invalid(416)
	}
	id := e.seq.cart
	e.seq.cart++
	c := &cartState{Cart: Cart{CartIdentifier: id, CustomerReference: body.CustomerReference,
		Description: body.Description, DateAdded: formatDate(q.now)}}
	e.carts[id] = c
	return map[string]any{"cart": c.view()}, nil
}

func (e *Emulator) listCarts(q *request) (any, error) {
	number, size, err := q.query.page()
	if err != nil {
		return nil, err
	}
	id, hasID, err := q.query.integer("cartIdentifier")
	if err != nil {
		return nil, err
	}
	ref := q.query.str("reference")
	var out []Cart
	for _, c := range e.sortedCarts() {
		if (hasID && c.CartIdentifier != id) || (ref != "" && c.CustomerReference != ref) {
			continue
		}
		out = append(out, c.view())
	}
	page, err := paginate(out, number, size)
	if err != nil {
		return nil, err
	}
	return map[string]any{"carts": page, "resultCount": len(out)}, nil
}

func (e *Emulator) sortedCarts() []*cartState {
	out := make([]*cartState, 0, len(e.carts))
	for _, c := range e.carts {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b *cartState) int { return a.CartIdentifier - b.CartIdentifier })
	return out
}

// cart finds the cart named by path segment 2 (error 400 if unknown or not a number).
func (e *Emulator) cart(q *request) (*cartState, error) {
	id, err := strconv.Atoi(q.segs[2])
	if err != nil {
		return nil, invalid(400)
	}
	c := e.carts[id]
	if c == nil {
		return nil, invalid(400)
	}
	return c, nil
}

// getCart answers with the list shape, as voxbone_cart_detail.json shows.
func (e *Emulator) getCart(q *request) (any, error) {
	c, err := e.cart(q)
	if err != nil {
		return nil, err
	}
	return map[string]any{"carts": []Cart{c.view()}, "resultCount": 1}, nil
}

func (e *Emulator) deleteCart(q *request) (any, error) {
	c, err := e.cart(q)
	if err != nil {
		return nil, err
	}
	delete(e.carts, c.CartIdentifier)
	return statusSuccess, nil
}

var statusSuccess = map[string]string{"status": "SUCCESS"}

func (e *Emulator) addToCart(q *request) (any, error) {
	c, err := e.cart(q)
	if err != nil {
		return nil, err
	}
	var body struct {
		DIDCartItem *struct {
			DIDGroupID *flexInt `json:"didGroupId"`
			Quantity   *flexInt `json:"quantity"`
		} `json:"didCartItem"`
		CapacityCartItem *struct {
			Zone     string   `json:"zone"`
			Quantity *flexInt `json:"quantity"`
		} `json:"capacityCartItem"`
		CreditPackageCartItem *struct {
			CreditPackageID *flexInt `json:"creditPackageId"`
			Quantity        *flexInt `json:"quantity"`
		} `json:"creditPackageCartItem"`
	}
	if err := decodeBody(q.body, &body); err != nil {
		return nil, err
	}
	n := 0
	items := []bool{body.DIDCartItem != nil, body.CapacityCartItem != nil, body.CreditPackageCartItem != nil}
	for _, present := range items {
		if present {
			n++
		}
	}
	switch {
	case n == 0:
		return nil, invalid(401)
	case n > 1:
		return nil, invalid(402)
	}
	switch {
	case body.DIDCartItem != nil:
		it := body.DIDCartItem
		if it.DIDGroupID == nil {
			return nil, invalid(403)
		}
		g := e.groups[int(*it.DIDGroupID)]
		switch {
		case g == nil:
			return nil, invalid(403)
		case !g.Available:
			return nil, invalid(404)
		case it.Quantity == nil || *it.Quantity <= 0:
			return nil, invalid(405)
		}
		// Stock is neither checked nor reserved here: Voxbone back-orders at checkout.
		e.addLine(c, cartLine{groupID: g.DIDGroupID, OrderProduct: OrderProduct{
			ProductType: "DID", ProductDescription: e.describe(g), Quantity: int(*it.Quantity),
			DIDgroupID: ptr(g.DIDGroupID)}})
	case body.CapacityCartItem != nil:
		it := body.CapacityCartItem
		if it.Quantity == nil || *it.Quantity <= 0 || *it.Quantity%10 != 0 {
			return nil, invalid(406)
		}
		zone := strings.ToUpper(strings.TrimSpace(it.Zone))
		if !slices.Contains(defaultZones, zone) {
			return nil, invalid(14, "ILLEGAL_ARGUMENT: unknown zone '", it.Zone, "'.")
		}
		e.addLine(c, cartLine{zone: zone, OrderProduct: OrderProduct{ProductType: "CAPACITY",
			ProductDescription: "additional capacity VoxTrunk | Zone " + titleCase(zone), Quantity: int(*it.Quantity)}})
	default:
		it := body.CreditPackageCartItem
		i := slices.IndexFunc(defaultCreditPackages, func(p CreditPackage) bool {
			return it.CreditPackageID != nil && p.CreditPackageID == int(*it.CreditPackageID)
		})
		if i < 0 {
			return nil, invalid(407)
		}
		if it.Quantity == nil || *it.Quantity <= 0 {
			return nil, invalid(405)
		}
		p := defaultCreditPackages[i]
		e.addLine(c, cartLine{creditPackageID: p.CreditPackageID, OrderProduct: OrderProduct{
			ProductType: "CREDIT_PACKAGE", ProductDescription: p.Name, Quantity: int(*it.Quantity)}})
	}
	return statusSuccess, nil
}

// addLine merges a product into the cart line of the same product, or opens a new line: the
// API "will automatically create a new orderProductId (or add the items to an existing one)".
func (e *Emulator) addLine(c *cartState, l cartLine) {
	for _, old := range c.lines {
		if old.ProductType == l.ProductType && old.groupID == l.groupID && old.zone == l.zone &&
			old.creditPackageID == l.creditPackageID {
			old.Quantity += l.Quantity
			return
		}
	}
	l.OrderProductID = e.seq.product
	e.seq.product++
	c.lines = append(c.lines, &l)
}

// describe renders "[UNITED STATES] BIRMINGHAM (205)".
func (e *Emulator) describe(g *DIDGroup) string {
	name := g.CountryCodeA3
	if c, err := e.country(g.CountryCodeA3); err == nil {
		name = c.CountryName
	}
	city := deref(g.CityName)
	if city == "" {
		city = g.DIDType
	}
	return fmt.Sprintf("[%s] %s (%s)", name, city, g.AreaCode)
}

func titleCase(s string) string {
	words := strings.Fields(strings.ToLower(s))
	for i, w := range words {
		words[i] = strings.ToUpper(w[:1]) + w[1:]
	}
	return strings.Join(words, " ")
}

func (e *Emulator) removeFromCart(q *request) (any, error) {
	c, err := e.cart(q)
	if err != nil {
		return nil, err
	}
	opid, err := strconv.Atoi(q.segs[4])
	if err != nil {
		return nil, invalid(410)
	}
	i := slices.IndexFunc(c.lines, func(l *cartLine) bool { return l.OrderProductID == opid })
	if i < 0 {
		return nil, invalid(410)
	}
	var body struct {
		Quantity *flexInt `json:"quantity"`
	}
	if err := decodeBody(q.body, &body); err != nil {
		return nil, err
	}
	l := c.lines[i]
	switch {
	case body.Quantity == nil || *body.Quantity <= 0:
		return nil, invalid(411)
	case l.ProductType == "CAPACITY" && *body.Quantity%10 != 0:
		return nil, invalid(412)
	case int(*body.Quantity) > l.Quantity:
		return nil, invalid(413)
	}
	l.Quantity -= int(*body.Quantity)
	if l.Quantity == 0 {
		c.lines = slices.Delete(c.lines, i, i+1)
	}
	return statusSuccess, nil
}

// checkout places the cart's orders. Validation comes first and changes nothing on failure:
// 400 unknown cart, 401 empty cart, 409 when the balance is not positive or below the cost
// Σ qty×(setup100+monthly100)/100 of the DID lines, or a group became unorderable.
//
// Then one order per product type: DIDs are allocated now up to the group's stock, and the
// balance is debited only for the DIDs allocated now; the back-ordered rest is reported in
// the product's message ("PARTIAL") and delivered by DeliverBackOrders. Capacity and
// credit-package lines are accepted and ordered but cost nothing here. The cart survives,
// emptied.
func (e *Emulator) checkout(q *request) (any, error) {
	c, err := e.cart(q)
	if err != nil {
		return nil, err
	}
	if len(c.lines) == 0 {
		return nil, invalid(401)
	}
	var cost int64 // cents
	for _, l := range c.lines {
		if l.ProductType != "DID" {
			continue
		}
		g := e.groups[l.groupID]
		if g == nil || !g.Available {
			return nil, invalid(409, errorText[409], " DID group ", l.groupID, " is not available.")
		}
		cost += int64(l.Quantity) * int64(g.Setup100+g.Monthly100)
	}
	if bal := int64(math.Round(e.balance * 100)); bal <= 0 || bal < cost {
		return nil, invalid(
			409,
			errorText[409],
			fmt.Sprintf(
				" Insufficient balance: the cart costs %.2f, the balance is %.2f.",
				float64(cost)/100,
				e.balance,
			),
		)
	}

	var products []ProductCheckout
	overall := "SUCCESS"
	for _, typ := range []string{"DID", "CAPACITY", "CREDIT_PACKAGE"} {
		var lines []*cartLine
		for _, l := range c.lines {
			if l.ProductType == typ {
				lines = append(lines, l)
			}
		}
		if len(lines) == 0 {
			continue
		}
		o := e.newOrder(c, q)
		pc := ProductCheckout{ProductType: typ, Status: "SUCCESS", OrderReference: o.Reference}
		if typ == "DID" {
			if later := e.fulfil(o, lines, q); later > 0 {
				o.Status = "PARTIAL"
				pc.Status, overall = "PARTIAL", "PARTIAL"
				pc.Message = ptr(
					fmt.Sprintf(
						"Partial order: %d DID(s) are out of stock and will be delivered when stock is available.",
						later,
					),
				)
			}
		}
		products = append(products, pc)
	}
	c.lines = nil
	return map[string]any{"status": overall, "productCheckoutList": products}, nil
}

func (e *Emulator) newOrder(c *cartState, q *request) *Order {
	o := &Order{
		OrderID:           e.seq.order,
		Reference:         fmt.Sprintf("%sDS%d", e.cfg.AccountNumber, e.seq.orderRef),
		DateAdded:         formatDate(q.now),
		Status:            "FULFILLED",
		CustomerReference: c.CustomerReference,
	}
	e.seq.order++
	e.seq.orderRef++
	e.orders = append(e.orders, o)
	return o
}

// fulfil allocates the DIDs of an order's lines from stock, debits what was allocated and
// returns how many DIDs are back-ordered.
func (e *Emulator) fulfil(o *Order, lines []*cartLine, q *request) (later int) {
	for _, l := range lines {
		g := e.groups[l.groupID]
		n := min(l.Quantity, g.Stock)
		for range n {
			e.allocateDID(g, o.Reference, q.now)
		}
		g.Stock -= n
		e.balance -= float64(n*(g.Setup100+g.Monthly100)) / 100
		later += l.Quantity - n
		if l.Quantity > n {
			e.backOrders = append(e.backOrders, &backOrder{order: o, groupID: l.groupID, due: l.Quantity - n})
		}
	}
	e.balance = math.Round(e.balance*100) / 100
	return later
}

func (e *Emulator) listOrders(q *request) (any, error) {
	number, size, err := q.query.page()
	if err != nil {
		return nil, err
	}
	from, hasFrom, err := q.query.date("dateFrom")
	if err != nil {
		return nil, err
	}
	to, hasTo, err := q.query.date("dateTo")
	if err != nil {
		return nil, err
	}
	ref, custRef := q.query.str("reference"), q.query.str("customerReference")
	status := strings.ToUpper(q.query.str("status"))
	var out []Order
	for _, o := range e.orders {
		added, _ := parseDate(o.DateAdded)
		switch {
		case ref != "" && o.Reference != ref,
			custRef != "" && o.CustomerReference != custRef,
			status != "" && o.Status != status,
			hasFrom && added.Before(from),
			hasTo && added.After(to):
			continue
		}
		out = append(out, cloneOrder(*o))
	}
	page, err := paginate(out, number, size)
	if err != nil {
		return nil, err
	}
	return map[string]any{"orders": page, "resultCount": len(out)}, nil
}

func cloneOrder(o Order) Order {
	o.DateCanceled = clonePtr(o.DateCanceled)
	return o
}

// cancelDIDs releases DIDs all or nothing: any unknown or already cancelled id is error 414
// and cancels nothing. Stock is not restored and orders keep dateCanceled null.
func (e *Emulator) cancelDIDs(q *request) (any, error) {
	var body struct {
		DIDIDs []flexInt `json:"didIds"`
	}
	if err := decodeBody(q.body, &body); err != nil {
		return nil, err
	}
	if len(body.DIDIDs) == 0 {
		return nil, invalid(16, "FIELD_REQUIRED: didIds is required.")
	}
	var targets []*didState
	for _, id := range body.DIDIDs {
		d := e.didByID[int(id)]
		if d == nil || d.cancelled {
			return nil, invalid(414, errorText[414], fmt.Sprintf(" (didId %d)", int(id)))
		}
		if !slices.Contains(targets, d) {
			targets = append(targets, d)
		}
	}
	for _, d := range targets {
		d.cancelled = true
	}
	return map[string]int{"numberCancelled": len(targets)}, nil
}

// backOrder is the part of an order's DID line that was out of stock at checkout.
type backOrder struct {
	order   *Order
	groupID int
	due     int // DIDs still to deliver
}

// DeliverBackOrders delivers back-ordered DIDs from their groups' current stock, oldest
// order first, as Voxbone does when stock arrives: each DID is allocated to its order
// (orderReference), its cost debited, and an order with nothing left due becomes FULFILLED.
// It returns how many DIDs were delivered.
func (e *Emulator) DeliverBackOrders() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now()
	delivered := 0
	var left []*backOrder
	for _, b := range e.backOrders {
		g := e.groups[b.groupID]
		n := 0
		if g != nil {
			n = min(b.due, g.Stock)
		}
		for range n {
			e.allocateDID(g, b.order.Reference, now)
		}
		if n > 0 {
			g.Stock -= n
			e.balance = math.Round((e.balance-float64(n*(g.Setup100+g.Monthly100))/100)*100) / 100
		}
		b.due -= n
		delivered += n
		if b.due > 0 {
			left = append(left, b)
		}
	}
	e.backOrders = left
	for _, o := range e.orders {
		if o.Status == "PARTIAL" && !slices.ContainsFunc(left, func(b *backOrder) bool { return b.order == o }) {
			o.Status = "FULFILLED"
		}
	}
	return delivered
}
