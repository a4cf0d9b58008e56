package lease_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/lease"
	"github.com/knmproject/knm/store/sqlite"
)

func openStore(t *testing.T) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "knm.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestLeaseRegistersAndReleases: an acquired lease is a live instance of this process, and
// Release ends it at once.
func TestLeaseRegistersAndReleases(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	l, err := lease.Acquire(ctx, s, lease.Options{TTL: time.Minute, Host: "h1"})
	if err != nil {
		t.Fatal(err)
	}
	ins, err := s.ListInstances(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ins) != 1 || ins[0].ID != l.ID() || ins[0].PID != os.Getpid() || ins[0].Host != "h1" ||
		!ins[0].Live(time.Now()) {
		t.Fatalf("instances: %+v, lease %s", ins, l.ID())
	}
	id := l.ID()
	if err := l.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if l.ID() != "" {
		t.Fatalf("released lease still has id %s", l.ID())
	}
	if _, err := s.RenewInstance(ctx, id, time.Minute); !knm.IsLeaseLost(err) {
		t.Fatalf("renewing a released lease: %v", err)
	}
}

// TestLeaseRegistersAgainWhenLost: a lease ended behind the instance's back (as after a
// pause past its expiry) is registered again under a new id by the heartbeat loop.
func TestLeaseRegistersAgainWhenLost(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := openStore(t)
	l, err := lease.Acquire(ctx, s, lease.Options{TTL: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	first := l.ID()
	go l.Run(ctx)
	if err := s.ReleaseInstance(ctx, first); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for l.ID() == first && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if l.ID() == first || l.ID() == "" {
		t.Fatalf("lease id after loss: %q (was %q)", l.ID(), first)
	}
}

// TestReleaseDeadLocal ends the leases of this host's instances whose process is gone, and
// keeps those of running processes and of other hosts.
func TestReleaseDeadLocal(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Skip("no true command:", err)
	}
	for _, in := range []*knm.Instance{
		{ID: "dead", Host: "h1", PID: gone.Process.Pid},
		{ID: "running", Host: "h1", PID: os.Getppid()},
		{ID: "elsewhere", Host: "h2", PID: gone.Process.Pid},
	} {
		if err := s.RegisterInstance(ctx, in, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	l, err := lease.Acquire(ctx, s, lease.Options{TTL: time.Hour, Host: "h1"})
	if err != nil {
		t.Fatal(err)
	}
	dead, err := l.ReleaseDeadLocal(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(dead, []string{"dead"}) {
		t.Fatalf("released %v, want [dead]", dead)
	}
	ins, _ := s.ListInstances(ctx)
	var ids []string
	for _, in := range ins {
		ids = append(ids, in.ID)
	}
	if !slices.Contains(ids, l.ID()) || !slices.Contains(ids, "running") || !slices.Contains(ids, "elsewhere") ||
		slices.Contains(ids, "dead") {
		t.Fatalf("instances left: %v", ids)
	}
}

// TestAwaitOthers waits for a silent instance to expire and for a running one to beat, and
// names only the silent one as gone.
func TestAwaitOthers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s := openStore(t)
	for _, id := range []string{"silent", "running"} {
		if err := s.RegisterInstance(ctx, &knm.Instance{ID: id, Host: "h2", PID: 1}, 400*time.Millisecond); err != nil {
			t.Fatal(err)
		}
	}
	bctx, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		for bctx.Err() == nil {
			s.RenewInstance(bctx, "running", 400*time.Millisecond)
			time.Sleep(100 * time.Millisecond)
		}
	}()
	l, err := lease.Acquire(ctx, s, lease.Options{TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	gone, err := l.AwaitOthers(ctx)
	if err != nil || !slices.Equal(gone, []string{"silent"}) {
		t.Fatalf("gone %v, %v; want [silent]", gone, err)
	}
}

// TestPruneExpired deletes instances expired longer ago than asked, and only those.
func TestPruneExpired(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	if err := s.RegisterInstance(ctx, &knm.Instance{ID: "old"}, time.Millisecond); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	if err := s.RegisterInstance(ctx, &knm.Instance{ID: "recent"}, time.Millisecond); err != nil {
		t.Fatal(err)
	}
	l, err := lease.Acquire(ctx, s, lease.Options{TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	n, err := l.PruneExpired(ctx, 500*time.Millisecond)
	if err != nil || n != 1 {
		t.Fatalf("pruned %d, %v; want 1", n, err)
	}
	ins, _ := s.ListInstances(ctx)
	var ids []string
	for _, in := range ins {
		ids = append(ids, in.ID)
	}
	if slices.Contains(ids, "old") || !slices.Contains(ids, "recent") || !slices.Contains(ids, l.ID()) {
		t.Fatalf("instances left: %v", ids)
	}
}
