package voxbone_test

import (
	"context"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/knmproject/knm/ratelimit"
	"github.com/knmproject/knm/voxbone"
)

// recordingReserver counts reservations and how each ended.
type recordingReserver struct {
	mu                          sync.Mutex
	reserved, committed, cancel int
}

func (r *recordingReserver) Wait(context.Context) error {
	panic("Wait called on a Reserver")
}

func (r *recordingReserver) Reserve(ctx context.Context) (ratelimit.Reservation, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reserved++
	return recordedSlot{r}, ctx.Err()
}

func (r *recordingReserver) counts() (reserved, committed, cancelled int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reserved, r.committed, r.cancel
}

type recordedSlot struct{ r *recordingReserver }

func (s recordedSlot) Commit(time.Time) { s.r.mu.Lock(); s.r.committed++; s.r.mu.Unlock() }
func (s recordedSlot) Cancel()          { s.r.mu.Lock(); s.r.cancel++; s.r.mu.Unlock() }

// TestReserverPerAttempt checks that every attempt, retries included, takes its own slot,
// commits it when the request was sent, and cancels it when no connection was made.
func TestReserverPerAttempt(t *testing.T) {
	t.Parallel()
	t.Run("SentAndRetried", func(t *testing.T) {
		t.Parallel()
		lim := &recordingReserver{}
		c, mux := setup(t, voxbone.WithLimiter(lim))
		mux.HandleFunc("GET /inventory/zone", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) })
		if _, err := c.ListZones(t.Context()); err == nil {
			t.Fatal("ListZones succeeded")
		}
		if res, com, can := lim.counts(); res != 5 || com != 5 || can != 0 {
			t.Errorf("reserved %d, committed %d, cancelled %d; want 5, 5, 0 (1 + 4 retries)", res, com, can)
		}
	})
	t.Run("NeverConnected", func(t *testing.T) {
		t.Parallel()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close() // nothing listens there now: every dial is refused
		lim := &recordingReserver{}
		c, err := voxbone.New(voxbone.WithBaseURL("http://"+addr+"/base"), voxbone.WithLimiter(lim),
			voxbone.WithRetryPolicy(fastRetries))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.ListZones(t.Context()); err == nil {
			t.Fatal("ListZones succeeded without a server")
		}
		if res, com, can := lim.counts(); res != 5 || com != 0 || can != 5 {
			t.Errorf("reserved %d, committed %d, cancelled %d; want 5, 0, 5", res, com, can)
		}
	})
}
