package metrics

import "github.com/prometheus/client_golang/prometheus"

// leaseMetrics follow this instance's lease and the orders it took over from instances
// whose lease expired: a lost lease means its orders may be settled by another instance.
type leaseMetrics struct {
	held      prometheus.Gauge
	takenOver prometheus.Counter
}

func newLeaseMetrics(reg *prometheus.Registry) *leaseMetrics {
	l := &leaseMetrics{
		held: gauge("knm_instance_lease_held", "1 while this instance holds its lease, 0 once it is lost or released."),
		takenOver: prometheus.NewCounter(prometheus.CounterOpts{Name: "knm_voxbone_orders_taken_over_total",
			Help: "Voxbone orders this instance took over from instances whose lease had expired."}),
	}
	reg.MustRegister(l.held, l.takenOver)
	return l
}

// SetLeaseHeld records whether this instance holds its lease.
func (m *Metrics) SetLeaseHeld(held bool) { m.lease.held.Set(oneIf(held)) }

// ObserveOrderTakenOver counts an order taken over from an instance whose lease expired.
func (m *Metrics) ObserveOrderTakenOver() { m.lease.takenOver.Inc() }
