package metrics

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// TestRecordsAndServes: every method records under its metric and labels, money is only
// ever added, and Handler serves the text format with the standard collectors.
func TestRecordsAndServes(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector()) // a caller's registry may have it already
	m := New(reg)
	m.ObserveHTTPRequest("GET /v2/phone_numbers", 200, 3*time.Millisecond)
	m.ObserveCarrierSearch("knm_local", "ok", time.Millisecond)
	m.ObserveVoxboneRequest("GET inventory/didgroup", 429, 20*time.Millisecond)
	m.ObserveLimiterWait(5 * time.Millisecond)
	m.ObserveOrderState("checked_out")
	m.ObserveOrderState("checked_out")
	m.AddMoneySpent("account", 1.25)
	m.AddMoneySpent("account", -3) // a refund is not money spent

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`knm_http_requests_total{route="GET /v2/phone_numbers",status="200"} 1`,
		`knm_http_request_duration_seconds_count{route="GET /v2/phone_numbers"} 1`,
		`knm_search_carrier_duration_seconds_count{module="knm_local",status="ok"} 1`,
		`knm_voxbone_requests_total{endpoint="GET inventory/didgroup",status="429"} 1`,
		`knm_voxbone_request_duration_seconds_count{endpoint="GET inventory/didgroup"} 1`,
		"knm_voxbone_limiter_wait_seconds_count 1",
		`knm_voxbone_orders_total{state="checked_out"} 2`,
		`knm_voxbone_money_spent_total{currency="account"} 1.25`,
		"go_goroutines",
		"process_start_time_seconds",
	} {
		if !strings.Contains(string(body), want+"\n") && !strings.Contains(string(body), want+" ") {
			t.Errorf("/metrics lacks %q:\n%s", want, body)
		}
	}
}
