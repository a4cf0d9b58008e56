package httpapi

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/manager"
)

func TestVoxboneRoutes(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, "", &fakeVoxbone{})
	master := e.login(e.masterKey)
	_, rkey := e.createAccount(master, "reseller", map[string]any{"is_reseller": true})
	rtok := e.login(rkey)
	r := e.do("POST", "/v2/voxbone/orders", rtok, `{"data":{"group_id":1,"quantity":1}}`)
	if r.Status != 201 {
		t.Fatalf("reseller order: %d %s", r.Status, r.Raw)
	}
	var o Order
	r.data(t, &o)
	if r := e.do("GET", "/v2/voxbone/orders/"+o.ID, rtok, nil); r.Status != 200 {
		t.Fatalf("get own order: %s", r.Raw)
	}
	wantError(t, e.do("GET", "/v2/voxbone/balance", rtok, nil), 403)
	if r := e.do("GET", "/v2/voxbone/balance", master, nil); r.Status != 200 {
		t.Fatalf("balance: %s", r.Raw)
	}
	if r := e.do("GET", "/v2/voxbone/didgroups?country=USA", master, nil); r.Status != 200 {
		t.Fatalf("didgroups: %s", r.Raw)
	}
	wantError(t, e.do("GET", "/v2/voxbone/didgroups", master, nil), 400)
	a := e.do("POST", "/v2/voxbone/orders", master, `{"data":{"group_id":1,"quantity":1,"idempotency_key":"k1"}}`)
	b := e.do("POST", "/v2/voxbone/orders", master, `{"data":{"group_id":1,"quantity":1,"idempotency_key":"k1"}}`)
	if string(a.Env["data"]) != string(b.Env["data"]) {
		t.Fatalf("idempotent repeat differs: %s vs %s", a.Env["data"], b.Env["data"])
	}

	none := newTestEnv(t, "", nil)
	mt := none.login(none.masterKey)
	r = none.do("GET", "/v2/voxbone/balance", mt, nil)
	wantError(t, r, 404)
	if !strings.Contains(string(r.Raw), "not configured") {
		t.Fatalf("no clear message: %s", r.Raw)
	}
}

// TestVoxboneOrdersIgnoresPaging: GET /v2/voxbone/orders is not paged (the handler lists
// every visible order), so page_size and other parameters it does not read are ignored as
// on every other route that does not read them: the reply is the whole list.
func TestVoxboneOrdersIgnoresPaging(t *testing.T) {
	t.Parallel()
	vox := &fakeVoxbone{}
	e := newTestEnv(t, "", vox)
	master := e.login(e.masterKey)
	for range 3 {
		if r := e.do("POST", "/v2/voxbone/orders", master, `{"data":{"group_id":1,"quantity":1}}`); r.Status != 201 {
			t.Fatalf("order: %s", r.Raw)
		}
	}
	for _, q := range []string{"", "?page_size=0", "?page_size=1", "?page_size=x", "?offset=-1", "?foo=bar"} {
		t.Run(q, func(t *testing.T) {
			r := e.do("GET", "/v2/voxbone/orders"+q, master, nil)
			var orders []Order
			r.data(t, &orders)
			if r.Status != 200 || len(orders) != 3 {
				t.Fatalf("orders%s: %d, %d orders: %s", q, r.Status, len(orders), r.Raw)
			}
		})
	}
}

// countingStore counts the API's account reads per id.
type countingStore struct {
	knm.Store
	mu   sync.Mutex
	gets map[string]int
}

func (c *countingStore) GetAccount(ctx context.Context, id string) (*knm.Account, error) {
	c.mu.Lock()
	c.gets[id]++
	c.mu.Unlock()
	return c.Store.GetAccount(ctx, id)
}

func (c *countingStore) SetAccountAPIKeyHash(ctx context.Context, accountID, hash string) error {
	return c.Store.(manager.APIKeyHashSetter).SetAccountAPIKeyHash(ctx, accountID, hash)
}

func (c *countingStore) reset() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.gets
	c.gets = map[string]int{}
	return old
}

// TestVoxboneOrdersOneReadPerAccount: listing orders reads each assign_to account once,
// however many orders it has, and still filters to the reseller's tree.
func TestVoxboneOrdersOneReadPerAccount(t *testing.T) {
	t.Parallel()
	cs := &countingStore{gets: map[string]int{}}
	vox := &fakeVoxbone{}
	e := newTestEnvWrapped(t, "", vox, func(s knm.Store) knm.Store { cs.Store = s; return cs })
	master := e.login(e.masterKey)
	reseller, rkey := e.createAccount(master, "reseller", map[string]any{"is_reseller": true})
	rtok := e.login(rkey)
	c1, _ := e.createAccount(rtok, "c1", nil)
	c2, _ := e.createAccount(rtok, "c2", nil)
	other, _ := e.createAccount(master, "other", nil)
	want := map[string]int{}
	for _, tc := range []struct {
		assignTo string
		orders   int
		visible  bool
	}{
		{c1, 20, true},
		{c2, 7, true},
		{reseller, 3, true},
		{other, 9, false},
		{"", 2, false},
	} {
		for range tc.orders {
			vox.orders = append(vox.orders, &Order{ID: "o" + strconv.Itoa(len(vox.orders)), State: "imported",
				AssignTo: tc.assignTo})
		}
		if tc.visible {
			want[tc.assignTo] = tc.orders
		}
	}
	cs.reset()
	r := e.do("GET", "/v2/voxbone/orders", rtok, nil)
	reads := cs.reset()
	var got []Order
	r.data(t, &got)
	seen := map[string]int{}
	for _, o := range got {
		seen[o.AssignTo]++
	}
	if r.Status != 200 || len(seen) != len(want) || seen[c1] != want[c1] || seen[c2] != want[c2] ||
		seen[reseller] != want[reseller] {
		t.Fatalf("reseller sees %v, want %v: %.400s", seen, want, r.Raw)
	}
	for _, id := range []string{c1, c2, other} {
		if reads[id] != 1 {
			t.Errorf("account %s read %d times, want 1 (reads %v)", id, reads[id], reads)
		}
	}
	// The master sees everything without reading any account.
	r = e.do("GET", "/v2/voxbone/orders", master, nil)
	reads = cs.reset()
	r.data(t, &got)
	if len(got) != len(vox.orders) || reads[c1]+reads[c2]+reads[other] != 0 {
		t.Fatalf("master listing: %d orders, reads %v", len(got), reads)
	}
}
