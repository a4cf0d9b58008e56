package httpapi

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/knmproject/knm/config"
)

const (
	webApp = "https://ui.example.com"
	other  = "https://evil.example.net"
)

// corsServer serves the API of a fresh test environment with the given CORS origins.
func corsServer(t *testing.T, origins ...string) (*testEnv, string) {
	t.Helper()
	e := newTestEnv(t, "", nil)
	api, err := New(Options{Manager: e.mgr, Store: e.store, Config: config.New(e.store, "test", ""), CORSOrigins: origins})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(srv.Close)
	return e, srv.URL
}

// send makes a raw request (OPTIONS is not in the OpenAPI document e.do checks against).
func send(t *testing.T, method, url string, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}

func preflight(origin, method string) map[string]string {
	return map[string]string{"Origin": origin, "Access-Control-Request-Method": method,
		"Access-Control-Request-Headers": "x-auth-token, content-type"}
}

func TestCORSPreflight(t *testing.T) {
	t.Parallel()
	e, base := corsServer(t, webApp, "http://127.0.0.1:9999")
	num := base + "/v2/accounts/" + e.masterID + "/phone_numbers/%2B14155550100"
	for _, tc := range []struct {
		url, method, methods string
	}{
		{base + "/v2/api_auth", "PUT", "PUT"},
		{num, "POST", "GET, PUT, POST, PATCH, DELETE"},
		{base + "/v2/accounts/" + e.masterID + "/phone_numbers/collection/activate", "PUT", "PUT"},
		{base + "/v2/phone_numbers?prefix=415", "GET", "GET"},
	} {
		resp, body := send(t, "OPTIONS", tc.url, preflight(webApp, tc.method))
		h := resp.Header
		if resp.StatusCode != http.StatusNoContent || len(body) != 0 || h.Get("Access-Control-Allow-Origin") != webApp ||
			h.Get("Access-Control-Allow-Methods") != tc.methods || h.Get("Access-Control-Max-Age") != corsMaxAge ||
			!slices.Contains(h.Values("Vary"), "Origin") || h.Get("X-Request-Id") == "" {
			t.Errorf("preflight %s %s: %d %v %s", tc.method, tc.url, resp.StatusCode, h, body)
		}
		allowed := strings.ToLower(h.Get("Access-Control-Allow-Headers"))
		for _, want := range []string{"x-auth-token", "content-type", "x-request-id", "idempotency-key"} {
			if !strings.Contains(allowed, want) {
				t.Errorf("Access-Control-Allow-Headers %q lacks %s", allowed, want)
			}
		}
	}
	// Origins are compared as browsers send them.
	resp, _ := send(t, "OPTIONS", base+"/v2/api_auth", preflight("http://127.0.0.1:9999", "PUT"))
	if resp.StatusCode != 204 {
		t.Errorf("listed origin with a port: %d", resp.StatusCode)
	}
	// Another origin is refused with a knm error that says what to configure.
	resp, body := send(t, "OPTIONS", base+"/v2/api_auth", preflight(other, "PUT"))
	var env struct {
		Status string
		Data   struct{ Message string }
	}
	json.Unmarshal(body, &env)
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Access-Control-Allow-Origin") != "" ||
		env.Status != "error" || !strings.Contains(env.Data.Message, "KNM_CORS_ORIGINS") {
		t.Errorf("other origin: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	// OPTIONS without a preflight lists the methods; an unknown path is 404.
	resp, _ = send(t, "OPTIONS", num, nil)
	if resp.StatusCode != 204 || resp.Header.Get("Allow") != "GET, PUT, POST, PATCH, DELETE, OPTIONS" {
		t.Errorf("plain OPTIONS: %d %v", resp.StatusCode, resp.Header)
	}
	if resp, _ := send(t, "OPTIONS", base+"/v2/nothing", preflight(webApp, "GET")); resp.StatusCode != 404 {
		t.Errorf("OPTIONS of an unknown path: %d", resp.StatusCode)
	}
}

// TestCORSReplies checks the headers on real requests: errors included, so a page can
// read why a call failed; other origins get the reply without them (the browser hides it).
func TestCORSReplies(t *testing.T) {
	t.Parallel()
	e, base := corsServer(t, webApp)
	accounts := base + "/v2/accounts/" + e.masterID
	for _, tc := range []struct {
		url, origin string
		status      int
		allow       string
	}{
		{base + "/healthz", webApp, 200, webApp},
		{accounts, webApp, 401, webApp}, // no token
		{base + "/healthz", other, 200, ""},
		{base + "/healthz", "", 200, ""},
	} {
		h := map[string]string{}
		if tc.origin != "" {
			h["Origin"] = tc.origin
		}
		resp, body := send(t, "GET", tc.url, h)
		if resp.StatusCode != tc.status || resp.Header.Get("Access-Control-Allow-Origin") != tc.allow ||
			!slices.Contains(resp.Header.Values("Vary"), "Origin") {
			t.Errorf("GET %s from %q: %d %v %s", tc.url, tc.origin, resp.StatusCode, resp.Header, body)
		}
		expose := resp.Header.Get("Access-Control-Expose-Headers")
		if tc.allow != "" && !strings.Contains(expose, "X-Request-Id") {
			t.Errorf("GET %s: exposed headers %q", tc.url, expose)
		}
	}
}

// TestCORSWildcard checks that "*" opens only the routes that need no token.
func TestCORSWildcard(t *testing.T) {
	t.Parallel()
	e, base := corsServer(t, "*")
	for _, tc := range []struct {
		method, url string
		status      int
	}{
		{"GET", base + "/v2/phone_numbers?prefix=415", 204},
		{"GET", base + "/healthz", 204},
		{"PUT", base + "/v2/api_auth", 204},
		{"GET", base + "/v2/accounts/" + e.masterID + "/phone_numbers", 403},
		{"PUT", base + "/v2/accounts/" + e.masterID + "/phone_numbers/collection/activate", 403},
	} {
		resp, body := send(t, "OPTIONS", tc.url, preflight(other, tc.method))
		want := ""
		if tc.status == 204 {
			want = "*"
		}
		if resp.StatusCode != tc.status || resp.Header.Get("Access-Control-Allow-Origin") != want {
			t.Errorf("preflight %s %s: %d %v %s", tc.method, tc.url, resp.StatusCode, resp.Header, body)
		}
	}
	resp, _ := send(t, "GET", base+"/v2/phone_numbers?prefix=415&quantity=1", map[string]string{"Origin": other})
	if resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("tokenless search from any origin: %v", resp.Header)
	}
	resp, _ = send(t, "GET", base+"/v2/accounts/"+e.masterID, map[string]string{"Origin": other})
	if resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("authenticated route opened by *: %v", resp.Header)
	}
}

// TestCORSOff checks the default: no origin may call from a browser.
func TestCORSOff(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, "", nil)
	resp, _ := send(t, "OPTIONS", e.srv.URL+"/v2/api_auth", preflight(webApp, "PUT"))
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Access-Control-Allow-Origin") != "" ||
		resp.Header.Get("Vary") != "" {
		t.Errorf("preflight with CORS off: %d %v", resp.StatusCode, resp.Header)
	}
	resp, _ = send(t, "GET", e.srv.URL+"/healthz", map[string]string{"Origin": webApp})
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("GET with CORS off: %d %v", resp.StatusCode, resp.Header)
	}
}

func TestCORSOrigins(t *testing.T) {
	t.Parallel()
	got := SplitOrigins(" https://a.example, http://b.example:8080 ,,*\n")
	if !slices.Equal(got, []string{"https://a.example", "http://b.example:8080", "*"}) {
		t.Fatalf("SplitOrigins = %q", got)
	}
	for in, want := range map[string]string{
		"HTTPS://UI.Example.com:443/": "https://ui.example.com",
		"http://ui.example.com:80":    "http://ui.example.com",
		"http://127.0.0.1:8080":       "http://127.0.0.1:8080",
		"http://[::1]:3000":           "http://[::1]:3000",
	} {
		if got, err := normalOrigin(in); got != want || err != nil {
			t.Errorf("normalOrigin(%q) = %q, %v", in, got, err)
		}
	}
	e := newTestEnv(t, "", nil)
	for _, bad := range []string{"ftp://x.example", "https://x.example/app", "https://x.example?a=1", "null",
		"x.example", "https://user@x.example"} {
		o := Options{Manager: e.mgr, Store: e.store, Config: config.New(e.store, "test", ""), CORSOrigins: []string{bad}}
		_, err := New(o)
		if err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("origin %q: %v", bad, err)
		}
	}
}
