package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHealthMetricsOpenAPI(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, "", nil)
	for _, p := range []string{"/healthz", "/readyz"} {
		if r := e.do("GET", p, "", nil); r.Status != 200 {
			t.Fatalf("%s: %d", p, r.Status)
		}
	}
	e.do("GET", "/v2/phone_numbers?prefix=415", "", nil)
	r := e.do("GET", "/metrics", "", nil)
	if !strings.Contains(string(r.Raw), `knm_http_requests_total{route="GET /v2/phone_numbers",status="200"}`) ||
		!strings.Contains(string(r.Raw), "knm_search_carrier_duration_seconds") {
		t.Fatalf("metrics: %.2000s", r.Raw)
	}
	r = e.do("GET", "/v2/openapi.json", "", nil)
	var doc struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(r.Raw, &doc); err != nil {
		t.Fatal(err)
	}
	for _, rt := range e.api.routes() {
		if doc.Paths[rt.Path][strings.ToLower(rt.Method)] == nil {
			t.Errorf("OpenAPI lacks %s %s", rt.Method, rt.Path)
		}
	}
	wantError(t, e.do("GET", "/v2/nowhere", "", nil), 404)
	wantError(t, e.do("POST", "/healthz", "", nil), 405)
}

func TestPanicIs500WithoutDetails(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, "", nil)
	h := e.api.middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("secret detail") }))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/x", nil))
	if rec.Code != 500 || strings.Contains(rec.Body.String(), "secret detail") || !strings.Contains(rec.Body.String(),
		`"status":"error"`) {
		t.Fatalf("panic reply: %d %s", rec.Code, rec.Body.String())
	}
}

// TestReadyzDetails: /readyz adds what ReadyDetails reports beside its status, and stays
// ready whatever the details say.
func TestReadyzDetails(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, "", nil)
	e.api.readyDetails = func(context.Context) map[string]any {
		return map[string]any{"kazoo_sync": map[string]any{"enabled": true, "lag_events": 12, "last_error": "down"}}
	}
	r := e.do("GET", "/readyz", "", nil)
	var env struct {
		Data struct {
			Status    string `json:"status"`
			KazooSync struct {
				LagEvents int    `json:"lag_events"`
				LastError string `json:"last_error"`
			} `json:"kazoo_sync"`
		} `json:"data"`
	}
	if err := json.Unmarshal(r.Raw, &env); err != nil || r.Status != 200 || env.Data.Status != "ready" ||
		env.Data.KazooSync.LagEvents != 12 || env.Data.KazooSync.LastError != "down" {
		t.Fatalf("readyz: %d %s (%v)", r.Status, r.Raw, err)
	}
}
