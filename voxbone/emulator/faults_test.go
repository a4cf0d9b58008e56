package emulator

import (
	"fmt"
	"testing"
	"time"
)

func TestFaultStatusNth(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{})
	h.ok("GET", "inventory/feature", nil, nil) // before the fault: not counted
	h.emu.AddFault(Fault{Endpoint: "feature.list", Nth: 2, Times: 2, Status: 500})
	want := []int{200, 500, 500, 200, 200}
	for i, st := range want {
		got, data := h.do("GET", "inventory/feature", nil)
		if got != st {
			t.Fatalf("call %d: %d %s, want %d", i+1, got, data, st)
		}
		if st == 500 {
			env := decodeEnvelope(t, data)
			if env.HTTPStatusCode != 500 || env.Errors[0].APIErrorCode != "500" {
				t.Fatalf("envelope %+v", env)
			}
		}
	}
	// Other endpoints are untouched.
	h.ok("GET", "inventory/zone", nil, nil)
}

func TestFaultEveryCallAndClear(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{})
	h.emu.AddFault(Fault{Status: 503}) // every endpoint, every call
	for _, p := range []string{"inventory/feature", "ordering/accountbalance"} {
		if st, _ := h.do("GET", p, nil); st != 503 {
			t.Fatalf("%s: %d", p, st)
		}
	}
	h.emu.ClearFaults()
	h.ok("GET", "inventory/feature", nil, nil)

	h.emu.AddFault(Fault{Endpoint: "zone.list", Times: 2, Status: 429})
	for i, st := range []int{429, 429, 200} {
		if got, _ := h.do("GET", "inventory/zone", nil); got != st {
			t.Fatalf("call %d: %d, want %d", i+1, got, st)
		}
	}
}

func TestFaultStatusWithoutEffect(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{})
	id := h.createCart("f")
	h.add(id, 1404, 2)
	h.emu.AddFault(Fault{Endpoint: "cart.checkout", Nth: 1, Status: 500})
	h.fail("GET", fmt.Sprintf("ordering/cart/%d/checkout", id), nil, 500, "500")
	if len(h.emu.Orders()) != 0 || h.emu.Balance() != 500 {
		t.Fatal("a faulted checkout without AfterEffect placed an order")
	}
	h.checkout(id)
	if len(h.emu.Orders()) != 1 {
		t.Fatal("the second checkout did not go through")
	}
}

func TestFaultDrop(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{})
	h.emu.AddFault(Fault{Endpoint: "cart.create", Nth: 1, Drop: true})
	if resp, _, err := h.tryFresh("PUT", "ordering/cart", map[string]string{"customerReference": "x"}); err == nil {
		t.Fatalf("dropped request answered %d", resp.StatusCode)
	}
	if len(h.emu.Carts()) != 0 {
		t.Fatal("a dropped request without AfterEffect created a cart")
	}
	recs := h.emu.Requests()
	if len(recs) != 1 || recs[0].Status != 0 || recs[0].Endpoint != "cart.create" {
		t.Fatalf("records %+v", recs)
	}
	h.createCart("y")
}

// TestFaultAfterEffectDropOnCheckout: the checkout happens, the reply is lost, and the
// client can settle it by looking the order up (DESIGN.md §4).
func TestFaultAfterEffectDropOnCheckout(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{})
	id := h.createCart("knm-order-7")
	h.add(id, 1404, 3)
	h.emu.AddFault(Fault{Endpoint: "cart.checkout", Nth: 1, Drop: true, AfterEffect: true})
	if resp, _, err := h.tryFresh("GET", fmt.Sprintf("ordering/cart/%d/checkout", id), nil); err == nil {
		t.Fatalf("dropped checkout answered %d", resp.StatusCode)
	}
	if h.emu.Balance() != 497 || len(h.emu.DIDs()) != 3 {
		t.Fatalf("checkout did not happen: balance %v, %d DIDs", h.emu.Balance(), len(h.emu.DIDs()))
	}
	var orders ordersResp
	h.ok("GET", "ordering/order?pageNumber=0&pageSize=10&customerReference=knm-order-7", nil, &orders)
	if orders.ResultCount != 1 {
		t.Fatalf("orders %+v", orders)
	}
	var dids didsResp
	h.ok("GET", "inventory/did?pageNumber=0&pageSize=10&orderReference="+orders.Orders[0].Reference, nil, &dids)
	if dids.ResultCount != 3 {
		t.Fatalf("%d DIDs", dids.ResultCount)
	}
}

func TestFaultAfterEffectStatus(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{})
	h.buy(1404, 1)
	id := h.emu.DIDs()[0].DIDID
	h.emu.AddFault(Fault{Endpoint: "cancel", Status: 502, AfterEffect: true})
	h.fail("POST", "ordering/cancel", map[string][]int{"didIds": {id}}, 502, "502")
	if len(h.emu.DIDs()) != 0 {
		t.Fatal("cancel with AfterEffect did not happen")
	}
}

func TestFaultLatency(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{})
	h.emu.AddFault(Fault{Endpoint: "zone.list", Nth: 1, Latency: 80 * time.Millisecond})
	start := time.Now()
	h.ok("GET", "inventory/zone", nil, nil)
	if d := time.Since(start); d < 80*time.Millisecond {
		t.Fatalf("first call took %v", d)
	}
	start = time.Now()
	h.ok("GET", "inventory/zone", nil, nil)
	if d := time.Since(start); d >= 80*time.Millisecond {
		t.Fatalf("second call took %v", d)
	}
}

func TestFaultFires(t *testing.T) {
	t.Parallel()
	tests := []struct {
		f    Fault
		want []bool // calls 1..5
	}{
		{Fault{}, []bool{true, true, true, true, true}},
		{Fault{Times: 2}, []bool{true, true, false, false, false}},
		{Fault{Nth: 3}, []bool{false, false, true, false, false}},
		{Fault{Nth: 2, Times: 3}, []bool{false, true, true, true, false}},
	}
	for _, tc := range tests {
		for i, w := range tc.want {
			if got := tc.f.fires(i + 1); got != w {
				t.Errorf("%+v call %d: %v", tc.f, i+1, got)
			}
		}
	}
}

// TestDroppedCheckoutRetriedByGoTransport documents a trap for clients: on a reused
// keep-alive connection, net/http re-sends a GET whose connection closed without a reply.
// The re-sent checkout finds the cart emptied (error 401), so nothing is bought twice.
func TestDroppedCheckoutRetriedByGoTransport(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{})
	id := h.createCart("retry") // warms up a keep-alive connection
	h.add(id, 1404, 2)
	h.emu.AddFault(Fault{Endpoint: "cart.checkout", Nth: 1, Drop: true, AfterEffect: true})
	resp, data, err := h.try("GET", fmt.Sprintf("ordering/cart/%d/checkout", id), nil, nil)
	if err == nil && resp.StatusCode != 400 {
		t.Fatalf("checkout answered %d %s", resp.StatusCode, data)
	}
	if err == nil && decodeEnvelope(t, data).Errors[0].APIErrorCode != "401" {
		t.Fatalf("re-sent checkout: %s", data)
	}
	if n := len(h.emu.Orders()); n != 1 || h.emu.Calls("cart.checkout") > 2 {
		t.Fatalf("%d orders after %d checkouts", n, h.emu.Calls("cart.checkout"))
	}
}
