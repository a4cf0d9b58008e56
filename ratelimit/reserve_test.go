package ratelimit_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/knmproject/knm/internal/testenv"
	"github.com/knmproject/knm/ratelimit"
)

// reserverBackends builds each Reserver under test with the given budget and no margin,
// so the tests can time grants to the window exactly.
var reserverBackends = []struct {
	name string
	new  func(t *testing.T, rps int) ratelimit.Reserver
}{
	{"Local", func(t *testing.T, rps int) ratelimit.Reserver {
		l := ratelimit.NewLocal(rps)
		l.Margin = 0
		return l
	}},
	{"Redis", func(t *testing.T, rps int) ratelimit.Reserver {
		l := ratelimit.NewRedis(newRedisClient(t, testenv.RedisAddr(t)), testKey(t), rps)
		l.Margin = 0
		return l
	}},
}

// forEachReserver runs test in parallel against each Reserver backend, built with a
// budget of one request a second.
func forEachReserver(t *testing.T, test func(t *testing.T, r ratelimit.Reserver)) {
	for _, b := range reserverBackends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			test(t, b.new(t, 1))
		})
	}
}

func reserve(t *testing.T, r ratelimit.Reserver) ratelimit.Reservation {
	t.Helper()
	res, err := r.Reserve(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestReserveCommitDelaysNextGrant commits a slot 300 ms after its grant while the next
// waiter is already asleep until the grant's slot leaves the window: the waiter must look
// again and wait for the committed time instead.
func TestReserveCommitDelaysNextGrant(t *testing.T) {
	t.Parallel()
	forEachReserver(t, func(t *testing.T, r ratelimit.Reserver) {
		granted := time.Now()
		res := reserve(t, r)
		next := make(chan time.Time, 1)
		go func() {
			if _, err := r.Reserve(t.Context()); err != nil {
				t.Error(err)
			}
			next <- time.Now()
		}()
		time.Sleep(300 * time.Millisecond)
		sent := time.Now()
		res.Commit(sent)
		got := <-next
		if d := got.Sub(sent); d < time.Second-5*time.Millisecond {
			t.Errorf("next grant %v after the commit, want >= 1s", d)
		}
		if d := got.Sub(granted); d > 1800*time.Millisecond {
			t.Errorf("next grant %v after the first, want ~1.3s", d)
		}
	})
}

// TestReserveCommitNeverMovesEarlier commits a time before the grant: the slot keeps its
// grant time.
func TestReserveCommitNeverMovesEarlier(t *testing.T) {
	t.Parallel()
	forEachReserver(t, func(t *testing.T, r ratelimit.Reserver) {
		res := reserve(t, r)
		res.Commit(time.Now().Add(-time.Hour))
		ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		defer cancel()
		if _, err := r.Reserve(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Reserve after an earlier commit = %v, want the slot still taken", err)
		}
	})
}

// TestReserveCancelFreesSlot cancels a slot while a waiter sleeps for it: the waiter is
// granted at once. A cancel after a commit frees nothing.
func TestReserveCancelFreesSlot(t *testing.T) {
	t.Parallel()
	forEachReserver(t, func(t *testing.T, r ratelimit.Reserver) {
		res := reserve(t, r)
		next := make(chan ratelimit.Reservation, 1)
		go func() {
			res, err := r.Reserve(t.Context())
			if err != nil {
				t.Error(err)
			}
			next <- res
		}()
		time.Sleep(50 * time.Millisecond)
		cancelled := time.Now()
		res.Cancel()
		res2 := <-next
		if d := time.Since(cancelled); d > 150*time.Millisecond {
			t.Errorf("waiter granted %v after the cancel", d)
		}

		res2.Commit(time.Now())
		res2.Cancel()
		ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		defer cancel()
		if _, err := r.Reserve(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Reserve after commit+cancel = %v, want the slot still taken", err)
		}
	})
}

// reserveAndSend takes n reservations from g goroutines through r, "dials" after each
// grant, commits, and returns the send times (taken after Commit, as a request is written
// after it). Dials take a random 0-200 ms, except that the first cold ones take the full
// 200 ms: a cold start whose burst dials slowly while later requests ride warm connections
// is what puts more than rps sends in one window when slots keep their grant times.
func reserveAndSend(t *testing.T, r ratelimit.Reserver, n, g, cold int) []time.Time {
	t.Helper()
	var dials atomic.Int64
	return concurrently(t, n, g, func() (time.Time, error) {
		res, err := r.Reserve(t.Context())
		if err != nil {
			return time.Time{}, err
		}
		dial := rand.N(200 * time.Millisecond)
		if dials.Add(1) <= int64(cold) {
			dial = 200 * time.Millisecond
		}
		time.Sleep(dial)
		res.Commit(time.Now())
		return time.Now(), nil
	})
}

func TestLocalCommittedTimesNeverExceedRPS(t *testing.T) {
	t.Parallel()
	const rps = 40
	times := reserveAndSend(t, ratelimit.NewLocal(rps), 200, 50, rps)
	checkWindows(t, times, rps)
}

func TestRedisCommittedTimesNeverExceedRPS(t *testing.T) {
	t.Parallel()
	const rps = 40
	// Commits extend the key's expiry, so it outlives the last commit by about a window.
	shareBudget(t, rps, func(r *ratelimit.Redis) []time.Time { return reserveAndSend(t, r, 100, 25, rps/2) })
}
