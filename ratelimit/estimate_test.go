package ratelimit

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestLastGrant(t *testing.T) {
	now := time.Unix(1000, 0)
	at := func(ms int) time.Time { return now.Add(time.Duration(ms) * time.Millisecond) }
	span := time.Second
	for _, tc := range []struct {
		name   string
		slots  []time.Time
		queued int
		rps    int
		want   time.Duration
	}{
		{"room", []time.Time{at(-100)}, 3, 5, 0},
		{"exactly full", []time.Time{at(-900), at(-800)}, 3, 5, 0},
		{"one over waits for the oldest", []time.Time{at(-900), at(-800), at(-100)}, 3, 5, 100 * time.Millisecond},
		{"unordered slots", []time.Time{at(-100), at(-800), at(-900)}, 3, 5, 100 * time.Millisecond},
		{"a window more", nil, 11, 5, 2 * time.Second},
		{"empty log", nil, 6, 5, time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := lastGrant(tc.slots, tc.queued, tc.rps, span, now); got != tc.want {
				t.Fatalf("lastGrant = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestLocalEstimateConsumesNothing: the estimate sees the grants in the window and takes
// none itself.
func TestLocalEstimateConsumesNothing(t *testing.T) {
	now := time.Unix(2000, 0)
	l := NewLocal(5)
	l.now = func() time.Time { return now }
	ctx := context.Background()
	for range 5 {
		if err := l.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	want := Window + l.Margin
	for range 3 {
		if d, err := l.Estimate(ctx, 1); err != nil || d != want {
			t.Fatalf("Estimate(1) = %v, %v; want %v", d, err, want)
		}
	}
	if d, _ := l.Estimate(ctx, 6); d != 2*want {
		t.Fatalf("Estimate(6) = %v, want %v", d, 2*want)
	}
}

// TestRedisEstimate: the shared log's grants count, and an empty key estimates nothing.
func TestRedisEstimate(t *testing.T) {
	addr := os.Getenv("KNM_TEST_REDIS")
	if addr == "" {
		t.Skip("KNM_TEST_REDIS not set")
	}
	client := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { client.Close() })
	key := "knm:test:estimate:" + time.Now().Format("150405.000000000")
	l := NewRedis(client, key, 5)
	ctx := context.Background()
	if d, err := l.Estimate(ctx, 5); err != nil || d != 0 {
		t.Fatalf("empty: %v, %v", d, err)
	}
	for range 5 {
		if err := l.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	d, err := l.Estimate(ctx, 1)
	if err != nil || d <= Window/2 || d > Window+l.Margin {
		t.Fatalf("full: %v, %v", d, err)
	}
}
