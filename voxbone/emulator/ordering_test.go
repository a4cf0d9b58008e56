package emulator

import (
	"math"
	"slices"
	"strings"
	"testing"
)

func TestCarts(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{Now: newClock().Now})
	var created struct{ Cart Cart }
	status, data := h.do("PUT", "ordering/cart", map[string]string{"customerReference": "acct-1", "description": "DID Order"})
	if status != 200 || !strings.Contains(string(data), `"orderProducts":null`) {
		t.Fatalf("create: %d %s", status, data)
	}
	h.ok("PUT", "ordering/cart", map[string]string{"customerReference": "acct-2"}, &created)
	c := created.Cart
	if c.DateAdded != "2019-08-19 17:19:15" || c.CustomerReference != "acct-2" {
		t.Fatalf("cart %+v", c)
	}
	first := c.CartIdentifier - 1

	h.fail("PUT", "ordering/cart", map[string]string{"customerReference": strings.Repeat("x", 256)}, 400, "416")
	h.ok("PUT", "ordering/cart", map[string]string{"customerReference": strings.Repeat("x", 255)}, nil)
	h.fail("PUT", "ordering/cart", nil, 400, "26")
	h.fail("PUT", "ordering/cart", "{not json", 400, "20")

	var list cartsResp
	h.ok("GET", "ordering/cart?pageNumber=0&pageSize=10", nil, &list)
	if list.ResultCount != 3 || list.Carts[0].CartIdentifier != first {
		t.Fatalf("list %+v", list)
	}
	h.ok("GET", "ordering/cart?pageNumber=0&pageSize=10&reference=acct-2", nil, &list)
	if list.ResultCount != 1 || list.Carts[0].CartIdentifier != c.CartIdentifier {
		t.Fatalf("by reference %+v", list)
	}
	h.ok("GET", path("ordering/cart?pageNumber=0&pageSize=10&cartIdentifier=%d", first), nil, &list)
	if list.ResultCount != 1 || list.Carts[0].CustomerReference != "acct-1" {
		t.Fatalf("by id %+v", list)
	}
	h.fail("GET", "ordering/cart", nil, 400, "16")

	h.ok("GET", path("ordering/cart/%d", first), nil, &list)
	if list.ResultCount != 1 || list.Carts[0].OrderProducts != nil {
		t.Fatalf("get %+v", list)
	}
	h.fail("GET", "ordering/cart/1", nil, 400, "400")
	h.fail("GET", "ordering/cart/abc", nil, 400, "400")

	var st map[string]string
	h.ok("DELETE", path("ordering/cart/%d", first), nil, &st)
	if st["status"] != "SUCCESS" {
		t.Fatalf("delete: %v", st)
	}
	h.fail("DELETE", path("ordering/cart/%d", first), nil, 400, "400")
	if n := len(h.emu.Carts()); n != 2 {
		t.Fatalf("%d carts left", n)
	}
}

func TestAddAndRemove(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{})
	id := h.createCart("r")
	p := path("ordering/cart/%d/product", id)

	h.fail("POST", "ordering/cart/1/product", map[string]any{"didCartItem": map[string]int{"didGroupId": 1404, "quantity": 1}}, 400, "400")
	h.fail("POST", p, map[string]any{"cartIdentifier": id}, 400, "401")
	h.fail("POST", p, map[string]any{"didCartItem": map[string]int{"didGroupId": 1404, "quantity": 1},
		"capacityCartItem": map[string]any{"zone": "WORLD", "quantity": 10}}, 400, "402")
	h.fail("POST", p, map[string]any{"didCartItem": map[string]int{"didGroupId": 1, "quantity": 1}}, 400, "403")
	h.fail("POST", p, map[string]any{"didCartItem": map[string]int{"didGroupId": 20104, "quantity": 1}}, 400, "404")
	h.fail("POST", p, map[string]any{"didCartItem": map[string]int{"didGroupId": 1404, "quantity": 0}}, 400, "405")
	h.fail("POST", p, map[string]any{"didCartItem": map[string]int{"didGroupId": 1404}}, 400, "405")
	h.fail("POST", p, `{"didCartItem":{"didGroupId":"abc","quantity":1}}`, 400, "17")
	h.fail("POST", p, map[string]any{"capacityCartItem": map[string]any{"zone": "WORLD", "quantity": 15}}, 400, "406")
	h.fail("POST", p, map[string]any{"creditPackageCartItem": map[string]any{"creditPackageId": 99, "quantity": 1}}, 400, "407")

	h.add(id, 1404, 10)
	// Numeric strings are accepted (DVP), and the same group merges into one line.
	h.ok("POST", p, `{"didCartItem":{"didGroupId":"1404","quantity":"5"}}`, nil)
	h.add(id, 1196, 2)
	h.ok("POST", p, map[string]any{"capacityCartItem": map[string]any{"zone": "world", "quantity": 10}}, nil)

	var list cartsResp
	h.ok("GET", path("ordering/cart/%d", id), nil, &list)
	ops := list.Carts[0].OrderProducts
	if len(ops) != 3 {
		t.Fatalf("order products %+v", ops)
	}
	if ops[0].Quantity != 15 || *ops[0].DIDgroupID != 1404 || ops[0].ProductType != "DID" ||
		ops[0].ProductDescription != "[UNITED STATES] BIRMINGHAM (205)" {
		t.Fatalf("merged line %+v", ops[0])
	}
	if ops[2].ProductType != "CAPACITY" || ops[2].DIDgroupID != nil || ops[2].ProductDescription != "additional capacity VoxTrunk | Zone World" {
		t.Fatalf("capacity line %+v", ops[2])
	}

	rm := func(opid int) string { return path("ordering/cart/%d/product/%d", id, opid) }
	h.fail("POST", rm(1), map[string]int{"quantity": 1}, 400, "410")
	h.fail("POST", rm(ops[0].OrderProductID), map[string]int{"quantity": 0}, 400, "411")
	h.fail("POST", rm(ops[2].OrderProductID), map[string]int{"quantity": 5}, 400, "412")
	h.fail("POST", rm(ops[0].OrderProductID), map[string]int{"quantity": 16}, 400, "413")
	h.ok("POST", rm(ops[0].OrderProductID), map[string]any{"cartIdentifier": id, "orderProductId": ops[0].OrderProductID, "quantity": 5}, nil)
	h.ok("POST", rm(ops[1].OrderProductID), map[string]string{"quantity": "2"}, nil)
	h.ok("POST", rm(ops[2].OrderProductID), map[string]int{"quantity": 10}, nil)
	h.ok("GET", path("ordering/cart/%d", id), nil, &list)
	if ops := list.Carts[0].OrderProducts; len(ops) != 1 || ops[0].Quantity != 10 {
		t.Fatalf("after removals %+v", ops)
	}
	h.ok("POST", rm(list.Carts[0].OrderProducts[0].OrderProductID), map[string]int{"quantity": 10}, nil)
	status, data := h.do("GET", path("ordering/cart/%d", id), nil)
	if status != 200 || !strings.Contains(string(data), `"orderProducts":null`) {
		t.Fatalf("emptied cart: %s", data)
	}
}

func TestCheckout(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{Balance: 20, Now: newClock().Now})
	h.fail("GET", "ordering/cart/1/checkout", nil, 400, "400")
	id := h.createCart("acct")
	h.fail("GET", path("ordering/cart/%d/checkout", id), nil, 400, "401")

	// 21 DIDs at $1.00 cost $21 > $20: refused, nothing changes.
	h.add(id, 1404, 21)
	h.fail("GET", path("ordering/cart/%d/checkout", id), nil, 400, "409")
	if h.emu.Balance() != 20 || len(h.emu.Orders()) != 0 || len(h.emu.DIDs()) != 0 || h.emu.Carts()[0].OrderProducts == nil {
		t.Fatal("a refused checkout changed state")
	}
	g, _ := h.emu.DIDGroup(1404)
	if g.Stock != 527 {
		t.Fatalf("stock %d", g.Stock)
	}

	// Exactly the balance is enough: 20 DIDs at $1.00.
	h.ok("POST", path("ordering/cart/%d/product/%d", id, h.emu.Carts()[0].OrderProducts[0].OrderProductID), map[string]int{"quantity": 1}, nil)
	out := h.checkout(id)
	if out.Status != "SUCCESS" || len(out.ProductCheckoutList) != 1 {
		t.Fatalf("checkout %+v", out)
	}
	pc := out.ProductCheckoutList[0]
	if pc.ProductType != "DID" || pc.Status != "SUCCESS" || pc.Message != nil || !strings.HasPrefix(pc.OrderReference, "50898DS") {
		t.Fatalf("product checkout %+v", pc)
	}
	if b := h.emu.Balance(); b != 0 {
		t.Fatalf("balance %v after spending all", b)
	}
	if g, _ := h.emu.DIDGroup(1404); g.Stock != 507 {
		t.Fatalf("stock %d", g.Stock)
	}
	// The cart survives, emptied; a zero balance refuses further checkouts.
	carts := h.emu.Carts()
	if len(carts) != 1 || carts[0].OrderProducts != nil {
		t.Fatalf("carts after checkout %+v", carts)
	}
	h.add(id, 1404, 1)
	h.fail("GET", path("ordering/cart/%d/checkout", id), nil, 400, "409")

	orders := h.emu.Orders()
	if len(orders) != 1 || orders[0].Reference != pc.OrderReference || orders[0].Status != "FULFILLED" ||
		orders[0].CustomerReference != "acct" || orders[0].DateCanceled != nil || orders[0].DateAdded != "2019-08-19 17:19:15" {
		t.Fatalf("orders %+v", orders)
	}
	var dids didsResp
	h.ok("GET", "inventory/did?pageNumber=0&pageSize=100&orderReference="+pc.OrderReference, nil, &dids)
	if dids.ResultCount != 20 {
		t.Fatalf("%d DIDs", dids.ResultCount)
	}
	for _, d := range dids.DIDs {
		if !strings.HasPrefix(d.E164, "+1205") || len(d.E164) != 12 || d.DIDGroupID != 1404 || d.Type != "GEOGRAPHIC" ||
			*d.OrderReference != pc.OrderReference || *d.TrunkID != 12735 || d.VoiceURIID != nil || d.DNISEnabled != "false" {
			t.Fatalf("DID %+v", d)
		}
	}
}

func TestCheckoutCostUsesSetupAndMonthly(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{Balance: 8.99})
	id := h.createCart("tf")
	h.add(id, 30800, 3) // toll-free: setup 1.00 + monthly 2.00
	h.fail("GET", path("ordering/cart/%d/checkout", id), nil, 400, "409")
	h.emu.SetBalance(9.5)
	h.checkout(id)
	if b := h.emu.Balance(); math.Abs(b-0.5) > 1e-9 {
		t.Fatalf("balance %v, want 0.5", b)
	}
	h.emu.SetBalance(-1)
	h.add(id, 1404, 1)
	h.fail("GET", path("ordering/cart/%d/checkout", id), nil, 400, "409")
}

func TestPartialCheckout(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{})
	if err := h.emu.SetStock(5116, 3); err != nil {
		t.Fatal(err)
	}
	if err := h.emu.SetStock(1, 3); err == nil {
		t.Fatal("SetStock of an unknown group succeeded")
	}
	id := h.createCart("p")
	h.add(id, 5116, 5)
	h.add(id, 5117, 2)
	out := h.checkout(id)
	pc := out.ProductCheckoutList[0]
	if out.Status != "PARTIAL" || pc.Status != "PARTIAL" || pc.Message == nil || !strings.Contains(*pc.Message, "2 DID(s)") {
		t.Fatalf("partial checkout %+v %v", out, pc.Message)
	}
	if b := h.emu.Balance(); b != 495 { // 5 delivered DIDs at $1.00; back-orders are not charged
		t.Fatalf("balance %v", b)
	}
	if g, _ := h.emu.DIDGroup(5116); g.Stock != 0 {
		t.Fatalf("stock %d", g.Stock)
	}
	if o := h.emu.Orders(); o[0].Status != "PARTIAL" {
		t.Fatalf("order %+v", o)
	}
	var dids didsResp
	h.ok("GET", "inventory/did?pageNumber=0&pageSize=20&orderReference="+pc.OrderReference, nil, &dids)
	if dids.ResultCount != 5 {
		t.Fatalf("%d DIDs delivered", dids.ResultCount)
	}
}

// TestBackOrderDelivery: back-ordered DIDs are delivered from new stock, to their order,
// charged then; the order becomes FULFILLED once nothing is due, and nothing twice.
func TestBackOrderDelivery(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{})
	if err := h.emu.SetStock(5116, 3); err != nil {
		t.Fatal(err)
	}
	id := h.createCart("late")
	h.add(id, 5116, 5)
	ref := h.checkout(id).ProductCheckoutList[0].OrderReference
	delivered := func() int {
		var dids didsResp
		h.ok("GET", "inventory/did?pageNumber=0&pageSize=20&orderReference="+ref, nil, &dids)
		return dids.ResultCount
	}
	if n := h.emu.DeliverBackOrders(); n != 0 || delivered() != 3 {
		t.Fatalf("without stock: %d delivered, %d DIDs", n, delivered())
	}
	steps := []struct{ stock, want, dids, left int }{{1, 1, 4, 0}, {5, 1, 5, 4}, {5, 0, 5, 5}}
	for i, s := range steps {
		if err := h.emu.SetStock(5116, s.stock); err != nil {
			t.Fatal(err)
		}
		if n := h.emu.DeliverBackOrders(); n != s.want || delivered() != s.dids {
			t.Fatalf("step %d: %d delivered (want %d), %d DIDs (want %d)", i, n, s.want, delivered(), s.dids)
		}
		if g, _ := h.emu.DIDGroup(5116); g.Stock != s.left {
			t.Fatalf("step %d: stock %d, want %d", i, g.Stock, s.left)
		}
		if want := map[bool]string{true: "FULFILLED", false: "PARTIAL"}[s.dids == 5]; h.emu.Orders()[0].Status != want {
			t.Fatalf("step %d: order %+v, want %s", i, h.emu.Orders()[0], want)
		}
	}
	if b := h.emu.Balance(); b != 495 { // 5 DIDs at $1.00, each charged once
		t.Fatalf("balance %v", b)
	}
}

func TestOrderList(t *testing.T) {
	t.Parallel()
	clk := newClock()
	h := newHarness(t, Config{Now: clk.Now})
	r1 := h.buy(1404, 1)
	clk.Advance(24 * 3600e9)
	id := h.createCart("second")
	h.add(id, 1196, 1)
	r2 := h.checkout(id).ProductCheckoutList[0].OrderReference
	if err := h.emu.SetStock(1918, 0); err != nil {
		t.Fatal(err)
	}
	r3 := h.buy(1918, 1)

	tests := []struct {
		query string
		want  []string
	}{
		{"", []string{r1, r2, r3}},
		{"&reference=" + r2, []string{r2}},
		{"&customerReference=second", []string{r2}},
		{"&status=PARTIAL", []string{r3}},
		{"&status=FULFILLED", []string{r1, r2}},
		{"&dateFrom=2019-08-20%2000:00:00", []string{r2, r3}},
		{"&dateTo=2019-08-19%2017:19:15", []string{r1}},
	}
	for _, tc := range tests {
		var out ordersResp
		h.ok("GET", "ordering/order?pageNumber=0&pageSize=10"+tc.query, nil, &out)
		var refs []string
		for _, o := range out.Orders {
			refs = append(refs, o.Reference)
		}
		if !slices.Equal(refs, tc.want) || out.ResultCount != len(tc.want) {
			t.Errorf("%q: got %v, want %v", tc.query, refs, tc.want)
		}
	}
	h.fail("GET", "ordering/order?pageNumber=0&pageSize=10&dateFrom=2019-08-20", nil, 400, "10")
	h.fail("GET", "ordering/order?pageNumber=0&pageSize=10&dateTo=yesterday", nil, 400, "10")
	h.fail("GET", "ordering/order?pageNumber=5&pageSize=10", nil, 400, "13")
}

func TestCancel(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{})
	h.buy(1404, 3)
	dids := h.emu.DIDs()
	a, b, c := dids[0].DIDID, dids[1].DIDID, dids[2].DIDID

	h.fail("POST", "ordering/cancel", map[string][]int{"didIds": {a, 999}}, 400, "414")
	h.fail("POST", "ordering/cancel", map[string][]int{"didIds": {}}, 400, "16")
	h.fail("POST", "ordering/cancel", `{"didIds":["x"]}`, 400, "17")
	if len(h.emu.DIDs()) != 3 {
		t.Fatal("a failed cancel cancelled something")
	}
	var out map[string]int
	h.ok("POST", "ordering/cancel?pageNumber=0&pageSize=20&showEmpty=false", map[string][]int{"didIds": {a}}, &out)
	if out["numberCancelled"] != 1 {
		t.Fatalf("cancel %v", out)
	}
	h.fail("POST", "ordering/cancel", map[string][]int{"didIds": {b, a}}, 400, "414")
	// DELETE with a body, as early Kazoo sent it; ids as strings.
	h.ok("DELETE", "ordering/cancel", `{"didIds":["`+path("%d", b)+`", `+path("%d", c)+`]}`, &out)
	if out["numberCancelled"] != 2 || len(h.emu.DIDs()) != 0 {
		t.Fatalf("cancel %v, %d left", out, len(h.emu.DIDs()))
	}
	var list didsResp
	h.ok("GET", "inventory/did?pageNumber=0&pageSize=20", nil, &list)
	if list.ResultCount != 0 || list.DIDs == nil {
		t.Fatalf("did list after cancel %+v", list)
	}
	if g, _ := h.emu.DIDGroup(1404); g.Stock != 524 {
		t.Fatalf("stock restored to %d", g.Stock)
	}
	if o := h.emu.Orders(); o[0].DateCanceled != nil {
		t.Fatalf("order %+v", o[0])
	}
}

// TestCheckoutOneOrderPerProductType: DID, capacity and credit-package lines give three
// orders with distinct references; DID lines of several groups share one.
func TestCheckoutOneOrderPerProductType(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{AccountNumber: "24403"})
	id := h.createCart("mixed")
	h.add(id, 1404, 1)
	h.add(id, 1196, 1)
	h.ok("POST", path("ordering/cart/%d/product", id), map[string]any{"capacityCartItem": map[string]any{"zone": "WORLD", "quantity": 10}}, nil)
	h.ok("POST", path("ordering/cart/%d/product", id), map[string]any{"creditPackageCartItem": map[string]any{"creditPackageId": "1", "quantity": 1}}, nil)
	out := h.checkout(id)
	var types, refs []string
	for _, pc := range out.ProductCheckoutList {
		types = append(types, pc.ProductType)
		refs = append(refs, pc.OrderReference)
		if !strings.HasPrefix(pc.OrderReference, "24403DS") {
			t.Fatalf("reference %s", pc.OrderReference)
		}
	}
	if !slices.Equal(types, []string{"DID", "CAPACITY", "CREDIT_PACKAGE"}) || len(slices.Compact(slices.Clone(refs))) != 3 {
		t.Fatalf("checkout %+v", out)
	}
	if n := len(h.emu.Orders()); n != 3 || h.emu.Balance() != 498 {
		t.Fatalf("%d orders, balance %v", n, h.emu.Balance())
	}
}
