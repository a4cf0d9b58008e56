// Package latency summarises the latencies a benchmark measured.
package latency

import "time"

// Percentile returns the p-th quantile (0 to 1) of sorted, or 0 when it is empty.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]
}
