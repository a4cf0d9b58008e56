package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	kazooauth "github.com/knmproject/knm/kazoo/auth"
	"github.com/knmproject/knm/kazoo/auth/kazootest"
)

// sdkOrigin is the web origin Monster UI is served from in these tests: not knm's.
const sdkOrigin = "https://ui.example.com"

// sdkClient calls knm as Monster UI's kazoosdk does from a page of sdkOrigin: every
// request carries Origin and the token, and every reply must let that origin read it.
type sdkClient struct {
	t     *testing.T
	e     *testEnv
	token string
}

// call sends one request and checks the CORS header and the OpenAPI document.
func (c *sdkClient) call(method, path string, body any) reply {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		raw, _ := json.Marshal(map[string]any{"data": body})
		rd = bytes.NewReader(raw)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, c.e.srv.URL+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Origin", sdkOrigin)
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("X-Auth-Token", c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := reply{Status: resp.StatusCode, Header: resp.Header, Raw: raw}
	if err := json.Unmarshal(raw, &out.Env); err != nil {
		c.t.Fatalf("%s %s: not JSON: %s", method, path, raw)
	}
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != sdkOrigin {
		c.t.Errorf("%s %s: Access-Control-Allow-Origin %q", method, path, got)
	}
	validateReply(c.t, c.e.router, req, resp, raw)
	return out
}

// want checks a status and decodes data into v (when not nil).
func (c *sdkClient) want(r reply, status int, v any) {
	c.t.Helper()
	if r.Status != status || r.str("status") != "success" {
		c.t.Fatalf("want %d success, got %d %s", status, r.Status, r.Raw)
	}
	if v != nil {
		r.data(c.t, v)
	}
}

// newSDKEnv serves the API with sdkOrigin allowed and a Kazoo token verifier trusting key.
func newSDKEnv(t *testing.T, dsn string, key kazootest.Key) *testEnv {
	t.Helper()
	base := newTestEnv(t, dsn, nil)
	v, err := kazooauth.NewVerifier(kazooauth.Options{Config: base.api.cfg, Store: base.store})
	if err != nil {
		t.Fatal(err)
	}
	api, err := New(Options{Manager: base.mgr, Store: base.store, Config: base.api.cfg, Registry: base.api.registry,
		Node: "test", KazooAuth: v, CORSOrigins: []string{sdkOrigin}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(srv.Close)
	e := &testEnv{t: t, srv: srv, api: api, store: base.store, mgr: base.mgr, masterKey: base.masterKey,
		masterID: base.masterID, router: base.router}
	master := e.login(e.masterKey)
	settings := map[string]any{"public_keys_pem": map[string]string{key.ID: key.PublicPEM()}}
	if r := e.do("POST", "/v2/system_configs/kazoo_auth", master,
		map[string]any{"data": map[string]any{"default": settings}}); r.Status != 200 {
		t.Fatalf("kazoo_auth: %d %s", r.Status, r.Raw)
	}
	return e
}

// sdkAccount makes a reseller that may add numbers, with inventory to buy, and returns
// it and its API key.
func sdkAccount(t *testing.T, e *testEnv) (string, string) {
	t.Helper()
	master := e.login(e.masterKey)
	acc, key := e.createAccount(master, "monster", map[string]any{"is_reseller": true,
		"allow_number_additions": true})
	e.importNumbers("+12565551001", "+12565551002", "+12565551003", "+12565551004", "+12565551005")
	return acc, key
}

// sdkFlow drives every route of Monster UI's numbers resource and the buyNumbers flow
// (carriers_info → search → collection/activate → list → get → update → identify →
// delete) as acc, through the client's token.
func sdkFlow(t *testing.T, c *sdkClient, acc string) {
	pn := "/v2/accounts/" + acc + "/phone_numbers"
	num := func(n string) string { return pn + "/" + url.PathEscape(n) }

	var info struct {
		MaxPrefix int      `json:"maximal_prefix_length"`
		Carriers  []string `json:"usable_carriers"`
		States    []string `json:"usable_creation_states"`
	}
	c.want(c.call("GET", pn+"/carriers_info", nil), 200, &info) // getCarrierInfo
	if info.MaxPrefix < 3 || len(info.Carriers) == 0 || !slices.Contains(info.States, "in_service") {
		t.Fatalf("carriers_info: %+v", info)
	}
	var classifiers map[string]any
	c.want(c.call("GET", pn+"/classifiers", nil), 200, &classifiers) // listClassifiers
	var class map[string]any
	c.want(c.call("GET", pn+"/classifiers/"+url.PathEscape("+12565551001"), nil), 200, &class) // matchClassifier
	if len(classifiers) == 0 || class["e164"] != "+12565551001" {
		t.Fatalf("classifiers %d, class %v", len(classifiers), class)
	}
	var cities map[string]struct{ Prefixes []string }
	c.want(c.call("GET", pn+"/prefix?city=Huntsv", nil), 200, &cities) // searchCity
	if !slices.Contains(cities["Huntsville"].Prefixes, "256") {
		t.Fatalf("searchCity: %v", cities)
	}

	var found []struct{ Number, State string }
	c.want(c.call("GET", pn+"?prefix=256&quantity=3&offset=0", nil), 200, &found) // search
	if len(found) != 3 {
		t.Fatalf("search: %v", found)
	}
	var blocks []map[string]string
	c.want(c.call("GET", pn+"?prefix=256&quantity=2&offset=0&blocks=1", nil), 200, &blocks) // searchBlocks
	if len(blocks) != 1 || blocks[0]["start_number"] != "+12565551001" {
		t.Fatalf("searchBlocks: %v", blocks)
	}
	var coll collectionReply
	c.want(c.call("PUT", pn+"/collection/activate", map[string]any{"numbers": []string{found[0].Number,
		found[1].Number}}), 201, &coll) // activateBlock (buyNumbers)
	if len(coll.Success) != 2 || len(coll.Error) != 0 {
		t.Fatalf("activateBlock: %+v", coll)
	}
	c.want(c.call("PUT", num(found[2].Number)+"/activate", map[string]any{}), 201, nil) // activate

	var listing struct {
		Numbers map[string]struct {
			State     string   `json:"state"`
			Available []string `json:"features_available"`
		} `json:"numbers"`
	}
	c.want(c.call("GET", pn+`?filter_state=["in_service","port_in"]`, nil), 200, &listing) // list
	if len(listing.Numbers) != 3 || listing.Numbers[found[0].Number].State != "in_service" ||
		!slices.Contains(listing.Numbers[found[0].Number].Available, "cnam") {
		t.Fatalf("list: %+v", listing)
	}
	listing.Numbers = nil
	c.want(c.call("GET", pn, nil), 200, &listing) // listAll
	if len(listing.Numbers) != 3 {
		t.Fatalf("listAll: %+v", listing)
	}

	var got struct {
		ID       string   `json:"id"`
		State    string   `json:"state"`
		Features []string `json:"features"`
		ReadOnly struct {
			Features struct{ Available []string } `json:"features"`
		} `json:"_read_only"`
	}
	c.want(c.call("GET", num(found[0].Number), nil), 200, &got) // get
	if got.ID != found[0].Number || got.State != "in_service" || len(got.ReadOnly.Features.Available) == 0 {
		t.Fatalf("get: %+v", got)
	}
	c.want(c.call("POST", num(found[0].Number), map[string]any{"cnam": map[string]string{"display_name": "ACME"}}),
		200, &got) // update
	if !slices.Contains(got.Features, "outbound_cnam") {
		t.Fatalf("update: %+v", got)
	}
	c.want(c.call("PATCH", num(found[0].Number), map[string]any{"nickname": "desk"}), 200, &got) // patch
	var id map[string]string
	c.want(c.call("GET", num(found[0].Number)+"/identify", nil), 200, &id) // identify
	if id["account_id"] != acc {
		t.Fatalf("identify: %v", id)
	}
	var fixed map[string]any
	c.want(c.call("POST", pn+"/fix", map[string]any{}), 200, &fixed)                  // sync
	c.want(c.call("POST", pn+"/fix/"+url.PathEscape(found[0].Number), nil), 200, nil) // syncOne

	c.want(c.call("PUT", num("+12565552001"), map[string]any{}), 201, nil) // create
	coll = collectionReply{}
	c.want(c.call("PUT", pn+"/collection", map[string]any{"numbers": []string{"+12565552002", "+12565552003"}}),
		201, &coll) // createBlock
	if len(coll.Success) != 2 {
		t.Fatalf("createBlock: %+v", coll)
	}

	c.want(c.call("DELETE", num(found[0].Number), nil), 200, nil) // delete
	coll = collectionReply{}
	c.want(c.call("DELETE", pn+"/collection", map[string]any{"numbers": []string{found[1].Number,
		"+12565552002"}}), 200, &coll) // deleteBlock
	if len(coll.Success) != 2 {
		t.Fatalf("deleteBlock: %+v", coll)
	}
	listing.Numbers = nil
	c.want(c.call("GET", pn, nil), 200, &listing)
	if _, ok := listing.Numbers[found[0].Number]; ok || len(listing.Numbers) != 3 {
		t.Fatalf("after delete: %+v", listing)
	}
}

// sdkPreflight checks the browser's OPTIONS before a PUT with a token.
func sdkPreflight(t *testing.T, e *testEnv, path string) {
	t.Helper()
	req, _ := http.NewRequest("OPTIONS", e.srv.URL+path, nil)
	req.Header.Set("Origin", sdkOrigin)
	req.Header.Set("Access-Control-Request-Method", "PUT")
	req.Header.Set("Access-Control-Request-Headers", "x-auth-token, content-type")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != sdkOrigin ||
		!strings.Contains(resp.Header.Get("Access-Control-Allow-Methods"), "PUT") {
		t.Fatalf("preflight %s: %d %v", path, resp.StatusCode, resp.Header)
	}
}

func runSDKFlows(t *testing.T, dsn func(t *testing.T) string) {
	t.Run("api key", func(t *testing.T) {
		t.Parallel()
		e := newSDKEnv(t, dsn(t), kazootest.NewKey(t))
		acc, key := sdkAccount(t, e)
		sdkPreflight(t, e, "/v2/accounts/"+acc+"/phone_numbers/collection/activate")
		c := &sdkClient{t: t, e: e}
		var login map[string]any
		r := c.call("PUT", "/v2/api_auth", map[string]string{"api_key": key})
		c.want(r, 201, &login)
		c.token = r.str("auth_token")
		sdkFlow(t, c, acc)
	})
	t.Run("kazoo token", func(t *testing.T) {
		t.Parallel()
		key := kazootest.NewKey(t)
		e := newSDKEnv(t, dsn(t), key)
		acc, _ := sdkAccount(t, e)
		tok := kazootest.Mint(t, key, kazootest.Token{AccountID: acc, OwnerID: kazootest.RandHex(16),
			Exp: time.Now().Add(time.Hour)})
		sdkFlow(t, &sdkClient{t: t, e: e, token: tok}, acc)
	})
}

// TestSDKFlowSQLite and TestSDKFlowPostgres drive Monster UI's numbers resource and the
// buyNumbers flow from another origin, signed in with an API key and with a token minted
// as Kazoo mints them.
func TestSDKFlowSQLite(t *testing.T) {
	t.Parallel()
	runSDKFlows(t, func(*testing.T) string { return "" })
}

func TestSDKFlowPostgres(t *testing.T) {
	t.Parallel()
	runSDKFlows(t, freshSchemaDSN)
}
