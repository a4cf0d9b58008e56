package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/config"
)

// kazooRoutesFixture is a master, a reseller and its customer, with numbers in the store.
type kazooRoutesFixture struct {
	e                    *testEnv
	master, rtok, ctok   string
	reseller, cust, peer string
}

func newKazooRoutesFixture(t *testing.T) *kazooRoutesFixture {
	t.Helper()
	e := newTestEnv(t, "", nil)
	f := &kazooRoutesFixture{e: e, master: e.login(e.masterKey)}
	var rkey, ckey string
	f.reseller, rkey = e.createAccount(f.master, "reseller", map[string]any{"is_reseller": true})
	f.cust, ckey = e.createAccount(f.master, "customer", map[string]any{"parent_id": f.reseller})
	f.peer, _ = e.createAccount(f.master, "peer", nil)
	f.rtok, f.ctok = e.login(rkey), e.login(ckey)
	return f
}

// put stores a number as it is, bypassing the manager: the states the fix route repairs
// cannot be reached through the API.
func (f *kazooRoutesFixture) put(t *testing.T, n *knm.Number) {
	t.Helper()
	if err := f.e.store.CreateNumber(context.Background(), n); err != nil {
		t.Fatal(err)
	}
}

func pnPath(acc, rest string) string { return "/v2/accounts/" + acc + "/phone_numbers/" + rest }

// TestIdentify: the owner of a routed number, Kazoo's client error for a number that routes
// nowhere or to a disabled account, and not found for a number the caller may not read.
func TestIdentify(t *testing.T) {
	t.Parallel()
	f := newKazooRoutesFixture(t)
	e := f.e
	f.put(t, &knm.Number{Number: "+14155550301", State: knm.StateInService, AssignedTo: f.cust, ModuleName: "knm_local"})
	f.put(t, &knm.Number{Number: "+14155550302", State: knm.StateAvailable, ModuleName: "knm_local"})
	f.put(t, &knm.Number{Number: "+14155550303", State: knm.StateInService, AssignedTo: f.peer, ModuleName: "knm_local"})
	f.put(t, &knm.Number{Number: "+14155550304", State: knm.StateReserved, AssignedTo: f.reseller,
		ReserveHistory: []string{f.reseller}, ModuleName: "knm_local"})

	var id map[string]string
	r := e.do("GET", pnPath(f.cust, url.PathEscape("+14155550301")+"/identify"), f.ctok, nil)
	r.data(t, &id)
	if r.Status != 200 || id["account_id"] != f.cust || id["number"] != "+14155550301" {
		t.Fatalf("identify: %d %s", r.Status, r.Raw)
	}
	// Without the +, as Monster UI may send it: normalised.
	if r := e.do("GET", pnPath(f.cust, "4155550301/identify"), f.ctok, nil); r.Status != 200 {
		t.Fatalf("identify national: %d %s", r.Status, r.Raw)
	}
	r = e.do("GET", pnPath(f.cust, url.PathEscape("+14155550302")+"/identify"), f.ctok, nil)
	wantError(t, r, 400)
	var data map[string]string
	r.data(t, &data)
	if r.str("message") != "client error" || data["cause"] != "not_in_service" || data["number"] != "+14155550302" {
		t.Fatalf("available number: %s", r.Raw)
	}
	wantError(t, e.do("GET", pnPath(f.cust, url.PathEscape("+14155550303")+"/identify"), f.ctok, nil), 404)
	wantError(t, e.do("GET", pnPath(f.cust, url.PathEscape("+14155550399")+"/identify"), f.ctok, nil), 404)

	acc, err := e.store.GetAccount(context.Background(), f.reseller)
	if err != nil {
		t.Fatal(err)
	}
	acc.Enabled = false
	if err := e.store.UpdateAccount(context.Background(), acc); err != nil {
		t.Fatal(err)
	}
	r = e.do("GET", pnPath(f.peer, url.PathEscape("+14155550304")+"/identify"), f.master, nil)
	wantError(t, r, 400)
	r.data(t, &data)
	if data["cause"] != "account_disabled" || data["account_id"] != f.reseller {
		t.Fatalf("disabled owner: %s", r.Raw)
	}
	// Another segment after the number is no route: 404, not identify and not {number}.
	wantError(t, e.do("GET", pnPath(f.cust, "4155550301/whoami"), f.ctok, nil), 404)
	// …/collection/activate is PUT only: GET is 405, even though it looks like {number}/{x}.
	wantError(t, e.do("GET", pnPath(f.cust, "collection/activate"), f.ctok, nil), 405)
}

// TestFixRepairsAndReports: the consistency check repairs owners, reserve histories, the
// local feature and features the settings no longer allow, and reports what it cannot
// repair; POST fix does it for all of an account's numbers.
func TestFixRepairsAndReports(t *testing.T) {
	t.Parallel()
	f := newKazooRoutesFixture(t)
	e := f.e
	ctx := context.Background()
	f.put(t, &knm.Number{Number: "+14155550401", State: knm.StateAvailable, AssignedTo: f.cust,
		ReserveHistory: []string{f.cust}, ModuleName: "knm_inventory"})
	f.put(t, &knm.Number{Number: "+14155550402", State: knm.StateReserved, AssignedTo: f.cust,
		ModuleName: "knm_inventory"})
	f.put(t, &knm.Number{Number: "+14155550403", State: knm.StateInService, ModuleName: "knm_inventory"})
	f.put(t, &knm.Number{Number: "+14155550404", State: knm.StateInService, AssignedTo: f.cust,
		ModuleName: "knm_local"}) // without its "local" feature
	f.put(t, &knm.Number{Number: "+14155550405", State: knm.StateInService, AssignedTo: f.cust,
		ModuleName: "knm_gone"})

	type fixNumber struct {
		Number map[string]any `json:"number"`
		Report struct {
			Fixed, Problems []string
		} `json:"report"`
	}
	fix := func(tok, num string) fixNumber {
		t.Helper()
		var got fixNumber
		r := e.do("POST", pnPath(f.cust, "fix/"+url.PathEscape(num)), tok, nil)
		if r.Status != 200 {
			t.Fatalf("fix %s: %d %s", num, r.Status, r.Raw)
		}
		r.data(t, &got)
		return got
	}
	got := fix(f.master, "+14155550401")
	n, _ := e.store.GetNumber(ctx, "+14155550401")
	if len(got.Report.Fixed) != 2 || n.AssignedTo != "" || n.PreviouslyAssignedTo != f.cust ||
		n.ReserveHistory != nil || got.Number["state"] != "available" {
		t.Fatalf("available with an owner: %+v, stored %+v", got, n)
	}
	if again := fix(f.master, "+14155550401"); len(again.Report.Fixed)+len(again.Report.Problems) != 0 {
		t.Fatalf("second fix found %+v", again.Report)
	}
	fix(f.ctok, "+14155550402")
	if n, _ := e.store.GetNumber(ctx, "+14155550402"); !slices.Equal(n.ReserveHistory, []string{f.cust}) {
		t.Fatalf("reserved without history: %v", n.ReserveHistory)
	}
	got = fix(f.master, "+14155550403")
	if len(got.Report.Problems) != 1 || !strings.Contains(got.Report.Problems[0], "without an owner") {
		t.Fatalf("owned without owner: %+v", got.Report)
	}
	// The customer may not fix a number it does not own: not found, as for GET.
	wantError(t, e.do("POST", pnPath(f.cust, "fix/"+url.PathEscape("+14155550403")), f.ctok, nil), 404)

	// A feature the settings stop allowing blocks every write until fixed.
	if r := e.do("PATCH", pnPath(f.cust, url.PathEscape("+14155550402")), f.ctok,
		`{"data":{"cnam":{"display_name":"ACME"}}}`); r.Status != 200 {
		t.Fatalf("cnam: %d %s", r.Status, r.Raw)
	}
	cfg := config.New(e.store, "test", "")
	if err := cfg.Set(ctx, config.NumberManagerCategory, "features.deny", json.RawMessage(`["cnam","inbound_cnam","outbound_cnam"]`), ""); err != nil {
		t.Fatal(err)
	}
	wantError(t, e.do("PATCH", pnPath(f.cust, url.PathEscape("+14155550402")), f.ctok, `{"data":{"note":"x"}}`), 403)

	var all struct {
		Checked int                                           `json:"checked"`
		Numbers map[string]struct{ Fixed, Problems []string } `json:"numbers"`
	}
	r := e.do("POST", pnPath(f.cust, "fix"), f.ctok, nil)
	r.data(t, &all)
	if r.Status != 200 || all.Checked != 3 || len(all.Numbers) != 3 {
		t.Fatalf("fix all: %d %s", r.Status, r.Raw)
	}
	if fx := all.Numbers["+14155550402"].Fixed; len(fx) != 1 || !strings.Contains(fx[0], "pvt_features") {
		t.Fatalf("denied cnam: %+v", all.Numbers["+14155550402"])
	}
	if fx := all.Numbers["+14155550404"].Fixed; len(fx) != 1 || !strings.Contains(fx[0], "local feature") {
		t.Fatalf("local feature: %+v", all.Numbers["+14155550404"])
	}
	if p := all.Numbers["+14155550405"].Problems; len(p) != 1 || !strings.Contains(p[0], "knm_gone") {
		t.Fatalf("unloaded module: %+v", all.Numbers["+14155550405"])
	}
	n, _ = e.store.GetNumber(ctx, "+14155550402")
	if _, ok := n.Features["outbound_cnam"]; ok || n.Public["cnam"] != nil {
		t.Fatalf("cnam kept: %v %v", n.FeatureNames(), n.Public)
	}
	if r := e.do("PATCH", pnPath(f.cust, url.PathEscape("+14155550402")), f.ctok, `{"data":{"note":"x"}}`); r.Status != 200 {
		t.Fatalf("write after fix: %d %s", r.Status, r.Raw)
	}
	wantError(t, e.do("POST", pnPath(f.peer, "fix"), f.ctok, nil), 403)
}

// TestLocalityOffline answers for numbers of several countries from libphonenumber's data,
// keyed by the number as sent.
func TestLocalityOffline(t *testing.T) {
	t.Parallel()
	f := newKazooRoutesFixture(t)
	want := map[string]string{"+14155550100": "US", "+442079460000": "GB", "+4930123456": "DE",
		"+81312345678": "JP", "+5511987654321": "BR", "+34912345678": "ES", "bogus1": ""}
	var nums []string
	for n := range want {
		nums = append(nums, n)
	}
	body, _ := json.Marshal(map[string]any{"data": map[string]any{"numbers": nums}})
	r := f.e.do("POST", pnPath(f.cust, "locality"), f.ctok, string(body))
	var got map[string]struct {
		Number, Status, Country string
		Locality                struct{ Locality, Type string }
	}
	r.data(t, &got)
	if r.Status != 200 || len(got) != len(want) {
		t.Fatalf("locality: %d %s", r.Status, r.Raw)
	}
	for n, country := range want {
		g := got[n]
		if g.Number != n || g.Country != country || (country != "") != (g.Status == "success") {
			t.Errorf("%s: %+v", n, g)
		}
	}
	if got["+14155550100"].Locality.Locality != "San Francisco" {
		t.Errorf("San Francisco: %+v", got["+14155550100"])
	}
	wantInvalid(t, f.e.do("POST", pnPath(f.cust, "locality"), f.ctok, `{"data":{"numbers":[]}}`), "numbers", "")
}

// TestPrefixByCity is Monster UI's searchCity: cities by their first letters, with their
// area codes.
func TestPrefixByCity(t *testing.T) {
	t.Parallel()
	f := newKazooRoutesFixture(t)
	r := f.e.do("GET", pnPath(f.cust, "prefix?city=San%20Fran"), f.ctok, nil)
	var got map[string]struct {
		State, Country string
		Prefixes       []string
	}
	r.data(t, &got)
	sf := got["San Francisco"]
	if r.Status != 200 || sf.State != "CA" || sf.Country != "US" || !slices.Contains(sf.Prefixes, "415") {
		t.Fatalf("prefix: %d %s", r.Status, r.Raw)
	}
	r = f.e.do("GET", pnPath(f.cust, "prefix?city=Lond&country=GB"), f.ctok, nil)
	r.data(t, &got)
	if _, ok := got["London"]; r.Status != 200 || !ok {
		t.Fatalf("London: %d %s", r.Status, r.Raw)
	}
	wantInvalid(t, f.e.do("GET", pnPath(f.cust, "prefix"), f.ctok, nil), "city", "")
	// The global route (GET /v2/phone_numbers/prefix) answers the same, and needs a token.
	r = f.e.do("GET", "/v2/phone_numbers/prefix?city=San%20Fran", f.ctok, nil)
	r.data(t, &got)
	if sf := got["San Francisco"]; r.Status != 200 || !slices.Contains(sf.Prefixes, "415") {
		t.Fatalf("global prefix: %d %s", r.Status, r.Raw)
	}
	if r = f.e.do("GET", "/v2/phone_numbers/prefix?city=San", "", nil); r.Status != 401 {
		t.Errorf("global prefix without a token: %d %s", r.Status, r.Raw)
	}
}

// TestCollectionEdit: POST and PATCH …/collection write every number as POST and PATCH
// …/{N} would, with one error per number that fails.
func TestCollectionEdit(t *testing.T) {
	t.Parallel()
	f := newKazooRoutesFixture(t)
	e := f.e
	f.put(t, &knm.Number{Number: "+14155550501", State: knm.StateInService, AssignedTo: f.cust,
		ModuleName: "knm_inventory", Public: map[string]json.RawMessage{"keep": json.RawMessage(`1`)}})
	f.put(t, &knm.Number{Number: "+14155550502", State: knm.StateInService, AssignedTo: f.cust,
		ModuleName: "knm_inventory", Public: map[string]json.RawMessage{"keep": json.RawMessage(`2`)}})
	f.put(t, &knm.Number{Number: "+14155550503", State: knm.StateInService, AssignedTo: f.peer,
		ModuleName: "knm_inventory"})
	var c collectionReply
	r := e.do("PATCH", pnPath(f.cust, "collection"), f.ctok,
		`{"data":{"numbers":["+14155550501","4155550502","+14155550503"],"cnam":{"display_name":"ACME"}}}`)
	r.data(t, &c)
	if r.Status != 200 || len(c.Success) != 2 || len(c.Error) != 1 || c.Error["+14155550503"] == nil {
		t.Fatalf("patch collection: %d %s", r.Status, r.Raw)
	}
	for _, num := range []string{"+14155550501", "+14155550502"} {
		n, _ := e.store.GetNumber(context.Background(), num)
		if n.Public["keep"] == nil || n.Features["outbound_cnam"] == nil {
			t.Fatalf("%s after PATCH: %+v", num, n)
		}
	}
	r = e.do("POST", pnPath(f.cust, "collection"), f.ctok, `{"data":{"numbers":["+14155550501"],"note":"x"}}`)
	if r.Status != 200 {
		t.Fatalf("post collection: %d %s", r.Status, r.Raw)
	}
	n, _ := e.store.GetNumber(context.Background(), "+14155550501")
	if n.Public["keep"] != nil || string(n.Public["note"]) != `"x"` || n.Features["outbound_cnam"] != nil {
		t.Fatalf("after POST: %+v", n)
	}
	wantInvalid(t, e.do("POST", pnPath(f.cust, "collection"), f.ctok, `{"data":{"numbers":["+14155550501"],
		"cnam":{"display_name":5}}}`), "cnam.display_name", "")
}

// TestPortNumber: PUT …/{N}/port creates the number in port_in for the account, body or
// not, and answers 201.
func TestPortNumber(t *testing.T) {
	t.Parallel()
	f := newKazooRoutesFixture(t)
	r := f.e.do("PUT", pnPath(f.cust, url.PathEscape("+14155550601")+"/port"), f.ctok, nil)
	var got map[string]any
	r.data(t, &got)
	if r.Status != 201 || got["state"] != "port_in" {
		t.Fatalf("port: %d %s", r.Status, r.Raw)
	}
	n, _ := f.e.store.GetNumber(context.Background(), "+14155550601")
	if n.AssignedTo != f.cust || n.State != knm.StatePortIn {
		t.Fatalf("stored %+v", n)
	}
	r = f.e.do("PUT", pnPath(f.cust, url.PathEscape("+14155550602")+"/port"), f.ctok, `{"data":{"note":"losing carrier"}}`)
	if r.Status != 201 {
		t.Fatalf("port with body: %d %s", r.Status, r.Raw)
	}
	f.put(t, &knm.Number{Number: "+14155550603", State: knm.StateInService, AssignedTo: f.peer,
		ModuleName: "knm_local"})
	wantError(t, f.e.do("PUT", pnPath(f.cust, url.PathEscape("+14155550603")+"/port"), f.ctok, nil), 409)
}

// TestSearchBlocks: ?blocks=N answers ranges of quantity consecutive numbers.
func TestSearchBlocks(t *testing.T) {
	t.Parallel()
	f := newKazooRoutesFixture(t)
	f.e.importNumbers("+12565550100", "+12565550101", "+12565550102", "+12565550103", "+12565550104",
		"+12565550106", "+12565550107", "+12565550200")
	var got []map[string]string
	r := f.e.do("GET", "/v2/accounts/"+f.cust+"/phone_numbers?prefix=256&quantity=2&blocks=5", f.ctok, nil)
	r.data(t, &got)
	want := []map[string]string{
		{"start_number": "+12565550100", "end_number": "+12565550101"},
		{"start_number": "+12565550102", "end_number": "+12565550103"},
		{"start_number": "+12565550106", "end_number": "+12565550107"},
	}
	if r.Status != 200 || len(got) != len(want) {
		t.Fatalf("blocks: %d %s", r.Status, r.Raw)
	}
	for i := range want {
		if got[i]["start_number"] != want[i]["start_number"] || got[i]["end_number"] != want[i]["end_number"] {
			t.Fatalf("blocks: %s", r.Raw)
		}
	}
	r = f.e.do("GET", "/v2/phone_numbers?prefix=256&quantity=3&blocks=1", f.ctok, nil)
	r.data(t, &got)
	if r.Status != 200 || len(got) != 1 || got[0]["end_number"] != "+12565550102" {
		t.Fatalf("global blocks: %d %s", r.Status, r.Raw)
	}
	wantInvalid(t, f.e.do("GET", "/v2/phone_numbers?prefix=256&blocks=0", "", nil), "blocks", "")
}

// TestKazooRoutesAreNotNumbers: none of the literal sub-routes reaches the single-number
// routes, whose answer would be "… is not a phone number".
func TestKazooRoutesAreNotNumbers(t *testing.T) {
	t.Parallel()
	f := newKazooRoutesFixture(t)
	for _, c := range []struct{ method, rest, body string }{
		{"POST", "fix", ""}, {"POST", "fix/4155550999", ""}, {"POST", "locality", `{"data":{"numbers":["+14155550100"]}}`},
		{"GET", "prefix?city=Austin", ""}, {"POST", "collection", `{"data":{"numbers":["+14155550999"]}}`},
		{"PATCH", "collection", `{"data":{"numbers":["+14155550999"]}}`}, {"GET", "4155550999/identify", ""},
		{"PUT", "4155550998/port", ""}, {"GET", "carriers_info", ""}, {"GET", "classifiers", ""},
	} {
		var body any
		if c.body != "" {
			body = c.body
		}
		r := f.e.do(c.method, pnPath(f.cust, c.rest), f.ctok, body)
		if strings.Contains(string(r.Raw), "is not a phone number") || r.Status == 405 {
			t.Errorf("%s %s fell into the number routes: %d %s", c.method, c.rest, r.Status, r.Raw)
		}
	}
}

// TestLocalityUpstream: with a phonebook URL set, locality and prefix ask that service
// with Kazoo's protocol and pass its data on; its failure is crossbar's 500.
func TestLocalityUpstream(t *testing.T) {
	t.Parallel()
	f := newKazooRoutesFixture(t)
	var fail atomic.Bool
	mux := http.NewServeMux()
	mux.HandleFunc("POST /phonebook/locality/metadata", func(w http.ResponseWriter, r *http.Request) {
		var req struct{ Data struct{ Numbers []string } }
		json.NewDecoder(r.Body).Decode(&req)
		if fail.Load() || len(req.Data.Numbers) != 1 {
			http.Error(w, "down", 503)
			return
		}
		fmt.Fprintf(w, `{"status":"success","data":{%q:{"number":%q,"status":"success","country":"US",`+
			`"locality":{"locality":"Upstream City","country":"US","type":"LANDLINE","line_type":"fixed_line"}}}}`,
			req.Data.Numbers[0], req.Data.Numbers[0])
	})
	mux.HandleFunc("GET /phonebook/US/city", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"status":"success","data":{"%s ville":{"state":"XX","country":"US","prefixes":["999"]}}}`,
			r.URL.Query().Get("pattern"))
	})
	pb := httptest.NewServer(mux)
	t.Cleanup(pb.Close)
	cfg := config.New(f.e.store, "test", "")
	ctx := context.Background()
	for _, cat := range []string{"number_manager.locality|url", "crossbar.phone_numbers|phonebook_url"} {
		c, k, _ := strings.Cut(cat, "|")
		if err := cfg.Set(ctx, c, k, json.RawMessage(`"`+pb.URL+`/phonebook"`), ""); err != nil {
			t.Fatal(err)
		}
	}
	r := f.e.do("POST", pnPath(f.cust, "locality"), f.ctok, `{"data":{"numbers":["+14155550100"]}}`)
	if r.Status != 200 || !strings.Contains(string(r.Raw), "Upstream City") {
		t.Fatalf("upstream locality: %d %s", r.Status, r.Raw)
	}
	r = f.e.do("GET", pnPath(f.cust, "prefix?city=Up"), f.ctok, nil)
	if r.Status != 200 || !strings.Contains(string(r.Raw), `"Up ville"`) {
		t.Fatalf("upstream city: %d %s", r.Status, r.Raw)
	}
	fail.Store(true)
	r = f.e.do("POST", pnPath(f.cust, "locality"), f.ctok, `{"data":{"numbers":["+14155550100"]}}`)
	if r.Status != 500 || !strings.Contains(string(r.Raw), "number locality lookup failed") {
		t.Fatalf("upstream down: %d %s", r.Status, r.Raw)
	}
	if err := cfg.Set(ctx, "number_manager.locality", "url", json.RawMessage(`"ftp://phonebook"`), ""); err != nil {
		t.Fatal(err)
	}
	r = f.e.do("POST", pnPath(f.cust, "locality"), f.ctok, `{"data":{"numbers":["+14155550100"]}}`)
	if r.Status != 500 || !strings.Contains(string(r.Raw), "could not get locality url") {
		t.Fatalf("bad url: %d %s", r.Status, r.Raw)
	}
}
