package main

import (
	"sync"
	"testing"

	"github.com/knmproject/knm/metrics"
)

// TestMetricsOneRegistryAcrossGoroutines: goroutines asking for the process's metrics at
// the same time (the API and the lease's heartbeats) all get the one registry; under -race
// a lazy creation without a lock is reported.
func TestMetricsOneRegistryAcrossGoroutines(t *testing.T) {
	a := &app{}
	const n = 16
	got := make([]*metrics.Metrics, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			got[i] = a.metrics()
		}()
	}
	close(start)
	wg.Wait()
	for i, m := range got {
		if m == nil || m != got[0] {
			t.Fatalf("goroutine %d got registry %p, goroutine 0 %p", i, m, got[0])
		}
	}
}
