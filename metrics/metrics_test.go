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
	m.SetKazooSyncLag(true, 7, 1.5)
	m.ObserveKazooSyncBatch(5, true)
	m.ObserveKazooSyncBatch(3, false)
	m.ObserveWebhookDelivery(true, false, 10*time.Millisecond)
	m.ObserveWebhookDelivery(false, true, time.Second)
	m.SetWebhooksDisabled(2)

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
		"knm_kazoo_sync_enabled 1", "knm_kazoo_sync_lag_events 7", "knm_kazoo_sync_lag_seconds 1.5",
		`knm_kazoo_sync_batches_total{result="ok"} 1`, `knm_kazoo_sync_batches_total{result="error"} 1`,
		"knm_kazoo_sync_events_projected_total 5",
		`knm_webhook_deliveries_total{result="delivered"} 1`, `knm_webhook_deliveries_total{result="failed"} 1`,
		"knm_webhook_delivery_duration_seconds_count 2", "knm_webhooks_auto_disabled_total 1",
		"knm_webhooks_disabled 2",
		"go_goroutines",
		"process_start_time_seconds",
	} {
		if !strings.Contains(string(body), want+"\n") && !strings.Contains(string(body), want+" ") {
			t.Errorf("/metrics lacks %q:\n%s", want, body)
		}
	}
}
