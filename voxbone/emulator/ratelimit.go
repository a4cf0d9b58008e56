package emulator

import "time"

// rateLimiter enforces "at most limit requests per client IP in any one-second window",
// sliding, by arrival time (voxbone-api.md §1.4: 20/s per source IP, then 429 or 509).
//
// Only accepted requests count toward the window: a refused request costs the client
// nothing, so a client that backs off regains capacity as soon as its accepted requests
// age out, and a client that keeps at most limit sends in any one-second span is never
// refused. A request at t is refused when limit accepted requests arrived in (t-1s, t].
type rateLimiter struct {
	limit int
	seen  map[string][]time.Time // accepted arrivals per IP, oldest first
}

func newRateLimiter(limit int) *rateLimiter {
	return &rateLimiter{limit: limit, seen: map[string][]time.Time{}}
}

// allow records and admits a request from ip at now, or refuses it. The caller holds e.mu.
func (l *rateLimiter) allow(ip string, now time.Time) bool {
	if l.limit <= 0 {
		return true
	}
	cutoff := now.Add(-time.Second)
	// Forget idle clients so the map does not grow with every address ever seen.
	if len(l.seen) > 1024 {
		for k, ts := range l.seen {
			if len(ts) == 0 || !ts[len(ts)-1].After(cutoff) {
				delete(l.seen, k)
			}
		}
	}
	ts := l.seen[ip]
	i := 0
	for i < len(ts) && !ts[i].After(cutoff) {
		i++
	}
	ts = ts[i:]
	if len(ts) >= l.limit {
		l.seen[ip] = ts
		return false
	}
	l.seen[ip] = append(ts, now)
	return true
}
