package ratelimit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultRedisMargin widens the shared window beyond one second. Grants are timestamped
// with the Redis server's clock, but each process sends its request only after the reply
// has travelled back to it, and that delay differs between processes (network, GC,
// scheduling). 50 ms of slack covers that jitter on a LAN and costs 5% of the budget.
const DefaultRedisMargin = 50 * time.Millisecond

// redisScript grants one request if fewer than ARGV[1] grants were made in the last
// ARGV[2] microseconds (and, when ARGV[4] > 0, none in the last ARGV[4] microseconds),
// and otherwise returns how many microseconds remain until the
// oldest of them leaves the window.
//
// It reads the clock with TIME on the Redis server, so every process is judged against
// one clock and skew between the callers' clocks is irrelevant. Since Redis 5 scripts
// replicate their effects rather than the script, which allows TIME before a write;
// replicate_commands() opts in on Redis 3.2-4 and is a no-op after.
//
// The key expires one window after the last grant, so an idle budget leaves nothing behind.
var redisScript = redis.NewScript(`
if redis.replicate_commands then redis.replicate_commands() end
local key = KEYS[1]
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local spacing = tonumber(ARGV[4])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
if spacing > 0 then
  local newest = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  if newest[2] and tonumber(newest[2]) + spacing > now then
    return {0, tonumber(newest[2]) + spacing - now}
  end
end
if redis.call('ZCARD', key) < limit then
  redis.call('ZADD', key, now, ARGV[3])
  redis.call('PEXPIRE', key, math.floor(window / 1000) + 1000)
  return {1, 0}
end
local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
return {0, tonumber(oldest[2]) + window - now}
`)

// Redis is a sliding-window-log limiter whose budget is shared, through one Redis sorted
// set, by every process that uses the same key. Within a process, waiters queue first
// come, first served, and only the head of the queue talks to Redis.
//
// If Redis cannot be reached, Wait returns the error: the limiter fails closed rather than
// risk exceeding the carrier's limit.
//
// Margin and OnWait may be set after NewRedis and before the first Wait.
type Redis struct {
	// Margin is added to the one-second window (see DefaultRedisMargin).
	Margin time.Duration
	// Spacing, if set, is the least time between two grants of all processes sharing the
	// key (see Local.Spacing).
	Spacing time.Duration
	// OnWait, if set, is called after every grant with how long Wait blocked (zero when
	// the budget was free).
	OnWait func(time.Duration)

	client redis.UniversalClient
	key    string
	rps    int
	sem    chan struct{}
	id     string // distinguishes this limiter's members from other processes'
	seq    atomic.Uint64
}

var _ Limiter = (*Redis)(nil)

// NewRedis returns a limiter that, together with every other limiter using key on the
// same Redis server, grants at most rps requests in any one-second window. It panics if
// rps < 1 or key is empty, which are programming errors.
func NewRedis(client redis.UniversalClient, key string, rps int) *Redis {
	if rps < 1 {
		panic(fmt.Sprintf("ratelimit: NewRedis(%d): rps must be at least 1", rps))
	}
	if key == "" {
		panic("ratelimit: NewRedis: empty key")
	}
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return &Redis{
		Margin: DefaultRedisMargin,
		client: client,
		key:    key,
		rps:    rps,
		sem:    make(chan struct{}, 1),
		id:     hex.EncodeToString(b[:]),
	}
}

// RPS returns the limiter's budget per one-second window.
func (l *Redis) RPS() int { return l.rps }

// Wait blocks until a request may be sent now, or ctx ends.
func (l *Redis) Wait(ctx context.Context) error {
	start := time.Now()
	if err := acquire(ctx, l.sem); err != nil {
		return err
	}
	defer func() { <-l.sem }()

	window := (Window + l.Margin).Microseconds()
	for {
		member := l.id + ":" + strconv.FormatUint(l.seq.Add(1), 10)
		res, err := redisScript.Run(ctx, l.client, []string{l.key}, l.rps, window, member, l.Spacing.Microseconds()).Int64Slice()
		if err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil {
				return ctxErr
			}
			return fmt.Errorf("ratelimit: redis %s: %w", l.key, err)
		}
		if len(res) != 2 {
			return errors.New("ratelimit: redis script returned an unexpected reply")
		}
		if res[0] == 1 {
			if l.OnWait != nil {
				l.OnWait(time.Since(start))
			}
			return nil
		}
		// Sleep until the oldest grant leaves the window, then ask again: another process
		// may have taken the slot meanwhile. A floor of 1 ms avoids a busy loop.
		d := max(time.Duration(res[1])*time.Microsecond, time.Millisecond)
		if err := sleep(ctx, d); err != nil {
			return err
		}
	}
}
