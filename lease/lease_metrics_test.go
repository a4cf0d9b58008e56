package lease_test

import (
	"context"
	"io"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/knmproject/knm/lease"
	"github.com/knmproject/knm/metrics"
)

// scrape returns the /metrics text of m.
func scrape(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	return string(body)
}

// TestLeaseHeldMetric: the lease gauge is 1 once acquired, 0 while the lease is lost and 1
// again once registered anew, and 0 after Release.
func TestLeaseHeldMetric(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := openStore(t)
	m := metrics.New(nil)
	var (
		mu   sync.Mutex
		seen []bool
	)
	held := func(h bool) {
		mu.Lock()
		seen = append(seen, h)
		mu.Unlock()
		m.SetLeaseHeld(h)
	}
	l, err := lease.Acquire(ctx, s, lease.Options{TTL: 300 * time.Millisecond, Held: held})
	if err != nil {
		t.Fatal(err)
	}
	if body := scrape(t, m); !strings.Contains(body, "\nknm_instance_lease_held 1\n") {
		t.Fatalf("gauge after Acquire:\n%s", body)
	}
	first := l.ID()
	go l.Run(ctx)
	if err := s.ReleaseInstance(ctx, first); err != nil { // lost behind its back
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for l.ID() == first && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if l.ID() == first {
		t.Fatal("the lost lease was not registered again")
	}
	mu.Lock()
	lost := slices.Index(seen, false)
	ok := lost > 0 && slices.Contains(seen[lost:], true)
	mu.Unlock()
	if !ok {
		t.Fatalf("held reports %v, want true, then false at the loss, then true", seen)
	}
	cancel()
	if err := l.Release(context.Background()); err != nil {
		t.Fatal(err)
	}
	if body := scrape(t, m); !strings.Contains(body, "\nknm_instance_lease_held 0\n") {
		t.Fatalf("gauge after Release:\n%s", body)
	}
}
