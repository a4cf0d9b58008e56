package httpapi

import (
	"context"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/config"
)

// numPath is the single-number route of num in account acc.
func numPath(acc, num string) string {
	return "/v2/accounts/" + acc + "/phone_numbers/" + url.PathEscape(num)
}

// badIdentifier checks crossbar's not-found envelope naming num.
func badIdentifier(t *testing.T, r reply, num string) {
	t.Helper()
	wantError(t, r, 404)
	var data map[string]string
	r.data(t, &data)
	if r.str("message") != "bad_identifier" || data["message"] != "bad identifier" || data["not_found"] == "" || data["cause"] != num {
		t.Fatalf("not bad_identifier for %s: %s", num, r.Raw)
	}
}

// TestReleaseAvailable: releasing an available number is crossbar's 404 bad_identifier,
// exactly as releasing a missing one (kazoo-knm §3.5); other invalid transitions stay 400.
func TestReleaseAvailable(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, "", nil)
	e.importNumbers("+12565550401", "+12565550402", "+12565550403")
	n, err := e.store.GetNumber(context.Background(), "+12565550402")
	if err != nil {
		t.Fatal(err)
	}
	n.State = knm.StateAging
	if err := e.store.UpdateNumber(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	master := e.login(e.masterKey)
	acc, _ := e.createAccount(master, "owner", nil)

	for _, tc := range []struct {
		name, num string
		status    int
		message   string // envelope message
	}{
		{"available is bad_identifier", "+12565550401", 404, "bad_identifier"},
		{"missing is bad_identifier", "+12565550499", 404, "bad_identifier"},
		{"aging stays invalid_state_transition", "+12565550402", 400, "invalid_state_transition"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("DELETE", numPath(acc, tc.num), master, nil)
			wantError(t, r, tc.status)
			if r.str("message") != tc.message {
				t.Fatalf("message %q, want %q: %s", r.str("message"), tc.message, r.Raw)
			}
			if tc.status == 404 {
				badIdentifier(t, r, tc.num)
			} else if !strings.Contains(string(r.Raw), "from aging to released") {
				t.Fatalf("cause lost: %s", r.Raw)
			}
		})
	}

	// The collection release says the same per number: the available one reads as missing.
	r := e.do("DELETE", "/v2/accounts/"+acc+"/phone_numbers/collection", master,
		`{"data":{"numbers":["+12565550401","+12565550499","+12565550402"]}}`)
	var coll struct {
		Error map[string]knmErrorObject `json:"error"`
	}
	r.data(t, &coll)
	for _, tc := range []struct {
		num  string
		want knmErrorObject
	}{
		{"+12565550401", knmErrorObject{Code: 404, Error: "not_found", Message: "number +12565550401 not found", Cause: "+12565550401"}},
		{"+12565550499", knmErrorObject{Code: 404, Error: "not_found", Message: "number +12565550499 not found", Cause: "+12565550499"}},
		{"+12565550402", knmErrorObject{Code: 400, Error: "invalid_state_transition", Message: "invalid state transition", Cause: "from aging to released"}},
	} {
		if got := coll.Error[tc.num]; got != tc.want {
			t.Errorf("collection release %s: %+v, want %+v (%s)", tc.num, got, tc.want, r.Raw)
		}
	}
	// Nothing changed.
	if n, err := e.store.GetNumber(context.Background(), "+12565550401"); err != nil || n.State != knm.StateAvailable {
		t.Fatalf("available number after release: %+v %v", n, err)
	}
}

// TestReadForbiddenIsNotFound: a number the caller may not read is answered exactly as a
// missing number (404 bad_identifier, kazoo-knm §6.3), so ownership cannot be probed;
// writes on it stay 403.
func TestReadForbiddenIsNotFound(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, "", nil)
	e.importNumbers("+12565550501", "+12565550502")
	master := e.login(e.masterKey)
	victim, vkey := e.createAccount(master, "victim", nil)
	intruder, ikey := e.createAccount(master, "intruder", nil)
	vtok, itok := e.login(vkey), e.login(ikey)
	if r := e.do("PUT", numPath(victim, "+12565550501")+"/activate", vtok, nil); r.Status != 200 {
		t.Fatalf("setup activate: %s", r.Raw)
	}

	for _, tc := range []struct {
		name, token, acc, num string
		status                int
	}{
		{"owner reads its number", vtok, victim, "+12565550501", 200},
		{"master reads any number", master, intruder, "+12565550501", 200},
		{"anyone reads an available number", itok, intruder, "+12565550502", 200},
		{"foreign in_service number is bad_identifier", itok, intruder, "+12565550501", 404},
		{"missing number is bad_identifier", itok, intruder, "+12565550599", 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("GET", numPath(tc.acc, tc.num), tc.token, nil)
			if tc.status == 200 {
				if r.Status != 200 {
					t.Fatalf("status %d: %s", r.Status, r.Raw)
				}
				return
			}
			badIdentifier(t, r, tc.num)
		})
	}

	// The foreign number and the missing one differ only in the number they name.
	foreign := e.do("GET", numPath(intruder, "+12565550501"), itok, nil)
	missing := e.do("GET", numPath(intruder, "+12565550599"), itok, nil)
	if strings.ReplaceAll(string(foreign.Env["data"]), "0501", "0599") != string(missing.Env["data"]) {
		t.Fatalf("foreign and missing differ:\n%s\n%s", foreign.Env["data"], missing.Env["data"])
	}

	// Writes keep 403.
	for _, tc := range []struct{ method, suffix, body string }{
		{"PATCH", "", `{"data":{"x":1}}`},
		{"POST", "", `{"data":{"x":1}}`},
		{"DELETE", "", ""},
	} {
		t.Run(tc.method+tc.suffix, func(t *testing.T) {
			var body any
			if tc.body != "" {
				body = tc.body
			}
			r := e.do(tc.method, numPath(intruder, "+12565550501")+tc.suffix, itok, body)
			wantError(t, r, 403)
			if r.str("message") != "forbidden" {
				t.Fatalf("message %q: %s", r.str("message"), r.Raw)
			}
		})
	}
}

// TestCollectionUniqueAfterNormalization: numbers that normalize to the same E.164 are one
// number; the request is refused (400 on numbers, uniqueItems) before anything is done.
func TestCollectionUniqueAfterNormalization(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, "", nil)
	e.importNumbers("+12565550601", "+12565550602")
	master := e.login(e.masterKey)
	acc, _ := e.createAccount(master, "bulk", nil)
	base := "/v2/accounts/" + acc + "/phone_numbers"

	for _, tc := range []struct {
		name, method, path, numbers string
	}{
		{"activate", "PUT", base + "/collection/activate", `["+12565550601","12565550601"]`},
		{"activate padded", "PUT", base + "/collection/activate", `["12565550601"," +12565550601 "]`},
		{"create", "PUT", base + "/collection", `["+14155550002","14155550002"]`},
		{"release", "DELETE", base + "/collection", `["+12565550602","2565550602"]`},
		{"check", "POST", base + "/check", `["+12565550602","12565550602"]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := `{"data":{"numbers":` + tc.numbers + `,"create_with_state":"available"}}`
			if tc.name != "create" {
				body = `{"data":{"numbers":` + tc.numbers + `}}`
			}
			r := e.do(tc.method, tc.path, master, body)
			wantError(t, r, 400)
			var obj knmErrorObject
			r.data(t, &obj)
			if obj.Error != "invalid" || obj.Cause != "numbers" || !strings.Contains(obj.Message, "uniqueItems") {
				t.Fatalf("not a uniqueItems error on numbers: %s", r.Raw)
			}
		})
	}
	// Nothing was acted on.
	for num, want := range map[string]knm.State{"+12565550601": knm.StateAvailable, "+12565550602": knm.StateAvailable} {
		if n, err := e.store.GetNumber(context.Background(), num); err != nil || n.State != want {
			t.Fatalf("%s after refused collections: %+v %v", num, n, err)
		}
	}
	if _, err := e.store.GetNumber(context.Background(), "+14155550002"); !knm.IsErrorName(err, knm.ErrNotFound) {
		t.Fatalf("refused collection created +14155550002: %v", err)
	}
	// A number given in national form is acted on, and answered, as E.164.
	r := e.do("PUT", base+"/collection/activate", master, `{"data":{"numbers":["12565550601"]}}`)
	var coll struct {
		Success map[string]json.RawMessage `json:"success"`
	}
	r.data(t, &coll)
	if r.Status != 200 || coll.Success["+12565550601"] == nil {
		t.Fatalf("national-form activate: %d %s", r.Status, r.Raw)
	}
}

// TestListingPageSize: page_size is 1 to 1000 (Kazoo does not clamp; a larger value is a
// 400 that names the bound rather than a silently short page).
func TestListingPageSize(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, "", nil)
	master := e.login(e.masterKey)
	acc, _ := e.createAccount(master, "lister", nil)
	for _, tc := range []struct {
		q      string
		status int
	}{
		{"", 200},
		{"page_size=1", 200},
		{"page_size=1000", 200},
		{"page_size=1001", 400},
		{"page_size=1000000", 400},
		{"page_size=0", 400},
		{"page_size=x", 400},
	} {
		t.Run(tc.q, func(t *testing.T) {
			r := e.do("GET", "/v2/accounts/"+acc+"/phone_numbers?"+tc.q, master, nil)
			if tc.status == 200 {
				if r.Status != 200 {
					t.Fatalf("status %d: %s", r.Status, r.Raw)
				}
				return
			}
			wantError(t, r, tc.status)
			if !strings.Contains(string(r.Raw), "page_size must be an integer from 1 to 1000") {
				t.Fatalf("unclear message: %s", r.Raw)
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
	return c.Store.(apiKeyHashSetter).SetAccountAPIKeyHash(ctx, accountID, hash)
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
			vox.orders = append(vox.orders, &Order{ID: "o" + strconv.Itoa(len(vox.orders)), State: "imported", AssignTo: tc.assignTo})
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
	if r.Status != 200 || len(seen) != len(want) || seen[c1] != want[c1] || seen[c2] != want[c2] || seen[reseller] != want[reseller] {
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

// recorder is a carrier that records whether each search allowed purchases.
type recorder struct {
	mu         sync.Mutex
	noPurchase map[string]bool // by prefix
}

func (c *recorder) Name() string { return "knm_test_recorder" }
func (c *recorder) FindNumbers(_ context.Context, o knm.SearchOptions) ([]knm.SearchRow, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.noPurchase[o.Prefix.National] = o.NoPurchase
	return nil, nil
}
func (c *recorder) AcquireNumber(context.Context, *knm.Number) error    { return nil }
func (c *recorder) DisconnectNumber(context.Context, *knm.Number) error { return nil }
func (c *recorder) IsNumberBillable(*knm.Number) bool                   { return true }
func (c *recorder) ShouldLookupCNAM() bool                              { return false }
func (c *recorder) IsLocal() bool                                       { return false }
func (c *recorder) CheckNumbers(context.Context, []string) (map[string]string, error) {
	return nil, knm.ErrNotImplemented
}
func (c *recorder) Info() knm.CarrierInfo { return knm.CarrierInfo{MaximalPrefixLength: 10} }

// TestAnonymousSearchBuysNothing: a tokenless search reaches carriers with NoPurchase, so
// a carrier that buys to offer (knm_voxbone) spends nothing for an unknown caller; an
// authenticated search may buy.
func TestAnonymousSearchBuysNothing(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, "", nil)
	rec := &recorder{noPurchase: map[string]bool{}}
	e.api.registry.Register(rec.Name(), func() (knm.Carrier, error) { return rec, nil })
	if err := e.api.cfg.Set(context.Background(), config.NumberManagerCategory, "carrier_modules", json.RawMessage(`["knm_test_recorder"]`), ""); err != nil {
		t.Fatal(err)
	}
	master := e.login(e.masterKey)
	acc, key := e.createAccount(master, "searcher", nil)
	tok := e.login(key)
	for _, tc := range []struct {
		name, path, token string
		noPurchase        bool
	}{
		{"anonymous", "/v2/phone_numbers?prefix=415", "", true},
		{"anonymous with country", "/v2/phone_numbers?prefix=416&country=us", "", true},
		{"master token", "/v2/phone_numbers?prefix=417", master, false},
		{"account token", "/v2/phone_numbers?prefix=418", tok, false},
		{"account route", "/v2/accounts/" + acc + "/phone_numbers?prefix=419", tok, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("GET", tc.path, tc.token, nil)
			if r.Status != 200 {
				t.Fatalf("search: %d %s", r.Status, r.Raw)
			}
			u, _ := url.Parse(tc.path)
			prefix := u.Query().Get("prefix")
			rec.mu.Lock()
			got, ok := rec.noPurchase[prefix]
			rec.mu.Unlock()
			if !ok {
				t.Fatalf("the carrier was not asked (%s)", r.Raw)
			}
			if got != tc.noPurchase {
				t.Fatalf("NoPurchase = %v, want %v", got, tc.noPurchase)
			}
		})
	}
}
