package emulator

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
)

// TestShapesMatchFixtures compares the key sets and JSON kinds of the emulator's answers
// with the recorded Voxbone bodies in testdata/ (from Kazoo's fixtures).
func TestShapesMatchFixtures(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{})
	get := func(method, p string, body any) []byte {
		st, data := h.do(method, p, body)
		if st != 200 {
			t.Fatalf("%s %s: %d %s", method, p, st, data)
		}
		return data
	}
	newCart := get("PUT", "ordering/cart", map[string]string{"customerReference": "{ACCOUNT-ID}", "description": "DID Order"})
	var c struct{ Cart Cart }
	_ = json.Unmarshal(newCart, &c)
	id := c.Cart.CartIdentifier
	addToCart := get("POST", fmt.Sprintf("ordering/cart/%d/product", id), map[string]any{"cartIdentifier": id, "didCartItem": map[string]int{"didGroupId": 5116, "quantity": 5}})
	cartDetail := get("GET", fmt.Sprintf("ordering/cart/%d", id), nil)
	checkout := get("GET", fmt.Sprintf("ordering/cart/%d/checkout", id), nil)
	var co checkoutResp
	_ = json.Unmarshal(checkout, &co)
	orderRef := get("GET", "inventory/did?pageNumber=0&pageSize=20&orderReference="+co.ProductCheckoutList[0].OrderReference, nil)
	disconnect := get("POST", "ordering/cancel", map[string][]int{"didIds": {h.emu.DIDs()[0].DIDID}})
	deleteCart := get("DELETE", fmt.Sprintf("ordering/cart/%d", id), nil)

	tests := []struct {
		fixture string
		got     []byte
		extra   []string // keys the emulator adds on purpose (newer DID fields of §3.6)
	}{
		{"voxbone_account_balance.json", get("GET", "ordering/accountbalance", nil), nil},
		{"voxbone_inventory_search_results.json", get("GET", "inventory/didgroup?pageNumber=0&pageSize=20&countryCodeA3=USA&areaCode=205", nil), nil},
		{"voxbone_new_cart.json", newCart, nil},
		{"voxbone_add_to_cart.json", addToCart, nil},
		{"voxbone_cart_detail.json", cartDetail, nil},
		{"voxbone_checkout.json", checkout, nil},
		{"voxbone_order_reference.json", orderRef, []string{"channelsOutbound", "cancellationAvailable"}},
		{"voxbone_disconnect.json", disconnect, nil},
		{"voxbone_delete_cart.json", deleteCart, nil},
	}
	for _, tc := range tests {
		t.Run(strings.TrimSuffix(tc.fixture, ".json"), func(t *testing.T) {
			raw, err := os.ReadFile("testdata/" + tc.fixture)
			if err != nil {
				t.Fatal(err)
			}
			var want, got any
			if err := json.Unmarshal(raw, &want); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(tc.got, &got); err != nil {
				t.Fatal(err)
			}
			for _, diff := range compareShape("$", want, got, tc.extra) {
				t.Error(diff)
			}
		})
	}
}

// compareShape reports where got's structure differs from want's: missing or extra keys,
// or different JSON kinds (a null on either side matches anything, since the fixtures
// hold nulls where other responses hold values). Arrays compare every element of got with
// want's first element.
func compareShape(at string, want, got any, extra []string) []string {
	if want == nil || got == nil {
		return nil
	}
	var diffs []string
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: got %T, want object", at, got)}
		}
		for k, wv := range w {
			gv, ok := g[k]
			if !ok {
				diffs = append(diffs, fmt.Sprintf("%s: missing key %q", at, k))
				continue
			}
			diffs = append(diffs, compareShape(at+"."+k, wv, gv, extra)...)
		}
		for k := range g {
			if _, ok := w[k]; !ok && !slices.Contains(extra, k) {
				diffs = append(diffs, fmt.Sprintf("%s: unexpected key %q", at, k))
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok {
			return []string{fmt.Sprintf("%s: got %T, want array", at, got)}
		}
		if len(w) > 0 {
			if len(g) == 0 {
				return []string{fmt.Sprintf("%s: empty array", at)}
			}
			for i, gv := range g {
				diffs = append(diffs, compareShape(fmt.Sprintf("%s[%d]", at, i), w[0], gv, extra)...)
			}
		}
	default:
		if fmt.Sprintf("%T", want) != fmt.Sprintf("%T", got) {
			diffs = append(diffs, fmt.Sprintf("%s: got %T, want %T", at, got, want))
		}
	}
	return diffs
}

// TestNullsLikeFixtures pins the nulls clients must decode: empty orderProducts, checkout
// message, and the nullable DID ids.
func TestNullsLikeFixtures(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{})
	_, data := h.do("PUT", "ordering/cart", map[string]string{})
	if !strings.Contains(string(data), `"orderProducts":null`) {
		t.Fatalf("new cart %s", data)
	}
	ref := h.buy(1404, 1)
	_, data = h.do("GET", "inventory/did?pageNumber=0&pageSize=1&orderReference="+ref, nil)
	for _, s := range []string{`"voiceUriId":null`, `"faxUriId":null`, `"capacityGroupId":null`, `"dnisEnabled":"false"`, `"t38Enabled":"false"`, `"type":"GEOGRAPHIC"`, `"trunkId":12735`, `"delivery":"BE"`} {
		if !strings.Contains(string(data), s) {
			t.Errorf("DID lacks %s: %s", s, data)
		}
	}
}
