package ratelimit_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/knmproject/knm/internal/testenv"
	"github.com/knmproject/knm/ratelimit"
)

func newRedisClient(t *testing.T, addr string) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { c.Close() })
	return c
}

func testKey(t *testing.T) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "knm:test:ratelimit:" + t.Name() + ":" + hex.EncodeToString(b[:])
}

func TestRedisTwoLimitersShareBudget(t *testing.T) {
	t.Parallel()
	// The key expires shortly after the last grant, so nothing leaks.
	shareBudget(t, 40, func(r *ratelimit.Redis) []time.Time { return hammer(t, r, 100, 25) })
}

// shareBudget runs send on two Redis limiters of rps sharing one key, as two instances
// would, and checks that their grants together never pass rps in any window and that the
// key expires within about a window of the last one.
func shareBudget(t *testing.T, rps int, send func(r *ratelimit.Redis) []time.Time) {
	t.Helper()
	addr := testenv.RedisAddr(t)
	key := testKey(t)
	a := ratelimit.NewRedis(newRedisClient(t, addr), key, rps)
	b := ratelimit.NewRedis(newRedisClient(t, addr), key, rps)
	var (
		wg             sync.WaitGroup
		timesA, timesB []time.Time
	)
	wg.Go(func() { timesA = send(a) })
	wg.Go(func() { timesB = send(b) })
	wg.Wait()
	checkWindows(t, append(timesA, timesB...), rps)
	ttl, err := newRedisClient(t, addr).PTTL(t.Context(), key).Result()
	if err != nil {
		t.Fatal(err)
	}
	if ttl <= 0 || ttl > 2100*time.Millisecond {
		t.Errorf("key TTL = %v, want (0, 2.1s]", ttl)
	}
}

func TestRedisContextCancel(t *testing.T) {
	t.Parallel()
	addr := testenv.RedisAddr(t)
	l := ratelimit.NewRedis(newRedisClient(t, addr), testKey(t), 1)
	var waited []time.Duration
	l.OnWait = func(d time.Duration) { waited = append(waited, d) }
	if err := l.Wait(t.Context()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := l.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait = %v, want deadline exceeded", err)
	}
	if el := time.Since(start); el > 600*time.Millisecond {
		t.Fatalf("cancelled Wait returned after %v", el)
	}
	if len(waited) != 1 {
		t.Fatalf("OnWait called %d times, want 1 (only for grants)", len(waited))
	}
}

func TestRedisUnreachableFailsClosed(t *testing.T) {
	t.Parallel()
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer c.Close()
	l := ratelimit.NewRedis(c, "k", 5)
	if err := l.Wait(t.Context()); err == nil {
		t.Fatal("Wait succeeded without Redis")
	}
}

// TestRedisTwoProcessesShareBudget runs two OS processes (this test binary re-executed as
// TestHelperProcess) that take grants from one Redis key, and checks their merged grant
// times window by window.
func TestRedisTwoProcessesShareBudget(t *testing.T) {
	t.Parallel()
	addr := testenv.RedisAddr(t)
	const rps, perProc = 30, 60
	key := testKey(t)
	dir := t.TempDir()
	var cmds []*exec.Cmd
	for i := range 2 {
		out := filepath.Join(dir, fmt.Sprintf("grants-%d.txt", i))
		cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(),
			"KNM_RATELIMIT_HELPER=1",
			"KNM_RATELIMIT_REDIS="+addr,
			"KNM_RATELIMIT_KEY="+key,
			"KNM_RATELIMIT_RPS="+strconv.Itoa(rps),
			"KNM_RATELIMIT_N="+strconv.Itoa(perProc),
			"KNM_RATELIMIT_OUT="+out,
		)
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	for _, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("helper process: %v", err)
		}
	}
	var all []time.Time
	for i := range 2 {
		times := readGrantTimes(t, filepath.Join(dir, fmt.Sprintf("grants-%d.txt", i)))
		if len(times) != perProc {
			t.Fatalf("process %d wrote %d grants, want %d", i, len(times), perProc)
		}
		all = append(all, times...)
	}
	checkWindows(t, all, rps)
}

func readGrantTimes(t *testing.T, path string) []time.Time {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var times []time.Time
	s := bufio.NewScanner(f)
	for s.Scan() {
		ns, err := strconv.ParseInt(strings.TrimSpace(s.Text()), 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		times = append(times, time.Unix(0, ns))
	}
	return times
}

// TestHelperProcess is not a test: it is the body of the processes that
// TestRedisTwoProcessesShareBudget starts.
func TestHelperProcess(t *testing.T) {
	if os.Getenv("KNM_RATELIMIT_HELPER") != "1" {
		t.Skip("helper process for TestRedisTwoProcessesShareBudget")
	}
	rps, _ := strconv.Atoi(os.Getenv("KNM_RATELIMIT_RPS"))
	n, _ := strconv.Atoi(os.Getenv("KNM_RATELIMIT_N"))
	c := redis.NewClient(&redis.Options{Addr: os.Getenv("KNM_RATELIMIT_REDIS")})
	defer c.Close()
	l := ratelimit.NewRedis(c, os.Getenv("KNM_RATELIMIT_KEY"), rps)
	times := hammer(t, l, n, 10)
	var sb strings.Builder
	for _, tm := range times {
		fmt.Fprintln(&sb, tm.UnixNano())
	}
	if err := os.WriteFile(os.Getenv("KNM_RATELIMIT_OUT"), []byte(sb.String()), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestRedisSpacing(t *testing.T) {
	t.Parallel()
	l := ratelimit.NewRedis(newRedisClient(t, testenv.RedisAddr(t)), testKey(t), 100)
	l.Spacing = 50 * time.Millisecond
	start := time.Now()
	hammer(t, l, 6, 3)
	if el := time.Since(start); el < 240*time.Millisecond {
		t.Errorf("6 paced grants took %v, want >= 250ms", el)
	}
}
