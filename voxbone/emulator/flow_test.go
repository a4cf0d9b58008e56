package emulator

import (
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
)

// TestKazooPurchaseFlow drives the Kazoo flow of voxbone-api.md §7.5 end to end: 15 DIDs of
// area 256 over three groups, fetched by order reference across pages, then released.
func TestKazooPurchaseFlow(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{Username: "user", Password: "secret", Seed: 1})
	const kz = "pageNumber=0&pageSize=20&showEmpty=false"

	var bal struct{ AccountBalance AccountBalance }
	h.ok("GET", "ordering/accountbalance?"+kz, "[]", &bal)
	if bal.AccountBalance.Balance != 500 || bal.AccountBalance.Currency != "USD" || !bal.AccountBalance.Active {
		t.Fatalf("balance %+v", bal)
	}
	var groups groupsResp
	h.ok("GET", "inventory/didgroup?"+kz+"&didType=GEOGRAPHIC&countryCodeA3=USA&areaCode=256", "[]", &groups)
	want, plan := 15, map[int]int{}
	var order []int
	for _, g := range groups.DIDGroups { // greedy fill, as Kazoo does
		if want == 0 {
			break
		}
		n := min(want, g.Stock)
		plan[g.DIDGroupID] = n
		order = append(order, g.DIDGroupID)
		want -= n
	}
	if want != 0 || len(order) != 2 {
		t.Fatalf("plan %v, %d short", plan, want)
	}
	// Force three groups like the recorded order (5116, 5117, 12518).
	plan = map[int]int{5116: 4, 5117: 6, 12518: 5}
	order = []int{5116, 5117, 12518}

	id := h.createCart("{ACCOUNT-ID}")
	for _, g := range order {
		h.add(id, g, plan[g])
	}
	out := h.checkout(id)
	if out.Status != "SUCCESS" || len(out.ProductCheckoutList) != 1 {
		t.Fatalf("checkout %+v", out)
	}
	ref := out.ProductCheckoutList[0].OrderReference

	var all []DID
	for page := 0; ; page++ {
		var dids didsResp
		h.ok("GET", fmt.Sprintf("inventory/did?orderReference=%s&pageNumber=%d&pageSize=4&showEmpty=false", ref, page), "[]", &dids)
		all = append(all, dids.DIDs...)
		if dids.ResultCount != 15 {
			t.Fatalf("resultCount %d", dids.ResultCount)
		}
		if len(all) >= dids.ResultCount {
			break
		}
	}
	seen := map[string]bool{}
	for _, d := range all {
		if !strings.HasPrefix(d.E164, "+1256") || seen[d.E164] {
			t.Fatalf("DID %s", d.E164)
		}
		seen[d.E164] = true
	}
	if len(all) != 15 || h.emu.Balance() != 485 {
		t.Fatalf("%d DIDs, balance %v", len(all), h.emu.Balance())
	}

	// Release: exact lookup by +E164 (unescaped, as Kazoo sends it), then cancel.
	target := all[7]
	var found didsResp
	h.ok("GET", "inventory/did?e164Pattern="+target.E164+"&"+kz, "[]", &found)
	if found.ResultCount != 1 || found.DIDs[0].DIDID != target.DIDID {
		t.Fatalf("lookup %s: %+v", target.E164, found)
	}
	var cancelled map[string]int
	h.ok("POST", "ordering/cancel?"+kz, map[string][]int{"didIds": {target.DIDID}}, &cancelled)
	if cancelled["numberCancelled"] != 1 {
		t.Fatalf("cancel %v", cancelled)
	}
	h.ok("GET", "inventory/did?e164Pattern="+url.QueryEscape(target.E164)+"&"+kz, "[]", &found)
	if found.ResultCount != 0 {
		t.Fatalf("cancelled DID still listed: %+v", found)
	}
	// On error Kazoo deletes the cart.
	h.ok("DELETE", fmt.Sprintf("ordering/cart/%d", id), "[]", nil)
}

func TestE164Pattern(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{Seed: 7})
	h.buy(1404, 30)
	h.buy(8827, 5)
	dids := h.emu.DIDs()
	us := dids[3].E164 // +1205…
	digits := strings.TrimPrefix(us, "+")
	count := func(pattern string) int {
		var out didsResp
		h.ok("GET", "inventory/did?pageNumber=0&pageSize=100&e164Pattern="+pattern, nil, &out)
		return out.ResultCount
	}
	tests := []struct {
		name, pattern string
		want          int
	}{
		{"escaped +E164", url.QueryEscape(us), 1},
		{"unescaped + arrives as space", us, 1},
		{"digits only", digits, 1},
		{"LIKE prefix", url.QueryEscape("+1205%"), 30},
		{"LIKE prefix without +", "1205%25", 30},
		{"unescaped % kept raw", "1205%", 30},
		{"LIKE suffix", "%25" + digits[len(digits)-7:], 1},
		{"LIKE is anchored", "%25" + digits[:5], 0},
		{"substring", digits[1:8], 1},
		{"UK prefix", url.QueryEscape("+4420%"), 5},
		{"no match", "999999", 0},
	}
	for _, tc := range tests {
		if got := count(tc.pattern); got < tc.want || (tc.want <= 1 && got != tc.want) {
			t.Errorf("%s (%s): %d matches, want %d", tc.name, tc.pattern, got, tc.want)
		}
	}
}

func TestDIDFilters(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{})
	r1 := h.buy(1404, 3)
	h.buy(30800, 2)
	h.buy(50301, 1)
	dids := h.emu.DIDs()
	count := func(q string) int {
		var out didsResp
		h.ok("GET", "inventory/did?pageNumber=0&pageSize=100&"+q, nil, &out)
		return out.ResultCount
	}
	tests := map[string]int{
		"":                                   6,
		"orderReference=" + r1:               3,
		"didGroupIds=1404,30800":             5,
		"didGroupIds=1404&didGroupIds=50301": 4,
		fmt.Sprintf("didIds=%d,%d", dids[0].DIDID, dids[4].DIDID):        2,
		fmt.Sprintf("didIds=%d&didIds=%d", dids[0].DIDID, dids[4].DIDID): 2,
		"countryCodeA3=DEU":                    1,
		"serviceType=VOX800":                   2,
		"serviceType=VOXDID":                   4,
		"needAddressLink=true":                 1,
		"needAddressLink=false":                5,
		"dateFrom=2019-01-01&status=FULFILLED": 6, // DVP's stray params are ignored
	}
	for q, want := range tests {
		if got := count(q); got != want {
			t.Errorf("%q: %d DIDs, want %d", q, got, want)
		}
	}
	h.fail("GET", "inventory/did?pageNumber=0&pageSize=10&didIds=a", nil, 400, "17")
	h.fail("GET", "inventory/did?e164Pattern=1", nil, 400, "16")
}

func TestLeniencies(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{})
	// GET and DELETE bodies are ignored (Kazoo sends []), and so are unknown params.
	h.ok("GET", "inventory/didgroup?countryCodeA3=USA&areaCode=205&pageNumber=0&pageSize=20&foo=bar&showEmpty=false", "[]", nil)
	h.ok("GET", "ordering/accountbalance?", "garbage that is not JSON", nil)
	id := h.createCart("x")
	h.ok("GET", fmt.Sprintf("ordering/cart/%d/", id), "[]", nil) // PHP's trailing slash
	h.ok("POST", fmt.Sprintf("ordering/cart/%d/product", id), `{"cartIdentifier":"`+fmt.Sprint(id)+`","didCartItem":{"didGroupId":"8826","quantity":"1"},"unknown":1}`, nil)
	h.ok("POST", fmt.Sprintf("ordering/cart/%d/product", id), `{"didCartItem":{"didGroupId":1196.0,"quantity":1}}`, nil)
	// DVP and SKR add a redundant cartIdentifier to checkout.
	var out checkoutResp
	h.ok("GET", fmt.Sprintf("ordering/cart/%d/checkout?cartIdentifier=%d", id, id), "[]", &out)
	if out.Status != "SUCCESS" {
		t.Fatalf("checkout %+v", out)
	}
	h.ok("DELETE", fmt.Sprintf("ordering/cart/%d", id), "[]", nil)
}

// TestDeterminism: the same seed and requests give byte-identical responses.
func TestDeterminism(t *testing.T) {
	t.Parallel()
	run := func(seed int64) []string {
		h := newHarness(t, Config{Seed: seed, Now: newClock().Now})
		id := h.createCart("d")
		h.add(id, 1404, 5)
		h.add(id, 8826, 3)
		_, co := h.do("GET", fmt.Sprintf("ordering/cart/%d/checkout", id), nil)
		_, dids := h.do("GET", "inventory/did?pageNumber=0&pageSize=100", nil)
		_, carts := h.do("GET", "ordering/cart?pageNumber=0&pageSize=100", nil)
		return []string{string(co), string(dids), string(carts)}
	}
	a, b, c := run(42), run(42), run(43)
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("same seed differs:\n%v\n%v", a, b)
	}
	if reflect.DeepEqual(a[1], c[1]) {
		t.Fatal("different seeds gave the same DIDs")
	}
}

// TestConcurrentAdds: parallel adds to one cart all land in one merged line.
func TestConcurrentAdds(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{})
	id := h.createCart("c")
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			resp, _, err := h.try("POST", fmt.Sprintf("ordering/cart/%d/product", id),
				map[string]any{"didCartItem": map[string]int{"didGroupId": 1404, "quantity": 1}}, nil)
			if err != nil || resp.StatusCode != 200 {
				t.Errorf("add: %v %v", resp, err)
			}
		})
	}
	wg.Wait()
	c := h.emu.Carts()[0]
	if len(c.OrderProducts) != 1 || c.OrderProducts[0].Quantity != 20 {
		t.Fatalf("cart %+v", c)
	}
}
