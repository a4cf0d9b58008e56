package ratelimit_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/knmproject/knm/ratelimit"
)

// checkWindows fails t if any one-second window holds more than rps of the given times.
// With the times sorted, a window [s, s+1s) holds times[i..i+rps] exactly when
// times[i+rps]-times[i] < 1s, so checking every i checks every window.
func checkWindows(t *testing.T, times []time.Time, rps int) {
	t.Helper()
	sorted := slices.Clone(times)
	slices.SortFunc(sorted, func(a, b time.Time) int { return a.Compare(b) })
	for i := 0; i+rps < len(sorted); i++ {
		if d := sorted[i+rps].Sub(sorted[i]); d < time.Second {
			t.Fatalf("%d grants within %v (grants %d..%d); limit is %d per second", rps+1, d, i, i+rps, rps)
		}
	}
}

// hammer sends n Waits from g goroutines through l and returns the grant times.
func hammer(t *testing.T, l ratelimit.Limiter, n, g int) []time.Time {
	t.Helper()
	return concurrently(t, n, g, func() (time.Time, error) {
		err := l.Wait(t.Context())
		return time.Now(), err
	})
}

// concurrently calls one n times from g goroutines and returns the times it returned. An
// error stops the goroutine that got it and fails the test.
func concurrently(t *testing.T, n, g int, one func() (time.Time, error)) []time.Time {
	t.Helper()
	var (
		mu    sync.Mutex
		times []time.Time
		wg    sync.WaitGroup
		work  = make(chan struct{}, n)
	)
	for range n {
		work <- struct{}{}
	}
	close(work)
	for range g {
		wg.Go(func() {
			for range work {
				at, err := one()
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				times = append(times, at)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(times) != n {
		t.Fatalf("got %d times, want %d", len(times), n)
	}
	return times
}

func TestLocalNeverExceedsRPS(t *testing.T) {
	t.Parallel()
	const rps = 40
	l := ratelimit.NewLocal(rps)
	var calls atomic.Int64
	l.OnWait = func(time.Duration) { calls.Add(1) }
	start := time.Now()
	times := hammer(t, l, 200, 50)
	checkWindows(t, times, rps)
	// 200 grants at 40 per window need at least four full windows after the first 40.
	if el := time.Since(start); el < 4*time.Second {
		t.Errorf("200 grants took %v, want >= 4s", el)
	}
	if calls.Load() != 200 {
		t.Errorf("OnWait called %d times, want 200", calls.Load())
	}
}

func TestLocalFirstGrantsAreImmediate(t *testing.T) {
	t.Parallel()
	l := ratelimit.NewLocal(5)
	start := time.Now()
	for range 5 {
		if err := l.Wait(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if el := time.Since(start); el > 100*time.Millisecond {
		t.Errorf("first 5 grants took %v", el)
	}
}

func TestLocalContextCancel(t *testing.T) {
	t.Parallel()
	l := ratelimit.NewLocal(1)
	l.Margin = 0
	if err := l.Wait(t.Context()); err != nil {
		t.Fatal(err)
	}
	first := time.Now()

	// The head of the queue is sleeping for its slot when its deadline passes.
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if err := l.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait = %v, want deadline exceeded", err)
	}
	if el := time.Since(first); el > 500*time.Millisecond {
		t.Fatalf("cancelled Wait returned after %v", el)
	}

	// A waiter queued behind a sleeping head also leaves when cancelled.
	headDone := make(chan error, 1)
	go func() { headDone <- l.Wait(t.Context()) }()
	time.Sleep(20 * time.Millisecond)
	ctx2, cancel2 := context.WithCancel(t.Context())
	queued := make(chan error, 1)
	go func() { queued <- l.Wait(ctx2) }()
	time.Sleep(20 * time.Millisecond)
	cancel2()
	select {
	case err := <-queued:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("queued Wait = %v, want canceled", err)
		}
	case <-time.After(500 * time.Millisecond):
		t.Fatal("queued Wait did not return after cancel")
	}

	// The cancelled waits consumed nothing: the head is granted one window after the first.
	if err := <-headDone; err != nil {
		t.Fatal(err)
	}
	if el := time.Since(first); el < time.Second || el > 1500*time.Millisecond {
		t.Fatalf("next grant after %v, want ~1s", el)
	}
}

func TestNewLocalPanicsOnZero(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("NewLocal(0) did not panic")
		}
	}()
	ratelimit.NewLocal(0)
}

func TestLocalSpacing(t *testing.T) {
	t.Parallel()
	l := ratelimit.NewLocal(100)
	l.Spacing = 50 * time.Millisecond
	times := hammer(t, l, 6, 3)
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	for i := 1; i < len(times); i++ {
		if d := times[i].Sub(times[i-1]); d < 45*time.Millisecond {
			t.Errorf("grants %d and %d only %v apart", i-1, i, d)
		}
	}
}
