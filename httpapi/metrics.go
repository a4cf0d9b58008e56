package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are knm's Prometheus metrics. The API records its own (requests by route and
// status, search latency by carrier); the Voxbone hooks are exported so cmd/knm can wire
// them into the Voxbone client, limiter and carrier, which know nothing of Prometheus.
// Labels never carry credentials, numbers or account ids.
type Metrics struct {
	registry       *prometheus.Registry
	httpRequests   *prometheus.CounterVec
	httpDuration   *prometheus.HistogramVec
	searchDuration *prometheus.HistogramVec
	voxboneReqs    *prometheus.CounterVec
	voxboneDur     *prometheus.HistogramVec
	limiterWait    prometheus.Histogram
	orders         *prometheus.CounterVec
	moneySpent     *prometheus.CounterVec
}

// NewMetrics registers knm's metrics, plus the Go runtime and process collectors, in reg;
// a nil reg gets a fresh registry.
func NewMetrics(reg *prometheus.Registry) *Metrics {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m := &Metrics{
		registry: reg,
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "knm_http_requests_total", Help: "HTTP requests by route pattern and status.",
		}, []string{"route", "status"}),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "knm_http_request_duration_seconds", Help: "HTTP request latency by route pattern.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"route"}),
		searchDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "knm_search_carrier_duration_seconds", Help: "Search latency per carrier module and outcome (ok, error, timeout).",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 15),
		}, []string{"module", "status"}),
		voxboneReqs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "knm_voxbone_requests_total", Help: "Voxbone API attempts by endpoint template and HTTP status (0: no answer).",
		}, []string{"endpoint", "status"}),
		voxboneDur: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "knm_voxbone_request_duration_seconds", Help: "Voxbone API latency by endpoint template.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 13),
		}, []string{"endpoint"}),
		limiterWait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "knm_voxbone_limiter_wait_seconds", Help: "Time spent waiting for the Voxbone rate budget.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}),
		orders: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "knm_voxbone_orders_total", Help: "Voxbone orders reaching each journal state.",
		}, []string{"state"}),
		moneySpent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "knm_voxbone_money_spent_total", Help: "Money spent on Voxbone checkouts, by currency.",
		}, []string{"currency"}),
	}
	reg.MustRegister(m.httpRequests, m.httpDuration, m.searchDuration, m.voxboneReqs, m.voxboneDur,
		m.limiterWait, m.orders, m.moneySpent)
	// Registering the standard collectors twice (a registry shared by two Metrics) is not
	// an error worth failing over.
	_ = reg.Register(collectors.NewGoCollector())
	_ = reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry returns the registry the metrics live in, to add more collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.registry }

// ObserveVoxboneRequest records one Voxbone API attempt; its signature matches
// voxbone.WithObserver.
func (m *Metrics) ObserveVoxboneRequest(endpoint string, status int, d time.Duration) {
	m.voxboneReqs.WithLabelValues(endpoint, strconv.Itoa(status)).Inc()
	m.voxboneDur.WithLabelValues(endpoint).Observe(d.Seconds())
}

// ObserveLimiterWait records how long a Voxbone request waited for the rate budget.
func (m *Metrics) ObserveLimiterWait(d time.Duration) { m.limiterWait.Observe(d.Seconds()) }

// ObserveOrderState records that a Voxbone order reached a journal state.
func (m *Metrics) ObserveOrderState(state string) { m.orders.WithLabelValues(state).Inc() }

// AddMoneySpent records money spent on a checkout.
func (m *Metrics) AddMoneySpent(currency string, amount float64) {
	if amount > 0 {
		m.moneySpent.WithLabelValues(currency).Add(amount)
	}
}

func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) error {
	promhttp.HandlerFor(s.metrics.registry, promhttp.HandlerOpts{}).ServeHTTP(w, r)
	return nil
}
