package metrics

import "github.com/prometheus/client_golang/prometheus"

// routingMetrics follow the routing of bought Voxbone DIDs (voice URI and options).
type routingMetrics struct {
	dids    *prometheus.CounterVec
	pending prometheus.Gauge
}

func newRoutingMetrics(reg *prometheus.Registry) *routingMetrics {
	r := &routingMetrics{
		dids: counter("knm_voxbone_routing_dids_total",
			"DIDs by outcome of a routing attempt (routed, pending).", "outcome"),
		pending: gauge("knm_voxbone_routing_pending_dids",
			"DIDs bought but not routed yet, as the last recovery pass counted them."),
	}
	reg.MustRegister(r.dids, r.pending)
	return r
}

// ObserveRouting records one routing attempt: DIDs routed and DIDs left pending.
func (m *Metrics) ObserveRouting(routed, pending int) {
	m.routing.dids.WithLabelValues("routed").Add(float64(routed))
	m.routing.dids.WithLabelValues("pending").Add(float64(pending))
}

// SetRoutingPending sets how many DIDs wait to be routed.
func (m *Metrics) SetRoutingPending(dids int) { m.routing.pending.Set(float64(dids)) }
