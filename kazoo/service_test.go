package kazoo

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/config"
	"github.com/knmproject/knm/internal/dbtest"
	"github.com/knmproject/knm/internal/pouchtest"
	"github.com/knmproject/knm/manager"
)

// observed is an Observer that keeps what it was told.
type observed struct {
	mu   sync.Mutex
	last seen
}

// seen is what an Observer was told last, and how many batches went well and badly.
type seen struct {
	enabled bool
	lag     int64
	ok, bad int
}

func (o *observed) SetKazooSyncLag(enabled bool, events int64, _ float64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.last.enabled, o.last.lag = enabled, events
}

func (o *observed) ObserveKazooSyncBatch(_ int, ok bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if ok {
		o.last.ok++
	} else {
		o.last.bad++
	}
}

func (o *observed) get() seen {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.last
}

// TestServiceFollowsSettings: the service runs the projection only while kazoo_sync is
// enabled, and picks up a changed couch_url, without being restarted; its status and the
// observer report the lag and the last failure.
func TestServiceFollowsSettings(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, s := kazooAndKnm(t)
	if _, err := (&AccountImporter{Store: s, Couch: c}).Import(ctx); err != nil {
		t.Fatal(err)
	}
	cfg := config.New(s, "node", "")
	set := func(key, value string) {
		t.Helper()
		if err := cfg.Set(ctx, config.KazooSyncCategory, key, json.RawMessage(value), ""); err != nil {
			t.Fatal(err)
		}
	}
	set("poll_interval_ms", "20")
	set("max_backoff_ms", "100")
	obs := &observed{}
	svc := &Service{Store: s, Settings: cfg.KazooSync, Owner: "node-a", Observer: obs, Every: 20 * time.Millisecond}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { svc.Run(runCtx); close(done) }()
	defer func() { stop(); <-done }()
	status := func() Status {
		st, err := svc.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	m, err := manager.New(manager.Options{Store: s})
	if err != nil {
		t.Fatal(err)
	}
	create := func(num string) {
		t.Helper()
		if _, err := m.Create(ctx, knm.SystemAccountID, num, manager.CreateOptions{AssignTo: accSubA}); err != nil {
			t.Fatal(err)
		}
	}
	create("+12565550001")
	if st := status(); st.Enabled || st.LagEvents != 0 {
		t.Fatalf("disabled: %+v", st)
	}
	set("couch_url", `"http://127.0.0.1:1"`) // nothing listens there
	set("enabled", "true")
	waitFor(t, "the failure reported", 30*time.Second, func() bool {
		st := status()
		return st.Enabled && st.LagEvents == 1 && st.LastError != "" && obs.get().bad > 0 && obs.get().lag == 1
	})
	set("couch_url", `"`+c.URL()+`"`)
	waitFor(t, "the projection with the new URL", 30*time.Second, func() bool {
		st := status()
		return st.LagEvents == 0 && st.LastError == "" && st.Owner == "node-a"
	})
	if d, _ := c.get(ctx, AccountDB(accSubA), "+12565550001"); d == nil {
		t.Fatal("not projected")
	}
	set("enabled", "false")
	waitFor(t, "the projection stopped", 30*time.Second, func() bool { return !status().Enabled && !obs.get().enabled })
	cur, err := s.GetEventCursor(ctx, Consumer)
	if err != nil || !cur.LeaseUntil.Before(time.Now().Add(time.Millisecond)) {
		t.Fatalf("the stopped projection kept its lease: %+v %v", cur, err)
	}
	create("+12565550002")
	time.Sleep(200 * time.Millisecond) // ten polls of a projector that should no longer run
	if after, err := s.GetEventCursor(ctx, Consumer); err != nil || after.LastID != cur.LastID {
		t.Fatalf("a disabled projection moved: %+v %v", after, err)
	}
	if o := obs.get(); o.ok == 0 {
		t.Errorf("no batch observed: %+v", o)
	}
}

// inFlight counts, per projector, the CouchDB requests under way, and notes any moment
// when two projectors have requests under way together.
type inFlight struct {
	busy    [2]atomic.Int32
	overlap atomic.Int32
}

type countingTransport struct {
	f    *inFlight
	self int
}

func (c countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.f.busy[c.self].Add(1)
	defer c.f.busy[c.self].Add(-1)
	if c.f.busy[1-c.self].Load() > 0 {
		c.f.overlap.Add(1)
	}
	return http.DefaultTransport.RoundTrip(r)
}

// TestTwoInstancesNeverProjectTogether runs two projectors, as two knm instances sharing
// one PostgreSQL database, while numbers change: the lease lets one project at a time
// (never both sending to CouchDB at once); when it stops, the other takes over at once,
// and CouchDB ends up exactly as knm.
func TestTwoInstancesNeverProjectTogether(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := pouchtest.Start(t)
	plain := dial(t, srv)
	seedKazoo(t, plain)
	db := dbtest.Postgres(t)
	stores := []knm.Store{db.Open(t), db.Open(t)}
	if _, err := (&AccountImporter{Store: stores[0], Couch: plain}).Import(ctx); err != nil {
		t.Fatal(err)
	}
	f := &inFlight{}
	var handled [2]atomic.Int32
	stops := make([]func(), 2)
	for i := range 2 {
		p, err := NewProjector(Options{Store: stores[i], Couch: couchVia(t, srv.URL, countingTransport{f: f, self: i}),
			Owner: fmt.Sprintf("instance-%d", i), BatchSize: 3, PollInterval: 10 * time.Millisecond,
			OnBatch: func(b []*knm.Event, err error) {
				if err == nil {
					handled[i].Add(int32(len(b)))
				}
			}})
		if err != nil {
			t.Fatal(err)
		}
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { p.Run(runCtx); close(done) }()
		stops[i] = func() { stop(); <-done }
		defer stops[i]()
	}
	m, err := manager.New(manager.Options{Store: stores[1]})
	if err != nil {
		t.Fatal(err)
	}
	change := func(from, to int) {
		for i := from; i < to; i++ {
			acct := []string{accSubA, accSubB}[i%2]
			if _, err := m.Create(ctx, knm.SystemAccountID, fmt.Sprintf("+1256555%04d", i),
				manager.CreateOptions{AssignTo: acct}); err != nil {
				t.Fatal(err)
			}
		}
	}
	change(0, 20)
	lagZero := func() bool { l, err := lagOf(ctx, stores[0], time.Now(), ""); return err == nil && l.Events == 0 }
	waitFor(t, "the first changes projected", 60*time.Second, lagZero)
	first := 0
	if handled[1].Load() > handled[0].Load() {
		first = 1
	}
	stops[first]() // the instance that projected stops, giving its lease up
	change(20, 30)
	waitFor(t, "the other instance to take over", 60*time.Second, lagZero)
	if n := f.overlap.Load(); n > 0 {
		t.Errorf("%d CouchDB requests sent while the other instance had requests under way", n)
	}
	if handled[1-first].Load() < 10 {
		t.Errorf("the remaining instance handled %d events, want at least the last 10", handled[1-first].Load())
	}
	rep, err := FullSync(ctx, stores[0], plain, SyncOptions{DryRun: true})
	if err != nil || len(rep.Differences) != 0 || rep.Numbers != 30 {
		t.Fatalf("full sync: %+v %v", rep, err)
	}
}
