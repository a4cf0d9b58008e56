package ratelimit

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"
)

// Estimator tells, before any work starts, whether the budget can carry it in time: a
// caller with a deadline refuses work it could not finish rather than spend part of it.
type Estimator interface {
	// Estimate returns how long the last of n more requests, asked now behind the ones
	// already waiting, would wait for its grant. It consumes nothing.
	Estimate(ctx context.Context, n int) (time.Duration, error)
}

var (
	_ Estimator = (*Local)(nil)
	_ Estimator = (*Redis)(nil)
)

// Estimate implements Estimator over this process's log and queue.
func (l *Local) Estimate(_ context.Context, n int) (time.Duration, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.delayLocked(now) // drops slots that left the window
	times := make([]time.Time, len(l.slots))
	for i, s := range l.slots {
		times[i] = s.at
	}
	return lastGrant(times, int(l.waiting.Load())+n, l.rps, Window+l.Margin, now), nil
}

// redisEstimateScript returns the server's time in microseconds and the scores of the slots
// recorded within the last ARGV[1] microseconds, oldest first.
var redisEstimateScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local scores = redis.call('ZRANGEBYSCORE', KEYS[1], now - tonumber(ARGV[1]), '+inf', 'WITHSCORES')
local out = {now}
for i = 2, #scores, 2 do out[#out + 1] = tonumber(scores[i]) end
return out
`)

// Estimate implements Estimator over the shared log and this process's queue (other
// processes' queues are unknown: the estimate is a lower bound under contention).
func (l *Redis) Estimate(ctx context.Context, n int) (time.Duration, error) {
	window := l.window()
	res, err := redisEstimateScript.Run(ctx, l.client, []string{l.key}, window).Int64Slice()
	if err != nil || len(res) == 0 {
		return 0, fmt.Errorf("ratelimit: redis %s: estimate: %w", l.key, err)
	}
	now := time.UnixMicro(res[0])
	times := make([]time.Time, 0, len(res)-1)
	for _, us := range res[1:] {
		times = append(times, time.UnixMicro(us))
	}
	return lastGrant(times, int(l.waiting.Load())+n, l.rps, time.Duration(window)*time.Microsecond, now), nil
}

// lastGrant returns how long after now the last of queued more grants would go, given the
// times of the slots in the window: each grant beyond rps waits for the slot rps grants
// before it to leave the window (span).
func lastGrant(slots []time.Time, queued, rps int, span time.Duration, now time.Time) time.Duration {
	extra := len(slots) + queued - rps
	if extra <= 0 {
		return 0
	}
	slices.SortFunc(slots, func(a, b time.Time) int { return a.Compare(b) })
	k := extra - 1 // the last grant, counted among those beyond the budget
	base := now
	if i := k % rps; i < len(slots) {
		base = slots[i]
	}
	return max(base.Add(time.Duration(k/rps+1)*span).Sub(now), 0)
}
