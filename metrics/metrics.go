// Package metrics holds knm's Prometheus metrics: HTTP requests by route and status, search
// latency per carrier, Voxbone's requests, rate-limiter waits, orders and money spent, the
// routing of bought DIDs, the Kazoo projection's lag and webhook deliveries.
// Its methods take plain values, so the API, the Voxbone client, limiter and carrier record
// without knowing Prometheus. Labels never carry credentials, numbers or account ids.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are one process's metrics, served by Handler.
type Metrics struct {
	registry       *prometheus.Registry
	httpRequests   *prometheus.CounterVec
	httpDuration   *prometheus.HistogramVec
	searchDuration *prometheus.HistogramVec
	voxboneReqs    *prometheus.CounterVec
	voxboneDur     *prometheus.HistogramVec
	limiterWait    *prometheus.HistogramVec
	orders         *prometheus.CounterVec
	moneySpent     *prometheus.CounterVec
	authAttempts   *prometheus.CounterVec
	outbox         *outboxMetrics  // the Kazoo projection and webhooks (outbox.go)
	routing        *routingMetrics // routing of bought DIDs (routing.go)
	lease          *leaseMetrics   // this instance's lease and takeovers (lease.go)
}

// New registers knm's metrics, plus the Go runtime and process collectors, in reg; a nil
// reg gets a fresh registry.
func New(reg *prometheus.Registry) *Metrics {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m := &Metrics{
		registry: reg,
		httpRequests: counter("knm_http_requests_total",
			"HTTP requests by route pattern and status.", "route", "status"),
		httpDuration: histogram("knm_http_request_duration_seconds",
			"HTTP request latency by route pattern.", 0.0005, 16, "route"),
		searchDuration: histogram("knm_search_carrier_duration_seconds",
			"Search latency per carrier module and outcome (ok, error, timeout).", 0.001, 15, "module", "status"),
		voxboneReqs: counter("knm_voxbone_requests_total",
			"Voxbone API attempts by endpoint template and HTTP status (0: no answer).", "endpoint", "status"),
		voxboneDur: histogram("knm_voxbone_request_duration_seconds",
			"Voxbone API latency by endpoint template.", 0.005, 13, "endpoint"),
		limiterWait: histogram("knm_voxbone_limiter_wait_seconds",
			"Time spent waiting for the Voxbone rate budget.", 0.001, 14),
		orders: counter("knm_voxbone_orders_total",
			"Voxbone orders reaching each journal state.", "state"),
		moneySpent: counter("knm_voxbone_money_spent_total",
			"Money spent on Voxbone checkouts, by currency.", "currency"),
		authAttempts: counter("knm_auth_attempts_total",
			"Requests carrying an X-Auth-Token, by kind of token (knm, kazoo) and result (ok, refused, error).",
			"kind", "result"),
	}
	reg.MustRegister(m.httpRequests, m.httpDuration, m.searchDuration, m.voxboneReqs, m.voxboneDur,
		m.limiterWait, m.orders, m.moneySpent, m.authAttempts)
	m.outbox = newOutboxMetrics(reg)
	m.routing = newRoutingMetrics(reg)
	m.lease = newLeaseMetrics(reg)
	// The caller's registry may have the standard collectors already; that is fine.
	_ = reg.Register(collectors.NewGoCollector())
	_ = reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func counter(name, help string, labels ...string) *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
}

// gauge is a gauge without labels.
func gauge(name, help string) prometheus.Gauge {
	return prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
}

// oneIf is a boolean as a gauge holds it: 1 for true, 0 for false.
func oneIf(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// histogram has count exponential buckets doubling from start seconds.
func histogram(name, help string, start float64, count int, labels ...string) *prometheus.HistogramVec {
	return prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help,
		Buckets: prometheus.ExponentialBuckets(start, 2, count)}, labels)
}

// Handler serves the metrics in Prometheus's text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

// ObserveHTTPRequest records one API request by its route pattern, never its path.
func (m *Metrics) ObserveHTTPRequest(route string, status int, d time.Duration) {
	m.httpRequests.WithLabelValues(route, strconv.Itoa(status)).Inc()
	m.httpDuration.WithLabelValues(route).Observe(d.Seconds())
}

// ObserveCarrierSearch records how long one carrier took to answer a search, and how it
// ended (ok, error, timeout).
func (m *Metrics) ObserveCarrierSearch(module, status string, d time.Duration) {
	m.searchDuration.WithLabelValues(module, status).Observe(d.Seconds())
}

// ObserveVoxboneRequest records one Voxbone API attempt; its signature matches
// voxbone.WithObserver.
func (m *Metrics) ObserveVoxboneRequest(endpoint string, status int, d time.Duration) {
	m.voxboneReqs.WithLabelValues(endpoint, strconv.Itoa(status)).Inc()
	m.voxboneDur.WithLabelValues(endpoint).Observe(d.Seconds())
}

// ObserveLimiterWait records how long a Voxbone request waited for the rate budget.
func (m *Metrics) ObserveLimiterWait(d time.Duration) {
	m.limiterWait.WithLabelValues().Observe(d.Seconds())
}

// ObserveOrderState records that a Voxbone order reached a journal state.
func (m *Metrics) ObserveOrderState(state string) { m.orders.WithLabelValues(state).Inc() }

// AddMoneySpent records money spent on a checkout.
func (m *Metrics) AddMoneySpent(currency string, amount float64) {
	if amount > 0 {
		m.moneySpent.WithLabelValues(currency).Add(amount)
	}
}

// ObserveAuth records one request that carried a token: its kind (knm, kazoo) and result
// (ok, refused, error). The token itself is never a label.
func (m *Metrics) ObserveAuth(kind, result string) {
	m.authAttempts.WithLabelValues(kind, result).Inc()
}
