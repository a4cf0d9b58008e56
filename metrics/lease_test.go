package metrics

import "testing"

// gathered returns the value of the unlabelled gauge or counter name in m's registry.
func gathered(t *testing.T, m *Metrics, name string) float64 {
	t.Helper()
	mfs, err := m.registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name || len(mf.GetMetric()) != 1 {
			continue
		}
		if g := mf.GetMetric()[0].GetGauge(); g != nil {
			return g.GetValue()
		}
		return mf.GetMetric()[0].GetCounter().GetValue()
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// TestLeaseMetrics: the gauge follows the lease held, then lost; takeovers are counted.
func TestLeaseMetrics(t *testing.T) {
	m := New(nil)
	if v := gathered(t, m, "knm_instance_lease_held"); v != 0 {
		t.Fatalf("lease held %v before any lease", v)
	}
	m.SetLeaseHeld(true)
	m.ObserveOrderTakenOver()
	m.ObserveOrderTakenOver()
	if v := gathered(t, m, "knm_instance_lease_held"); v != 1 {
		t.Fatalf("lease held %v, want 1", v)
	}
	if v := gathered(t, m, "knm_voxbone_orders_taken_over_total"); v != 2 {
		t.Fatalf("orders taken over %v, want 2", v)
	}
	m.SetLeaseHeld(false)
	if v := gathered(t, m, "knm_instance_lease_held"); v != 0 {
		t.Fatalf("lease held %v after the loss, want 0", v)
	}
}
