package voxbone_test

import (
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/knmproject/knm/voxbone"
)

func TestAccountBalanceFixture(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	mux.HandleFunc("GET /ordering/accountbalance", serveFixture(t, "voxbone_account_balance.json"))
	b, err := c.AccountBalance(t.Context())
	want := voxbone.AccountBalance{Balance: 500, Threshold: 100, Currency: "USD", Active: true}
	if err != nil || *b != want {
		t.Fatalf("AccountBalance = %+v, %v", b, err)
	}
}

func TestCreateCartFixture(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	mux.HandleFunc("PUT /ordering/cart", func(w http.ResponseWriter, r *http.Request) {
		testBody(t, r, `{"customerReference":"{ACCOUNT-ID}","description":"DID Order"}`)
		serveFixture(t, "voxbone_new_cart.json")(w, r)
	})
	cart, err := c.CreateCart(t.Context(), voxbone.CreateCartRequest{CustomerReference: "{ACCOUNT-ID}", Description: "DID Order"})
	want := voxbone.Cart{CartIdentifier: 3312757, CustomerReference: "{ACCOUNT-ID}", DateAdded: "2019-08-19 17:19:15", Description: "DID Order"}
	if err != nil || !reflect.DeepEqual(*cart, want) || cart.OrderProducts != nil {
		t.Fatalf("CreateCart = %+v, %v", cart, err)
	}
}

func TestGetCartFixture(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	mux.HandleFunc("GET /ordering/cart/{id}", func(w http.ResponseWriter, r *http.Request) {
		testBody(t, r, "")
		if r.PathValue("id") == "3312757" {
			serveFixture(t, "voxbone_cart_detail.json")(w, r)
			return
		}
		serveJSON(w, `{"carts":[],"resultCount":0}`)
	})
	cart, err := c.GetCart(t.Context(), 3312757)
	want := voxbone.Cart{
		CartIdentifier: 3312757, CustomerReference: "{ACCOUNT-ID}", DateAdded: "2019-07-22 17:16:37", Description: "DID Order",
		OrderProducts: []voxbone.OrderProduct{{DIDGroupID: voxbone.Ptr(1196), OrderProductID: 4410885,
			ProductDescription: "[UNITED STATES] BIRMINGHAM (205)", ProductType: "DID", Quantity: 15}},
	}
	if err != nil || !reflect.DeepEqual(*cart, want) {
		t.Fatalf("GetCart = %+v, %v", cart, err)
	}
	roundTrip(t, fixture(t, "voxbone_cart_detail.json"), map[string]any{"carts": []voxbone.Cart{*cart}, "resultCount": 1})
	if _, err := c.GetCart(t.Context(), 99); !voxbone.IsNotFound(err) {
		t.Errorf("GetCart(99) = %v, want not found", err)
	}
}

func TestListCarts(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	mux.HandleFunc("GET /ordering/cart", func(w http.ResponseWriter, r *http.Request) {
		testQuery(t, r, url.Values{"pageNumber": {"0"}, "pageSize": {"20"}, "cartIdentifier": {"3630217"}, "reference": {"ref"}})
		serveJSON(w, `{"carts":[{"cartIdentifier":3630217,"customerReference":"ref","description":"GBR & Capacity","dateAdded":"2019-11-22 16:47:22",
  "orderProducts":[{"orderProductId":4972421,"productType":"DID","productDescription":"[UNITED KINGDOM] ABERDEEN (1224)","quantity":125,"didgroupId":8826},
                   {"orderProductId":4954789,"productType":"CAPACITY","productDescription":"additional capacity VoxTrunk | Zone World","quantity":10,"didgroupId":null}]}],
 "resultCount":1}`)
	})
	carts, total, err := c.ListCarts(t.Context(), voxbone.ListCartsOptions{CartIdentifier: voxbone.Ptr(3630217), Reference: "ref"})
	if err != nil || total != 1 || len(carts) != 1 {
		t.Fatalf("ListCarts = %+v, %d, %v", carts, total, err)
	}
	ops := carts[0].OrderProducts
	if len(ops) != 2 || *ops[0].DIDGroupID != 8826 || ops[1].DIDGroupID != nil || ops[1].ProductType != "CAPACITY" {
		t.Errorf("order products = %+v", ops)
	}
}

func TestCartStatusCalls(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	var bodies []string
	mux.HandleFunc("POST /ordering/cart/{id}/product", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") != "3312757" {
			t.Errorf("cart id = %s", r.PathValue("id"))
		}
		b := make([]byte, 512)
		n, _ := r.Body.Read(b)
		bodies = append(bodies, string(b[:n]))
		serveFixture(t, "voxbone_add_to_cart.json")(w, r)
	})
	mux.HandleFunc("POST /ordering/cart/{id}/product/{op}", func(w http.ResponseWriter, r *http.Request) {
		testBody(t, r, `{"cartIdentifier":3312757,"orderProductId":4410885,"quantity":5}`)
		serveJSON(w, `{"status":"SUCCESS"}`)
	})
	mux.HandleFunc("DELETE /ordering/cart/{id}", func(w http.ResponseWriter, r *http.Request) {
		testBody(t, r, "")
		if r.PathValue("id") == "1" {
			serveJSON(w, `{"status":"ERROR"}`)
			return
		}
		serveFixture(t, "voxbone_delete_cart.json")(w, r)
	})
	ctx := t.Context()
	if err := c.AddDIDsToCart(ctx, 3312757, 1196, 5); err != nil {
		t.Fatal(err)
	}
	if err := c.AddToCart(ctx, 3312757, voxbone.CartItem{Capacity: &voxbone.CapacityCartItem{Zone: "WORLD", Quantity: 10}}); err != nil {
		t.Fatal(err)
	}
	if err := c.AddToCart(ctx, 3312757, voxbone.CartItem{CreditPackage: &voxbone.CreditPackageCartItem{CreditPackageID: 3, Quantity: 1}}); err != nil {
		t.Fatal(err)
	}
	want := []string{
		`{"cartIdentifier":3312757,"didCartItem":{"didGroupId":1196,"quantity":5}}`,
		`{"cartIdentifier":3312757,"capacityCartItem":{"zone":"WORLD","quantity":10}}`,
		`{"cartIdentifier":3312757,"creditPackageCartItem":{"creditPackageId":3,"quantity":1}}`,
	}
	if !reflect.DeepEqual(bodies, want) {
		t.Errorf("add bodies = %q\nwant %q", bodies, want)
	}
	if err := c.RemoveFromCart(ctx, 3312757, 4410885, 5); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteCart(ctx, 3312757); err != nil {
		t.Fatal(err)
	}
	// A 200 whose status is not SUCCESS is an error, not a silent success.
	if err := c.DeleteCart(ctx, 1); err == nil {
		t.Error("DeleteCart with status ERROR succeeded")
	}
}

func TestCheckoutFixture(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	mux.HandleFunc("GET /ordering/cart/{id}/checkout", func(w http.ResponseWriter, r *http.Request) {
		testBody(t, r, "")
		serveFixture(t, "voxbone_checkout.json")(w, r)
	})
	res, err := c.Checkout(t.Context(), 3312757)
	want := voxbone.CheckoutResult{Status: "SUCCESS", ProductCheckoutList: []voxbone.ProductCheckout{
		{Message: nil, OrderReference: "50898DS3919643", ProductType: "DID", Status: "SUCCESS"},
	}}
	if err != nil || !reflect.DeepEqual(*res, want) {
		t.Fatalf("Checkout = %+v, %v", res, err)
	}
}

func TestListOrders(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	from := time.Date(2019, 8, 1, 0, 0, 0, 0, time.UTC)
	to := time.Date(2019, 8, 31, 23, 59, 59, 0, time.UTC)
	mux.HandleFunc("GET /ordering/order", func(w http.ResponseWriter, r *http.Request) {
		testQuery(t, r, url.Values{"pageNumber": {"0"}, "pageSize": {"20"}, "reference": {"50898DS3919643"},
			"customerReference": {"knm-1"}, "status": {"FULFILLED"}, "dateFrom": {"2019-08-01 00:00:00"}, "dateTo": {"2019-08-31 23:59:59"}})
		serveJSON(w, `{"orders":[{"orderId":42,"reference":"50898DS3919643","dateAdded":"2019-08-19 17:20:00","dateCanceled":null,"status":"FULFILLED","customerReference":"knm-1"}],"resultCount":1}`)
	})
	orders, total, err := c.ListOrders(t.Context(), voxbone.ListOrdersOptions{Reference: "50898DS3919643",
		CustomerReference: "knm-1", Status: "FULFILLED", DateFrom: &from, DateTo: &to})
	want := []voxbone.Order{{OrderID: 42, Reference: "50898DS3919643", DateAdded: "2019-08-19 17:20:00", Status: "FULFILLED", CustomerReference: "knm-1"}}
	if err != nil || total != 1 || !reflect.DeepEqual(orders, want) {
		t.Fatalf("ListOrders = %+v, %d, %v", orders, total, err)
	}
}

func TestCancelDIDsFixture(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	mux.HandleFunc("POST /ordering/cancel", func(w http.ResponseWriter, r *http.Request) {
		testBody(t, r, `{"didIds":[5666963]}`)
		serveFixture(t, "voxbone_disconnect.json")(w, r)
	})
	n, err := c.CancelDIDs(t.Context(), []int{5666963})
	if err != nil || n != 1 {
		t.Fatalf("CancelDIDs = %d, %v", n, err)
	}
}

func TestVoiceURIsAndConfiguration(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	mux.HandleFunc("GET /configuration/voiceuri", func(w http.ResponseWriter, r *http.Request) {
		testQuery(t, r, url.Values{"pageNumber": {"0"}, "pageSize": {"20"}, "voiceUriId": {"9"}, "backupUriId": {"8"},
			"voiceUriProtocol": {"SIP"}, "uri": {"sip:+1@example.com"}, "description": {"main"}})
		serveJSON(w, `{"voiceUris":[{"voiceUriId":9,"backupUriId":8,"backupUri":"sip:b@example.com","voiceUriProtocol":"SIP","uri":"sip:+1@example.com","description":"main"}],"resultCount":1}`)
	})
	mux.HandleFunc("PUT /configuration/voiceuri", func(w http.ResponseWriter, r *http.Request) {
		testBody(t, r, `{"voiceUri":{"voiceUriProtocol":"SIP","uri":"sip:x@example.com","description":"new"}}`)
		serveJSON(w, `{"voiceUri":{"voiceUriId":10,"backupUriId":null,"backupUri":null,"voiceUriProtocol":"SIP","uri":"sip:x@example.com","description":"new"}}`)
	})
	mux.HandleFunc("POST /configuration/configuration", func(w http.ResponseWriter, r *http.Request) {
		testBody(t, r, `{"didIds":[1,2],"voiceUriId":10,"dnisEnabled":false,"peer":{"t38Enabled":true,"codecs":["G711A"]}}`)
		serveJSON(w, `{"messages":[{"configOption":"voiceUriId","numberUpdated":2}]}`)
	})
	ctx := t.Context()
	list, total, err := c.ListVoiceURIs(ctx, voxbone.ListVoiceURIsOptions{VoiceURIID: voxbone.Ptr(9), BackupURIID: voxbone.Ptr(8),
		VoiceURIProtocol: "SIP", URI: "sip:+1@example.com", Description: "main"})
	if err != nil || total != 1 || *list[0].VoiceURIID != 9 || *list[0].BackupURI != "sip:b@example.com" {
		t.Fatalf("ListVoiceURIs = %+v, %d, %v", list, total, err)
	}
	v, err := c.SaveVoiceURI(ctx, voxbone.VoiceURI{VoiceURIProtocol: "SIP", URI: "sip:x@example.com", Description: "new"})
	if err != nil || *v.VoiceURIID != 10 || v.BackupURIID != nil {
		t.Fatalf("SaveVoiceURI = %+v, %v", v, err)
	}
	msgs, err := c.ConfigureDIDs(ctx, voxbone.DIDConfiguration{DIDIDs: []int{1, 2}, VoiceURIID: voxbone.Ptr(10),
		DNISEnabled: voxbone.Ptr(false), Peer: &voxbone.PeerOptions{T38Enabled: voxbone.Ptr(true), Codecs: []string{"G711A"}}})
	if err != nil || !reflect.DeepEqual(msgs, []voxbone.ConfigurationMessage{{ConfigOption: "voiceUriId", NumberUpdated: 2}}) {
		t.Fatalf("ConfigureDIDs = %+v, %v", msgs, err)
	}
}

// TestBadOptions checks that invalid arguments fail before anything is sent.
func TestBadOptions(t *testing.T) {
	t.Parallel()
	var sent atomic.Int32
	c, mux := setup(t)
	mux.HandleFunc("/", counting(&sent, func(w http.ResponseWriter, r *http.Request) { serveJSON(w, `{}`) }))
	ctx := t.Context()
	long := fmt.Sprintf("%0256d", 0)
	for name, call := range map[string]func() error{
		"didgroups without country": func() error { _, _, err := c.ListDIDGroups(ctx, voxbone.ListDIDGroupsOptions{}); return err },
		"didgroups page size 5001": func() error {
			_, _, err := c.ListDIDGroups(ctx, voxbone.ListDIDGroupsOptions{CountryCodeA3: "USA", ListOptions: voxbone.ListOptions{PageSize: 5001}})
			return err
		},
		"dids negative page": func() error {
			_, _, err := c.ListDIDs(ctx, voxbone.ListDIDsOptions{ListOptions: voxbone.ListOptions{PageNumber: -1}})
			return err
		},
		"countries negative size": func() error {
			_, _, err := c.ListCountries(ctx, voxbone.ListCountriesOptions{ListOptions: voxbone.ListOptions{PageSize: -1}})
			return err
		},
		"carts page size": func() error {
			_, _, err := c.ListCarts(ctx, voxbone.ListCartsOptions{ListOptions: voxbone.ListOptions{PageSize: 9999}})
			return err
		},
		"orders page size": func() error {
			_, _, err := c.ListOrders(ctx, voxbone.ListOrdersOptions{ListOptions: voxbone.ListOptions{PageSize: 9999}})
			return err
		},
		"voice uris page": func() error {
			_, _, err := c.ListVoiceURIs(ctx, voxbone.ListVoiceURIsOptions{ListOptions: voxbone.ListOptions{PageNumber: -2}})
			return err
		},
		"country alpha-2":        func() error { _, err := c.GetCountry(ctx, "US"); return err },
		"country path injection": func() error { _, err := c.ListStates(ctx, "../"); return err },
		"restrictions empty":     func() error { _, err := c.ListRestrictions(ctx, ""); return err },
		"get cart 0":             func() error { _, err := c.GetCart(ctx, 0); return err },
		"delete cart -1":         func() error { return c.DeleteCart(ctx, -1) },
		"checkout 0":             func() error { _, err := c.Checkout(ctx, 0); return err },
		"add no item":            func() error { return c.AddToCart(ctx, 1, voxbone.CartItem{}) },
		"add zero quantity":      func() error { return c.AddDIDsToCart(ctx, 1, 1196, 0) },
		"add capacity 15": func() error {
			return c.AddToCart(ctx, 1, voxbone.CartItem{Capacity: &voxbone.CapacityCartItem{Zone: "W", Quantity: 15}})
		},
		"add two items": func() error {
			return c.AddToCart(ctx, 1, voxbone.CartItem{DID: &voxbone.DIDCartItem{DIDGroupID: 1, Quantity: 1},
				CreditPackage: &voxbone.CreditPackageCartItem{CreditPackageID: 1, Quantity: 1}})
		},
		"remove zero":        func() error { return c.RemoveFromCart(ctx, 1, 2, 0) },
		"remove bad product": func() error { return c.RemoveFromCart(ctx, 1, 0, 1) },
		"cancel none":        func() error { _, err := c.CancelDIDs(ctx, nil); return err },
		"cancel zero id":     func() error { _, err := c.CancelDIDs(ctx, []int{0}); return err },
		"create long ref": func() error {
			_, err := c.CreateCart(ctx, voxbone.CreateCartRequest{CustomerReference: long})
			return err
		},
		"configure none":        func() error { _, err := c.ConfigureDIDs(ctx, voxbone.DIDConfiguration{}); return err },
		"voice uri without uri": func() error { _, err := c.SaveVoiceURI(ctx, voxbone.VoiceURI{VoiceURIProtocol: "SIP"}); return err },
	} {
		if err := call(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if n := sent.Load(); n != 0 {
		t.Errorf("%d requests sent for invalid arguments", n)
	}
}

// pagedServer serves n items of a list, honouring pageNumber and pageSize, and counts pages.
func pagedServer(t *testing.T, mux *http.ServeMux, pattern, key string, n int, item func(i int) string) *atomic.Int32 {
	var pages atomic.Int32
	mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		pages.Add(1)
		num, _ := strconv.Atoi(r.URL.Query().Get("pageNumber"))
		size, _ := strconv.Atoi(r.URL.Query().Get("pageSize"))
		if num > 0 && num*size >= n {
			w.WriteHeader(http.StatusBadRequest)
			serveJSON(w, `{"httpStatusCode":400,"errors":[{"apiErrorCode":"13","apiErrorMessage":"the given page does not exist"}]}`)
			return
		}
		body := `{"` + key + `":[`
		for i := num * size; i < min(n, (num+1)*size); i++ {
			if i > num*size {
				body += ","
			}
			body += item(i)
		}
		serveJSON(w, body+`],"resultCount":`+strconv.Itoa(n)+`}`)
	})
	return &pages
}

func TestPagination(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	groupPages := pagedServer(t, mux, "GET /inventory/didgroup", "didGroups", 45, func(i int) string { return fmt.Sprintf(`{"didGroupId":%d}`, i+1) })
	didPages := pagedServer(t, mux, "GET /inventory/did", "dids", 40, func(i int) string { return fmt.Sprintf(`{"didId":%d}`, i+1) })
	cartPages := pagedServer(t, mux, "GET /ordering/cart", "carts", 3, func(i int) string { return fmt.Sprintf(`{"cartIdentifier":%d}`, i+1) })
	orderPages := pagedServer(t, mux, "GET /ordering/order", "orders", 0, func(i int) string { return "" })
	ctx := t.Context()

	groups, err := c.ListAllDIDGroups(ctx, voxbone.ListDIDGroupsOptions{CountryCodeA3: "USA"})
	if err != nil || len(groups) != 45 || groups[44].DIDGroupID != 45 || groupPages.Load() != 3 {
		t.Errorf("ListAllDIDGroups: %d groups, %d pages, %v", len(groups), groupPages.Load(), err)
	}
	// Exactly 2 full pages: resultCount is only a hint, so a third request finds the end
	// (error 13) rather than trusting the count.
	dids, err := c.ListAllDIDs(ctx, voxbone.ListDIDsOptions{})
	if err != nil || len(dids) != 40 || didPages.Load() != 3 {
		t.Errorf("ListAllDIDs: %d DIDs, %d pages, %v", len(dids), didPages.Load(), err)
	}
	carts, err := c.ListAllCarts(ctx, voxbone.ListCartsOptions{ListOptions: voxbone.ListOptions{PageSize: 2}})
	if err != nil || len(carts) != 3 || cartPages.Load() != 2 {
		t.Errorf("ListAllCarts: %d carts, %d pages, %v", len(carts), cartPages.Load(), err)
	}
	orders, err := c.ListAllOrders(ctx, voxbone.ListOrdersOptions{})
	if err != nil || len(orders) != 0 || orderPages.Load() != 1 {
		t.Errorf("ListAllOrders: %d orders, %d pages, %v", len(orders), orderPages.Load(), err)
	}
	// Breaking out of the iterator stops fetching.
	groupPages.Store(0)
	for g, err := range c.AllDIDGroups(ctx, voxbone.ListDIDGroupsOptions{CountryCodeA3: "USA"}) {
		if err != nil || g.DIDGroupID == 5 {
			break
		}
	}
	if groupPages.Load() != 1 {
		t.Errorf("early break fetched %d pages", groupPages.Load())
	}
	// The iterator also walks orders and carts.
	n := 0
	for _, err := range c.AllCarts(ctx, voxbone.ListCartsOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	for range c.AllOrders(ctx, voxbone.ListOrdersOptions{}) {
		n++
	}
	for range c.AllDIDs(ctx, voxbone.ListDIDsOptions{ListOptions: voxbone.ListOptions{PageNumber: 1}}) {
		n++
	}
	if n != 3+0+20 {
		t.Errorf("iterated %d items, want 23", n)
	}
}

func TestPaginationOverflowAndErrors(t *testing.T) {
	t.Parallel()
	c, mux := setup(t, voxbone.WithRetryPolicy(voxbone.RetryPolicy{}))
	// resultCount overstates the items: the page after the last answers code 13, which ends
	// the walk cleanly.
	mux.HandleFunc("GET /inventory/didgroup", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("pageNumber") == "0" {
			serveJSON(w, `{"didGroups":[{"didGroupId":1},{"didGroupId":2}],"resultCount":10}`)
			return
		}
		w.WriteHeader(http.StatusBadRequest)
		serveJSON(w, `{"errors":[{"apiErrorCode":13,"apiErrorMessage":"the given page does not exist"}]}`)
	})
	groups, err := c.ListAllDIDGroups(t.Context(), voxbone.ListDIDGroupsOptions{CountryCodeA3: "USA", ListOptions: voxbone.ListOptions{PageSize: 2}})
	if err != nil || len(groups) != 2 {
		t.Errorf("overflow: %d groups, %v", len(groups), err)
	}
	mux.HandleFunc("GET /inventory/did", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		serveJSON(w, `{}`)
	})
	if _, err := c.ListAllDIDs(t.Context(), voxbone.ListDIDsOptions{}); err == nil {
		t.Error("ListAllDIDs succeeded on a 500")
	}
}
