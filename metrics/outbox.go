package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// outboxMetrics are the metrics of the outbox's consumers: the Kazoo CouchDB projection
// and webhook delivery.
type outboxMetrics struct {
	kazooEnabled    prometheus.Gauge
	kazooLagEvents  prometheus.Gauge
	kazooLagSeconds prometheus.Gauge
	kazooBatches    *prometheus.CounterVec
	kazooEvents     prometheus.Counter
	hookDeliveries  *prometheus.CounterVec
	hookDuration    prometheus.Histogram
	hooksDisabledBy prometheus.Counter
	hooksDisabled   prometheus.Gauge
}

func newOutboxMetrics(reg *prometheus.Registry) *outboxMetrics {
	o := &outboxMetrics{
		kazooEnabled: gauge("knm_kazoo_sync_enabled", "1 while kazoo_sync enabled is true, else 0."),
		kazooLagEvents: gauge("knm_kazoo_sync_lag_events",
			"Number events not yet projected into Kazoo's CouchDB (0 while disabled)."),
		kazooLagSeconds: gauge("knm_kazoo_sync_lag_seconds",
			"Age of the oldest number event not yet projected into Kazoo's CouchDB (0 when caught up)."),
		kazooBatches: counter("knm_kazoo_sync_batches_total",
			"Batches of events the Kazoo projection handled on this instance, by result (ok, error).", "result"),
		kazooEvents: prometheus.NewCounter(prometheus.CounterOpts{Name: "knm_kazoo_sync_events_projected_total",
			Help: "Number events this instance projected into Kazoo's CouchDB."}),
		hookDeliveries: counter("knm_webhook_deliveries_total",
			"Webhook delivery attempts by result (delivered, failed).", "result"),
		hookDuration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "knm_webhook_delivery_duration_seconds",
			Help: "Webhook delivery attempt latency.", Buckets: prometheus.ExponentialBuckets(0.005, 2, 13)}),
		hooksDisabledBy: prometheus.NewCounter(prometheus.CounterOpts{Name: "knm_webhooks_auto_disabled_total",
			Help: "Webhooks disabled by this instance after consecutive failed deliveries."}),
		hooksDisabled: gauge("knm_webhooks_disabled", "Webhooks disabled now (by knm or by their owner)."),
	}
	reg.MustRegister(o.kazooEnabled, o.kazooLagEvents, o.kazooLagSeconds, o.kazooBatches, o.kazooEvents,
		o.hookDeliveries, o.hookDuration, o.hooksDisabledBy, o.hooksDisabled)
	return o
}

// SetKazooSyncLag records whether the Kazoo projection is enabled and how far behind it
// is, in events and in seconds.
func (m *Metrics) SetKazooSyncLag(enabled bool, events int64, seconds float64) {
	if !enabled {
		events, seconds = 0, 0
	}
	m.outbox.kazooEnabled.Set(oneIf(enabled))
	m.outbox.kazooLagEvents.Set(float64(events))
	m.outbox.kazooLagSeconds.Set(seconds)
}

// ObserveKazooSyncBatch records a batch of events the projection applied (ok) or failed
// to apply (it is tried again).
func (m *Metrics) ObserveKazooSyncBatch(events int, ok bool) {
	result := "ok"
	if !ok {
		result = "error"
	}
	m.outbox.kazooBatches.WithLabelValues(result).Inc()
	if ok {
		m.outbox.kazooEvents.Add(float64(events))
	}
}

// ObserveWebhookDelivery records one delivery attempt: delivered (a 2xx answer) or not,
// how long it took, and whether its failure disabled the hook.
func (m *Metrics) ObserveWebhookDelivery(delivered, disabled bool, d time.Duration) {
	result := "delivered"
	if !delivered {
		result = "failed"
	}
	m.outbox.hookDeliveries.WithLabelValues(result).Inc()
	m.outbox.hookDuration.Observe(d.Seconds())
	if disabled {
		m.outbox.hooksDisabledBy.Inc()
	}
}

// SetWebhooksDisabled records how many webhooks are disabled now.
func (m *Metrics) SetWebhooksDisabled(n int) { m.outbox.hooksDisabled.Set(float64(n)) }
