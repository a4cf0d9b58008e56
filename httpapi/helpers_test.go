package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/carriers"
	"github.com/knmproject/knm/carriers/local"
	"github.com/knmproject/knm/config"
	"github.com/knmproject/knm/e164"
	"github.com/knmproject/knm/features"
	"github.com/knmproject/knm/manager"
	"github.com/knmproject/knm/store"
)

// testEnv is an API over a real store, served by httptest on 127.0.0.1.
type testEnv struct {
	t         *testing.T
	srv       *httptest.Server
	api       *Server
	store     knm.Store
	mgr       *manager.Manager
	masterKey string
	masterID  string
	router    routers.Router
}

func newTestEnv(t *testing.T, dsn string, voxbone Voxbone) *testEnv {
	t.Helper()
	return newTestEnvWrapped(t, dsn, voxbone, nil)
}

// newTestEnvWrapped is newTestEnv with the API and the manager given wrap(store), so a
// test can observe the store reads a request makes.
func newTestEnvWrapped(t *testing.T, dsn string, voxbone Voxbone, wrap func(knm.Store) knm.Store) *testEnv {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if dsn == "" {
		dsn = "sqlite:" + filepath.Join(t.TempDir(), "knm.db")
	}
	s, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if wrap != nil {
		s = wrap(s)
	}
	cfg := config.New(s, "test", "")
	if err := cfg.Set(ctx, config.NumberManagerCategory, "carrier_modules", json.RawMessage(`["knm_inventory"]`),
		""); err != nil {
		t.Fatal(err)
	}
	reg := &carriers.Registry{}
	local.RegisterAll(reg, s)
	mgr, err := manager.New(manager.Options{
		Store: s,
		// Read at every call (no cache), so a test's config change applies at once.
		Policy: func(ctx context.Context) (manager.Policy, error) {
			nm, err := cfg.NumberManager(ctx)
			return nm.Policy, err
		},
		Carriers: func(names []string) []knm.Carrier { return reg.New(names, nil) },
		// Kazoo's converters, as cmd/knm wires them.
		Normalize: e164.Default().Normalize,
		FeatureSettings: func(ctx context.Context, reseller, module string) (features.Settings, error) {
			fs, err := config.FeatureSettings(ctx, cfg, reseller, module)
			fs.Carriers = reg.Names()
			return fs, err
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	master, err := EnsureMaster(ctx, s, cfg, "")
	if err != nil {
		t.Fatal(err)
	}
	api, err := New(Options{Manager: mgr, Store: s, Config: cfg, Registry: reg, Voxbone: voxbone, Node: "test",
		MaxBodyBytes: 4096})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(srv.Close)
	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPI())
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(ctx); err != nil {
		t.Fatalf("openapi document invalid: %v", err)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return &testEnv{t: t, srv: srv, api: api, store: s, mgr: mgr, masterKey: master.GeneratedKey, masterID: master.ID,
		router: router}
}

// reply is a decoded API reply.
type reply struct {
	Status int
	Header http.Header
	Raw    []byte
	Env    map[string]json.RawMessage
}

func (r reply) str(key string) string {
	var s string
	json.Unmarshal(r.Env[key], &s)
	return s
}

// data decodes the envelope's data into v.
func (r reply) data(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Env["data"], v); err != nil {
		t.Fatalf("data %s: %v", r.Env["data"], err)
	}
}

// do sends a request, checks the reply against the OpenAPI document and decodes it.
func (e *testEnv) do(method, path, token string, body any) reply {
	e.t.Helper()
	return e.doWith(method, path, token, body, nil)
}

// doWith is do with extra request headers.
func (e *testEnv) doWith(method, path, token string, body any, header http.Header) reply {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, _ := json.Marshal(b)
		rd = bytes.NewReader(raw)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("X-Auth-Token", token)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := reply{Status: resp.StatusCode, Header: resp.Header, Raw: raw}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") && !(path == "/v2/openapi.json" &&
		resp.StatusCode == 200) {
		if err := json.Unmarshal(raw, &out.Env); err != nil {
			e.t.Fatalf("%s %s: reply is not a JSON object: %s", method, path, raw)
		}
	}
	validateReply(e.t, e.router, req, resp, raw)
	return out
}

// validateReply checks a real reply against the OpenAPI document.
func validateReply(t *testing.T, router routers.Router, req *http.Request, resp *http.Response, body []byte) {
	t.Helper()
	route, params, err := router.FindRoute(req)
	if err != nil {
		// Unknown routes are not in the document; their reply must still be an error envelope.
		if resp.StatusCode < 400 {
			t.Errorf("%s %s: no OpenAPI route: %v", req.Method, req.URL.Path, err)
		}
		return
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 resp.StatusCode,
		Header:                 resp.Header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		t.Errorf("%s %s (%d) does not match the OpenAPI document: %v\nbody: %.600s", req.Method, req.URL.Path,
			resp.StatusCode, err, body)
	}
}

// login exchanges an API key for a token.
func (e *testEnv) login(key string) string {
	e.t.Helper()
	r := e.do("PUT", "/v2/api_auth", "", map[string]any{"data": map[string]string{"api_key": key}})
	if r.Status != http.StatusCreated {
		e.t.Fatalf("api_auth: %d %s", r.Status, r.Raw)
	}
	tok := r.str("auth_token")
	if tok == "" {
		e.t.Fatalf("api_auth: no auth_token in %s", r.Raw)
	}
	return tok
}

// createAccount creates a sub-account and returns its id and API key.
func (e *testEnv) createAccount(token, name string, extra map[string]any) (string, string) {
	e.t.Helper()
	data := map[string]any{"name": name}
	for k, v := range extra {
		data[k] = v
	}
	r := e.do("PUT", "/v2/accounts", token, map[string]any{"data": data})
	if r.Status != http.StatusCreated {
		e.t.Fatalf("create account: %d %s", r.Status, r.Raw)
	}
	var acc struct{ ID, APIKey string }
	var m map[string]any
	r.data(e.t, &m)
	acc.ID, _ = m["id"].(string)
	acc.APIKey, _ = m["api_key"].(string)
	return acc.ID, acc.APIKey
}

// importNumbers puts available knm_inventory numbers in the store.
func (e *testEnv) importNumbers(nums ...string) {
	e.t.Helper()
	csv := "number\n" + strings.Join(nums, "\n") + "\n"
	rep, err := e.mgr.Import(context.Background(), strings.NewReader(csv), manager.ImportOptions{}, nil)
	if err != nil || rep.Imported != len(nums) {
		e.t.Fatalf("import: %+v %v", rep, err)
	}
}

// wantError checks the knm error envelope.
func wantError(t *testing.T, r reply, status int) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Raw)
	}
	if r.str("status") != "error" || r.str("error") == "" || r.str("message") == "" || len(r.Env["data"]) == 0 {
		t.Fatalf("not a knm error envelope: %s", r.Raw)
	}
}

// fakeVoxbone is an in-memory Voxbone for the native routes.
type fakeVoxbone struct {
	mu     sync.Mutex
	orders []*Order
	byKey  map[string]*Order
}

func (f *fakeVoxbone) DIDGroups(context.Context, DIDGroupQuery) (any, error) {
	return []map[string]any{{"didGroupId": 1, "stock": 10}}, nil
}

func (f *fakeVoxbone) Balance(context.Context) (any, error) {
	return map[string]any{"balance": 500, "currency": "USD"}, nil
}

func (f *fakeVoxbone) Order(_ context.Context, req OrderRequest) (*Order, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if o, ok := f.byKey[req.IdempotencyKey]; ok && req.IdempotencyKey != "" {
		return o, nil
	}
	o := &Order{ID: "knm-" + string(rune('a'+len(f.orders))), State: "imported", AssignTo: req.AssignTo,
		Numbers: []string{"+12565550999"}}
	f.orders = append(f.orders, o)
	if f.byKey == nil {
		f.byKey = map[string]*Order{}
	}
	f.byKey[req.IdempotencyKey] = o
	return o, nil
}

func (f *fakeVoxbone) GetOrder(_ context.Context, id string) (*Order, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, o := range f.orders {
		if o.ID == id {
			return o, nil
		}
	}
	return nil, &knm.Error{Name: knm.ErrNotFound, Message: "order " + id + " not found", Cause: id}
}

func (f *fakeVoxbone) ListOrders(context.Context) ([]*Order, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*Order(nil), f.orders...), nil
}

// wantInvalid checks a 400 invalid naming cause, whose message holds msg.
func wantInvalid(t *testing.T, r reply, cause, msg string) {
	t.Helper()
	wantError(t, r, 400)
	var data map[string]map[string]struct{ Message string }
	r.data(t, &data)
	found := false
	for _, rule := range data[cause] {
		found = found || strings.Contains(rule.Message, msg)
	}
	if r.str("message") != "invalid data" || len(data) != 1 || !found {
		t.Fatalf("want invalid data, {%q: {rule: {message containing %q}}}: %s", cause, msg, r.Raw)
	}
}
