package kazoo

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/internal/pouchtest"
	"github.com/knmproject/knm/manager"
)

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestProjectionCatchesUpAfterCouchDBOutage stops CouchDB while the projector runs and
// knm keeps changing numbers, then starts it again on the same data directory: the
// projector keeps retrying without moving its cursor past what it could not write, then
// catches up, and CouchDB ends up exactly as knm (nothing lost, nothing left behind).
func TestProjectionCatchesUpAfterCouchDBOutage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := pouchtest.StartOnDisk(t) // survives a restart, as a real CouchDB does
	c := dial(t, srv)
	seedKazoo(t, c)
	s := openSQLite(t)
	if _, err := (&AccountImporter{Store: s, Couch: c}).Import(ctx); err != nil {
		t.Fatal(err)
	}
	m, err := manager.New(manager.Options{Store: s})
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewProjector(Options{Store: s, Couch: c, BatchSize: 4,
		PollInterval: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { p.Run(runCtx); close(done) }()
	defer func() { stop(); <-done }()

	sys := knm.SystemAccountID
	nums := make([]string, 10)
	for i := range nums {
		nums[i] = fmt.Sprintf("+1205555%04d", i)
		if _, err := m.Create(ctx, sys, nums[i], manager.CreateOptions{AssignTo: accSubA}); err != nil {
			t.Fatal(err)
		}
	}
	caughtUp := func() bool { l, err := p.Lag(ctx); return err == nil && l.Events == 0 }
	waitFor(t, "the first numbers to be projected", 30*time.Second, caughtUp)

	srv.Stop()
	// While CouchDB is down: move some, release some (knm_local numbers are deleted), add more.
	for _, num := range nums[:3] {
		if _, err := m.Move(ctx, sys, num, accSubB, knm.StateInService); err != nil {
			t.Fatal(err)
		}
	}
	for _, num := range nums[3:5] {
		if _, err := m.Release(ctx, sys, num); err != nil {
			t.Fatal(err)
		}
	}
	for i := 10; i < 14; i++ {
		num := fmt.Sprintf("+1205555%04d", i)
		if _, err := m.Create(ctx, sys, num, manager.CreateOptions{AssignTo: accSubB}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the outage to show in the lag", 30*time.Second, func() bool {
		l, err := p.Lag(ctx)
		return err == nil && l.Events == 9 && l.LastError != "" && l.Seconds > 0
	})

	srv.Restart(t)
	waitFor(t, "the projector to catch up", 60*time.Second, caughtUp)
	rep, err := FullSync(ctx, s, c, SyncOptions{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Differences) != 0 || rep.Numbers != 12 {
		t.Fatalf("after the outage: %d numbers, differences %+v", rep.Numbers, rep.Differences)
	}
	for acct, want := range map[string]int{accSubA: 5, accSubB: 7} {
		docs, err := c.numberDocs(ctx, AccountDB(acct))
		if err != nil || len(docs) != want {
			t.Errorf("account %s lists %d numbers (%v), want %d", acct, len(docs), err, want)
		}
	}
	if l, _ := p.Lag(ctx); l.LastError != "" {
		t.Errorf("last error not cleared after catching up: %s", l.LastError)
	}
}
