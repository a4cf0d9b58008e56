package kazoo

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/internal/pouchtest"
	"github.com/knmproject/knm/manager"
)

// appliedAt is a cursor store that notes when each change became applied: the moment the
// cursor was saved past it.
type appliedAt struct {
	*memFeed
	mu   sync.Mutex
	done map[int64]time.Time
}

func (a *appliedAt) SaveCursor(ctx context.Context, consumer string, id int64) error {
	if err := a.memFeed.SaveCursor(ctx, consumer, id); err != nil {
		return err
	}
	now := time.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	for i := int64(1); i <= id; i++ {
		if _, ok := a.done[i]; !ok {
			a.done[i] = now
		}
	}
	return nil
}

// BenchmarkProjectionLag measures the projection's lag, commit to CouchDB, at 100 number
// changes a second: each change moves an in-service number between two accounts (the
// number's document rewritten, a copy written in one account database and deleted from the
// other). Run with -benchtime 1000x for ten seconds of changes. "polled" waits for the
// next poll (1 s, the default); "woken" is told of each commit, as an instance is of its
// own writes.
func BenchmarkProjectionLag(b *testing.B) {
	for _, mode := range []string{"woken", "polled"} {
		b.Run(mode, func(b *testing.B) { benchLag(b, mode == "woken") })
	}
}

func benchLag(b *testing.B, woken bool) {
	ctx := context.Background()
	srv := pouchtest.Start(b)
	c := dial(b, srv)
	seedKazoo(b, c)
	feed := newMemFeed()
	s := recStore{Store: openSQLite(b), feed: feed}
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
	cur := &appliedAt{memFeed: feed, done: map[int64]time.Time{}}
	p, err := NewProjector(Options{Store: s, Couch: c, Feed: feed, Cursors: cur})
	if err != nil {
		b.Fatal(err)
	}
	drain(b, p)
	start := int64(len(feed.changes))
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { p.Run(runCtx); close(done) }()
	b.ResetTimer()
	tick := time.NewTicker(10 * time.Millisecond) // 100 changes a second
	for i := range b.N {
		<-tick.C
		to := accSubB
		if (i/pool)%2 == 1 {
			to = accSubA
		}
		num := fmt.Sprintf("+1256777%04d", i%pool)
		if _, err := m.Move(ctx, knm.SystemAccountID, num, to, knm.StateInService); err != nil {
			b.Fatal(err)
		}
		if woken {
			p.Wake()
		}
	}
	tick.Stop()
	waitApplied(b, cur, int64(len(feed.changes)))
	b.StopTimer()
	stop()
	<-done
	reportLag(b, feed, cur, start)
}

func waitApplied(b *testing.B, cur *appliedAt, last int64) {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		cur.mu.Lock()
		_, ok := cur.done[last]
		cur.mu.Unlock()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			b.Fatal("the projector did not catch up")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func reportLag(b *testing.B, feed *memFeed, cur *appliedAt, start int64) {
	var lags []float64
	for _, ch := range feed.changes[start:] {
		lags = append(lags, float64(cur.done[ch.ID].Sub(ch.Time).Microseconds())/1000)
	}
	slices.Sort(lags)
	pct := func(q float64) float64 { return lags[min(len(lags)-1, int(q*float64(len(lags))))] }
	b.ReportMetric(pct(0.50), "p50_ms")
	b.ReportMetric(pct(0.99), "p99_ms")
	b.ReportMetric(lags[len(lags)-1], "max_ms")
	b.ReportMetric(0, "ns/op")
}
