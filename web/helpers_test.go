package web

import (
	"context"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/carriers"
	"github.com/knmproject/knm/carriers/local"
	"github.com/knmproject/knm/config"
	"github.com/knmproject/knm/httpapi"
	"github.com/knmproject/knm/manager"
	"github.com/knmproject/knm/store"
)

// clock is a settable time for session expiry.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is the console over a real SQLite store, served by httptest on 127.0.0.1, beside
// the REST API as knm serve mounts them.
type env struct {
	t         *testing.T
	srv       *httptest.Server
	web       *Server
	store     knm.Store
	mgr       *manager.Manager
	clock     *clock
	masterKey string
	masterID  string
}

// testMasterKey is the master API key of every test database.
const testMasterKey = "web-test-master-key-0123456789abcdef"

func newEnv(t *testing.T, tls bool) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := store.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "knm.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return newEnvOn(t, s, tls)
}

// newEnvOn is newEnv on a store the test opened: another instance on the same database
// when the database already has a master (the same master key is used).
func newEnvOn(t *testing.T, s knm.Store, tls bool) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg := config.New(s, "test", "")
	reg := &carriers.Registry{}
	local.RegisterAll(reg, s)
	mgr, err := manager.New(
		manager.Options{Store: s, Carriers: func(names []string) []knm.Carrier { return reg.New(names, nil) }},
	)
	if err != nil {
		t.Fatal(err)
	}
	m, err := httpapi.EnsureMaster(ctx, s, cfg, testMasterKey)
	if err != nil {
		t.Fatal(err)
	}
	api, err := httpapi.New(httpapi.Options{Manager: mgr, Store: s, Config: cfg, Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Now()}
	w, err := New(Options{Manager: mgr, Store: s, Config: cfg, Registry: reg, Now: clk.now, SessionTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, web: w, store: s, mgr: mgr, clock: clk, masterKey: testMasterKey, masterID: m.ID}
	if tls {
		e.srv = httptest.NewTLSServer(w.Mount(api.Handler()))
	} else {
		e.srv = httptest.NewServer(w.Mount(api.Handler()))
	}
	t.Cleanup(e.srv.Close)
	return e
}

// browser is an HTTP client with a cookie jar that does not follow redirects.
type browser struct {
	e   *env
	c   *http.Client
	jar *cookiejar.Jar
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	c := new(http.Client)
	*c = *e.srv.Client()
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.Timeout = 30 * time.Second
	return &browser{e: e, c: c, jar: jar}
}

// page is a response read whole.
type page struct {
	status int
	header http.Header
	body   string
}

func (b *browser) do(method, path string, form url.Values) page {
	b.e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.e.srv.URL+path, body)
	if err != nil {
		b.e.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, header: resp.Header, body: html.UnescapeString(string(raw))}
}

func (b *browser) get(path string) page { return b.do("GET", path, nil) }

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf is the token of the first form on the page at path.
func (b *browser) csrf(path string) string {
	b.e.t.Helper()
	p := b.get(path)
	m := csrfRE.FindStringSubmatch(p.body)
	if m == nil {
		b.e.t.Fatalf("no csrf token on %s (%d):\n%s", path, p.status, p.body)
	}
	return m[1]
}

// signIn signs the browser in with key and returns where it was sent.
func (b *browser) signIn(key string) page {
	b.e.t.Helper()
	return b.do("POST", "/signin", url.Values{"api_key": {key}, "csrf": {b.csrf("/signin")}, "next": {"/numbers"}})
}

// post submits a form with the session's token, taken from the page at from.
func (b *browser) post(from, path string, form url.Values) page {
	b.e.t.Helper()
	form.Set("csrf", b.csrf(from))
	return b.do("POST", path, form)
}

// subAccount creates an account under parent with an API key.
func (e *env) subAccount(name, parent string) (*knm.Account, string) {
	e.t.Helper()
	me, err := e.store.GetAccount(context.Background(), e.masterID)
	if err != nil {
		e.t.Fatal(err)
	}
	acc, key, err := e.mgr.CreateAccountWithKey(context.Background(), me, manager.NewAccount{Name: name, ParentID: parent})
	if err != nil {
		e.t.Fatal(err)
	}
	return acc, key
}

// number stores a number in state for owner ("" for none).
func (e *env) number(num string, state knm.State, owner string) {
	e.t.Helper()
	n := &knm.Number{Number: num, State: state, AssignedTo: owner, ModuleName: "knm_inventory"}
	if owner != "" {
		n.ReserveHistory = []string{owner}
	}
	if err := e.store.CreateNumber(context.Background(), n); err != nil {
		e.t.Fatal(err)
	}
}

func mustJSON(t *testing.T, raw string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		t.Fatalf("not JSON: %s", raw)
	}
	return m
}
