package metrics

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestRoutingMetrics: routing attempts count DIDs by outcome; the gauge holds the backlog.
func TestRoutingMetrics(t *testing.T) {
	m := New(nil)
	m.ObserveRouting(15, 0)
	m.ObserveRouting(0, 3)
	m.SetRoutingPending(3)
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{`knm_voxbone_routing_dids_total{outcome="routed"} 15`,
		`knm_voxbone_routing_dids_total{outcome="pending"} 3`, "knm_voxbone_routing_pending_dids 3"} {
		if !strings.Contains(string(body), want+"\n") {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
