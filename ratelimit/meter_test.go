package ratelimit_test

import (
	"context"
	"testing"
	"time"

	"github.com/knmproject/knm/internal/testenv"
	"github.com/knmproject/knm/ratelimit"
)

// wantInUse fails t unless m reports used slots of rps.
func wantInUse(t *testing.T, m ratelimit.Meter, what string, used, rps int) {
	t.Helper()
	u, r, err := m.InUse(context.Background())
	if err != nil || u != used || r != rps {
		t.Fatalf("%s: InUse = %d of %d (%v), want %d of %d", what, u, r, err, used, rps)
	}
}

// TestLocalInUse counts granted and committed slots and forgets cancelled ones. The
// margin is a minute so that no slot leaves the window while the test runs.
func TestLocalInUse(t *testing.T) {
	t.Parallel()
	l := ratelimit.NewLocal(5)
	l.Margin = time.Minute
	wantInUse(t, l, "idle", 0, 5)
	for range 2 {
		if err := l.Wait(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	r, err := l.Reserve(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	wantInUse(t, l, "two sent, one reserved", 3, 5)
	r.Cancel()
	wantInUse(t, l, "the reservation cancelled", 2, 5)
}

// TestRedisInUse: every limiter sharing a key sees the slots of all of them.
func TestRedisInUse(t *testing.T) {
	t.Parallel()
	addr := testenv.RedisAddr(t)
	key := testKey(t)
	a := ratelimit.NewRedis(newRedisClient(t, addr), key, 10)
	b := ratelimit.NewRedis(newRedisClient(t, addr), key, 10)
	a.Margin, b.Margin = time.Minute, time.Minute
	wantInUse(t, a, "idle", 0, 10)
	for _, l := range []*ratelimit.Redis{a, a, b} {
		if err := l.Wait(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	r, err := b.Reserve(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	wantInUse(t, a, "seen from a", 4, 10)
	wantInUse(t, b, "seen from b", 4, 10)
	r.Cancel()
	wantInUse(t, a, "a reservation of b cancelled", 3, 10)
}
