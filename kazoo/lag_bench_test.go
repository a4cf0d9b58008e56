package kazoo

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/internal/dbtest"
	"github.com/knmproject/knm/internal/pouchtest"
	"github.com/knmproject/knm/manager"
)

// appliedAt notes when each event reached CouchDB: the end of the batch that projected it.
type appliedAt struct {
	mu   sync.Mutex
	done map[int64]time.Time
}

func (a *appliedAt) onBatch(batch []*knm.Event, err error) {
	if err != nil {
		return
	}
	now := time.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, e := range batch {
		if _, ok := a.done[e.ID]; !ok {
			a.done[e.ID] = now
		}
	}
}

func (a *appliedAt) has(id int64) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	_, ok := a.done[id]
	return ok
}

// BenchmarkProjectionLag measures the projection's lag, commit to CouchDB, at 100 number
// changes a second, on the path knm serve runs: the manager writes each change and its
// event in one transaction, and the projector follows the outbox as the kazoo_sync
// consumer. Each change moves an in-service number between two accounts (the number's
// document rewritten, a copy written in one account database and deleted from the other).
// Run with -benchtime 1000x for ten seconds of changes; poll is poll_interval_ms.
func BenchmarkProjectionLag(b *testing.B) {
	for _, backend := range []string{"sqlite", "postgres"} {
		for _, poll := range []time.Duration{time.Second, 100 * time.Millisecond} {
			b.Run(fmt.Sprintf("%s/poll=%s", backend, poll), func(b *testing.B) {
				db := dbtest.SQLite(b)
				if backend == "postgres" {
					db = dbtest.Postgres(b)
				}
				benchLag(b, db.Open(b), poll)
			})
		}
	}
}

func benchLag(b *testing.B, s knm.Store, poll time.Duration) {
	ctx := context.Background()
	c := dial(b, pouchtest.Start(b))
	seedKazoo(b, c)
	m, err := manager.New(manager.Options{Store: s})
	if err != nil {
		b.Fatal(err)
	}
	const pool = 200
	for i := range pool {
		if _, err := m.Create(ctx, knm.SystemAccountID, fmt.Sprintf("+1256777%04d", i),
			manager.CreateOptions{AssignTo: accSubA}); err != nil {
			b.Fatal(err)
		}
	}
	applied := &appliedAt{done: map[int64]time.Time{}}
	p, err := NewProjector(Options{Store: s, Couch: c, PollInterval: poll, OnBatch: applied.onBatch})
	if err != nil {
		b.Fatal(err)
	}
	drain(b, p)
	start, err := s.LastEventID(ctx)
	if err != nil {
		b.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { p.Run(runCtx); close(done) }()
	b.ResetTimer()
	tick := time.NewTicker(10 * time.Millisecond) // 100 changes a second
	began := time.Now()
	for i := range b.N {
		<-tick.C
		to := accSubB
		if (i/pool)%2 == 1 {
			to = accSubA
		}
		if _, err := m.Move(ctx, knm.SystemAccountID, fmt.Sprintf("+1256777%04d", i%pool), to,
			knm.StateInService); err != nil {
			b.Fatal(err)
		}
	}
	tick.Stop()
	b.ReportMetric(float64(b.N)/time.Since(began).Seconds(), "changes/s") // below 100 when a move took >10 ms
	last, err := s.LastEventID(ctx)
	if err != nil {
		b.Fatal(err)
	}
	for deadline := time.Now().Add(2 * time.Minute); !applied.has(last); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatal("the projector did not catch up")
		}
	}
	b.StopTimer()
	stop()
	<-done
	reportLag(b, s, applied, start)
}

// reportLag reports the lag percentiles of the events after start, from each event's
// commit time (the store's clock, in milliseconds) to its batch's end.
func reportLag(b *testing.B, s knm.Store, applied *appliedAt, start int64) {
	var lags []float64
	for after := start; ; {
		evs, err := s.Events(context.Background(), after, 1000)
		if err != nil {
			b.Fatal(err)
		}
		if len(evs) == 0 {
			break
		}
		for _, e := range evs {
			lags = append(lags, float64(applied.done[e.ID].Sub(e.Time).Microseconds())/1000)
		}
		after = evs[len(evs)-1].ID
	}
	slices.Sort(lags)
	pct := func(q float64) float64 { return lags[min(len(lags)-1, int(q*float64(len(lags))))] }
	b.ReportMetric(pct(0.50), "p50_ms")
	b.ReportMetric(pct(0.99), "p99_ms")
	b.ReportMetric(lags[len(lags)-1], "max_ms")
	b.ReportMetric(0, "ns/op")
}
