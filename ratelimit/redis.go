package ratelimit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultRedisMargin widens the shared window beyond one second. Slots are timestamped
// with the Redis server's clock, but a committed slot's request still travels from its
// process to the server afterwards, and that delay differs between processes (network, GC,
// scheduling). 50 ms of slack covers that jitter on a LAN and costs 5% of the budget.
const DefaultRedisMargin = 50 * time.Millisecond

// redisSettleTimeout bounds the Redis call of Commit and Cancel, which take no context:
// they run while an HTTP request is being sent or has just failed.
const redisSettleTimeout = 2 * time.Second

// redisScript grants one request if fewer than ARGV[1] slots were recorded in the last
// ARGV[2] microseconds (and, when ARGV[4] > 0, none in the last ARGV[4] microseconds),
// recording member ARGV[3] at the server's time, and otherwise returns how many
// microseconds remain until enough of them leave the window.
//
// It reads the clock with TIME on the Redis server, so every process is judged against
// one clock and skew between the callers' clocks is irrelevant. Since Redis 5 scripts
// replicate their effects rather than the script, which allows TIME before a write;
// replicate_commands() opts in on Redis 3.2-4 and is a no-op after.
//
// The key expires one window and a second after the last write (grant or commit), so an
// idle budget leaves nothing behind.
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
local n = redis.call('ZCARD', key)
if n < limit then
  redis.call('ZADD', key, now, ARGV[3])
  redis.call('PEXPIRE', key, math.floor(window / 1000) + 1000)
  return {1, 0}
end
-- Commits reorder slots (and may put back one that had left): wait until all but
-- limit-1 of them have left, i.e. until the (n-limit+1)-th oldest has.
local edge = redis.call('ZRANGE', key, n - limit, n - limit, 'WITHSCORES')
return {0, tonumber(edge[2]) + window - now}
`)

// redisCommitScript moves member ARGV[1] to the server's time unless it is already
// later, putting it back if it had left the window, and extends the key's expiry to one
// window (ARGV[2] microseconds) and a second after that time.
var redisCommitScript = redis.NewScript(`
if redis.replicate_commands then redis.replicate_commands() end
local key = KEYS[1]
local window = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local old = redis.call('ZSCORE', key, ARGV[1])
if old and tonumber(old) >= now then return 0 end
redis.call('ZADD', key, now, ARGV[1])
redis.call('PEXPIRE', key, math.floor(window / 1000) + 1000)
return 1
`)

// redisInUseScript counts the slots within ARGV[1] microseconds of the server's time.
var redisInUseScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
return redis.call('ZCOUNT', KEYS[1], '(' .. (now - tonumber(ARGV[1])), '+inf')
`)

// Redis is a sliding-window-log limiter whose budget is shared, through one Redis sorted
// set, by every process that uses the same key. Within a process, waiters queue first
// come, first served, and only the head of the queue talks to Redis.
//
// If Redis cannot be reached, Wait and Reserve return the error: the limiter fails closed
// rather than risk exceeding the carrier's limit.
//
// Margin, Spacing and OnWait may be set after NewRedis and before the first Wait or Reserve.
type Redis struct {
	// Margin is added to the one-second window (see DefaultRedisMargin).
	Margin time.Duration
	// Spacing, if set, is the least time between two grants of all processes sharing the
	// key (see Local.Spacing).
	Spacing time.Duration
	// OnWait, if set, is called after every grant with how long Wait or Reserve blocked
	// (zero when the budget was free).
	OnWait func(time.Duration)

	client  redis.UniversalClient
	key     string
	rps     int
	sem     chan struct{}
	id      string // distinguishes this limiter's members from other processes'
	seq     atomic.Uint64
	waiting atomic.Int64 // callers inside Reserve

	mu    sync.Mutex
	freed chan struct{} // closed and replaced when Cancel frees a slot; guarded by mu
}

var (
	_ Limiter  = (*Redis)(nil)
	_ Reserver = (*Redis)(nil)
	_ Meter    = (*Redis)(nil)
)

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
		freed:  make(chan struct{}),
	}
}

// RPS returns the limiter's budget per one-second window.
func (l *Redis) RPS() int { return l.rps }

// Wait blocks until a request may be sent now, or ctx ends. It is Reserve with the slot
// committed at once, which needs no second round trip: the slot is already recorded at
// the server's time of the grant.
func (l *Redis) Wait(ctx context.Context) error {
	_, err := l.Reserve(ctx)
	return err
}

// Reserve blocks until fewer than rps slots of all limiters sharing the key lie within
// Window+Margin of the Redis server's now (and, with Spacing, the newest is Spacing old),
// or until ctx ends. The slot is a member of the key's sorted set with a unique name,
// scored with the server's time.
func (l *Redis) Reserve(ctx context.Context) (Reservation, error) {
	start := time.Now()
	l.waiting.Add(1)
	defer l.waiting.Add(-1)
	if err := acquire(ctx, l.sem); err != nil {
		return nil, err
	}
	defer func() { <-l.sem }()

	window := l.window()
	for {
		l.mu.Lock()
		freed := l.freed
		l.mu.Unlock()
		member := l.id + ":" + strconv.FormatUint(l.seq.Add(1), 10)
		res, err := redisScript.Run(ctx, l.client, []string{l.key}, l.rps, window, member,
			l.Spacing.Microseconds()).Int64Slice()
		if err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil {
				return nil, ctxErr
			}
			return nil, fmt.Errorf("ratelimit: redis %s: %w", l.key, err)
		}
		if len(res) != 2 {
			return nil, errors.New("ratelimit: redis script returned an unexpected reply")
		}
		if res[0] == 1 {
			if l.OnWait != nil {
				l.OnWait(time.Since(start))
			}
			return &redisSlot{l: l, member: member}, nil
		}
		// Sleep until enough slots leave the window, or a slot of this process is
		// cancelled, then ask again: another process may have taken the slot, or commits
		// may have moved slots later, meanwhile. A floor of 1 ms avoids a busy loop.
		d := max(time.Duration(res[1])*time.Microsecond, time.Millisecond)
		if err := sleepUntilFreed(ctx, d, freed); err != nil {
			return nil, err
		}
	}
}

// InUse returns how many slots of every process sharing the key lie in the window now, by
// the Redis server's clock, and rps.
func (l *Redis) InUse(ctx context.Context) (int, int, error) {
	n, err := redisInUseScript.Run(ctx, l.client, []string{l.key}, l.window()).Int()
	if err != nil {
		return 0, l.rps, fmt.Errorf("ratelimit: redis %s: %w", l.key, err)
	}
	return n, l.rps, nil
}

// window returns Window+Margin in microseconds, the unit of the scripts.
func (l *Redis) window() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return (Window + l.Margin).Microseconds()
}

// SetMargin changes Margin while the limiter is in use (a settings change).
func (l *Redis) SetMargin(d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.Margin = d
}

// redisSlot is a Reservation of a Redis limiter: one member of the key's sorted set.
type redisSlot struct {
	l      *Redis
	member string

	mu        sync.Mutex
	committed bool
	cancelled bool
}

// Commit sets the member's score to the Redis server's time when it is later than the
// recorded one; sent, from the local clock, is not used, so that every process is still
// judged against one clock. If Redis cannot be reached, the slot keeps its grant time.
func (s *redisSlot) Commit(time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cancelled {
		return
	}
	s.committed = true
	ctx, cancel := context.WithTimeout(context.Background(), redisSettleTimeout)
	defer cancel()
	_ = redisCommitScript.Run(ctx, s.l.client, []string{s.l.key}, s.member, s.l.window()).Err()
}

// Cancel removes the member and wakes this process's waiter. If Redis cannot be reached,
// the slot stays used until it leaves the window, which errs on the safe side. Waiters of
// other processes see the freed slot when they next ask.
func (s *redisSlot) Cancel() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.committed || s.cancelled {
		return
	}
	s.cancelled = true
	ctx, cancel := context.WithTimeout(context.Background(), redisSettleTimeout)
	defer cancel()
	if s.l.client.ZRem(ctx, s.l.key, s.member).Err() != nil {
		return
	}
	s.l.mu.Lock()
	close(s.l.freed)
	s.l.freed = make(chan struct{})
	s.l.mu.Unlock()
}
