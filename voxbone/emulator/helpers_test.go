package emulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// testPrefix is where tests mount the emulator, to catch absolute-path bugs.
const testPrefix = "/proxy"

// harness is one emulator behind a real HTTP server on 127.0.0.1.
type harness struct {
	t    *testing.T
	emu  *Emulator
	srv  *httptest.Server
	base string // ends in "/ws-voxbone/services/rest/"
	user string
	pass string
}

func newHarness(t *testing.T, cfg Config) *harness {
	t.Helper()
	e := New(cfg)
	mux := http.NewServeMux()
	mux.Handle(testPrefix+"/", http.StripPrefix(testPrefix, e))
	srv := httptest.NewServer(mux) // listens on 127.0.0.1
	t.Cleanup(srv.Close)
	return &harness{t: t, emu: e, srv: srv, base: srv.URL + testPrefix + BasePath, user: cfg.Username, pass: cfg.Password}
}

// do sends a request; body is marshalled unless it is a string or nil.
func (h *harness) do(method, path string, body any) (int, []byte) {
	h.t.Helper()
	resp, data, err := h.try(method, path, body, nil)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		h.t.Fatalf("%s %s: Content-Type %q, body %s", method, path, ct, data)
	}
	if !json.Valid(data) {
		h.t.Fatalf("%s %s: invalid JSON body %q", method, path, data)
	}
	return resp.StatusCode, data
}

func (h *harness) try(method, path string, body any, hdr http.Header) (*http.Response, []byte, error) {
	return h.tryWith(h.srv.Client(), method, path, body, hdr)
}

// tryFresh sends a request on a new connection. Go's transport silently re-sends an
// idempotent request (a GET checkout!) when a reused connection closes without a reply, so
// drop tests must not reuse connections.
func (h *harness) tryFresh(method, path string, body any) (*http.Response, []byte, error) {
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	return h.tryWith(&http.Client{Transport: tr}, method, path, body, nil)
}

func (h *harness) tryWith(client *http.Client, method, path string, body any, hdr http.Header) (*http.Response, []byte, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			h.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, h.base+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Content-Type", "application/json")
	if h.user != "" || h.pass != "" {
		req.SetBasicAuth(h.user, h.pass)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp, data, err
}

// ok sends a request that must succeed and decodes the answer into out (if non-nil).
func (h *harness) ok(method, path string, body, out any) {
	h.t.Helper()
	status, data := h.do(method, path, body)
	if status != http.StatusOK {
		h.t.Fatalf("%s %s: status %d, body %s", method, path, status, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			h.t.Fatalf("%s %s: decode %s: %v", method, path, data, err)
		}
	}
}

// fail sends a request that must fail with status and apiErrorCode code.
func (h *harness) fail(method, path string, body any, status int, code string) apiError {
	h.t.Helper()
	got, data := h.do(method, path, body)
	env := decodeEnvelope(h.t, data)
	if got != status || len(env.Errors) != 1 || env.Errors[0].APIErrorCode != code {
		h.t.Fatalf("%s %s: got status %d body %s, want status %d code %s", method, path, got, data, status, code)
	}
	return env
}

func decodeEnvelope(t *testing.T, data []byte) apiError {
	t.Helper()
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatalf("error body %s: %v", data, err)
	}
	for _, k := range []string{"httpStatusCode", "apiModule", "genericErrorMessage", "errors"} {
		if _, ok := raw[k]; !ok {
			t.Fatalf("error body %s lacks %q", data, k)
		}
	}
	var env apiError
	if err := json.Unmarshal(data, &env); err != nil {
		t.Fatalf("error body %s: %v", data, err)
	}
	for _, e := range env.Errors {
		if e.APIErrorCode == "" || strings.Trim(e.APIErrorCode, "0123456789") != "" {
			t.Fatalf("apiErrorCode %q is not a string of digits", e.APIErrorCode)
		}
	}
	return env
}

// Response shapes used by tests.
type (
	groupsResp struct {
		DIDGroups   []DIDGroup `json:"didGroups"`
		ResultCount int        `json:"resultCount"`
	}
	didsResp struct {
		DIDs        []DID `json:"dids"`
		ResultCount int   `json:"resultCount"`
	}
	cartsResp struct {
		Carts       []Cart `json:"carts"`
		ResultCount int    `json:"resultCount"`
	}
	ordersResp struct {
		Orders      []Order `json:"orders"`
		ResultCount int     `json:"resultCount"`
	}
	checkoutResp struct {
		Status              string            `json:"status"`
		ProductCheckoutList []ProductCheckout `json:"productCheckoutList"`
	}
)

// createCart makes a cart and returns its id.
func (h *harness) createCart(ref string) int {
	h.t.Helper()
	var out struct{ Cart Cart }
	h.ok("PUT", "ordering/cart", map[string]string{"customerReference": ref, "description": "DID Order"}, &out)
	return out.Cart.CartIdentifier
}

func (h *harness) add(cart, group, qty int) {
	h.t.Helper()
	h.ok("POST", path("ordering/cart/%d/product", cart), map[string]any{
		"cartIdentifier": cart, "didCartItem": map[string]int{"didGroupId": group, "quantity": qty}}, nil)
}

func (h *harness) checkout(cart int) checkoutResp {
	h.t.Helper()
	var out checkoutResp
	h.ok("GET", path("ordering/cart/%d/checkout", cart), nil, &out)
	return out
}

// buy orders qty DIDs of one group and returns the order reference.
func (h *harness) buy(group, qty int) string {
	h.t.Helper()
	id := h.createCart("test")
	h.add(id, group, qty)
	return h.checkout(id).ProductCheckoutList[0].OrderReference
}

func path(format string, args ...any) string {
	return fmt.Sprintf(format, args...)
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2019, 8, 19, 17, 19, 15, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
