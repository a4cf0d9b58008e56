package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/knmproject/knm"
)

// register registers an instance with a lease of ttl, failing t on error.
func register(t *testing.T, s knm.Store, id string, ttl time.Duration) *knm.Instance {
	t.Helper()
	in := &knm.Instance{ID: id, Host: "host-" + id, PID: 4242}
	must(t, s.RegisterInstance(context.Background(), in, ttl), "register "+id)
	return in
}

// wantLeaseLost fails t unless err is a LeaseLost error.
func wantLeaseLost(t *testing.T, err error, what string) {
	t.Helper()
	if !knm.IsLeaseLost(err) {
		t.Fatalf("%s: got error %v, want lease lost", what, err)
	}
}

func testInstanceLease(t *testing.T, s knm.Store) {
	ctx := context.Background()
	clock := Clock(t)
	a := register(t, s, "inst-a", 10*time.Second)
	if !a.Started.Equal(a.Heartbeat) || !a.Expires.Equal(a.Started.Add(10*time.Second)) {
		t.Fatalf("registered: %+v", a)
	}
	wantErr(t, s.RegisterInstance(ctx, &knm.Instance{ID: "inst-a"}, time.Second), knm.ErrConflict, "register twice")
	wantErr(t, s.RegisterInstance(ctx, &knm.Instance{ID: "inst-z"}, 0), knm.ErrInvalid, "register without ttl")
	clock.Advance(4 * time.Second)
	until, err := s.RenewInstance(ctx, "inst-a", 10*time.Second)
	must(t, err, "renew")
	if want := a.Started.Add(14 * time.Second); !until.Equal(want) {
		t.Fatalf("renewed until %v, want %v", until, want)
	}
	list, err := s.ListInstances(ctx)
	must(t, err, "list")
	if len(list) != 1 || list[0].Host != "host-inst-a" || list[0].PID != 4242 || !list[0].Expires.Equal(until) ||
		!list[0].Heartbeat.Equal(a.Started.Add(4*time.Second)) || !list[0].Live(clock.Now()) {
		t.Fatalf("listed: %+v", list)
	}
	must(t, s.ReleaseInstance(ctx, "inst-a"), "release")
	must(t, s.ReleaseInstance(ctx, "inst-a"), "release again")
	_, err = s.RenewInstance(ctx, "inst-a", 10*time.Second)
	wantLeaseLost(t, err, "renew after release")
	list, err = s.ListInstances(ctx)
	must(t, err, "list after release")
	equal(t, "instances after release", len(list), 0)
}

func testInstanceExpiry(t *testing.T, s knm.Store) {
	ctx := context.Background()
	clock := Clock(t)
	register(t, s, "inst-a", 3*time.Second)
	clock.Advance(3 * time.Second) // expires is exclusive: a lease ending now is over
	_, err := s.RenewInstance(ctx, "inst-a", 3*time.Second)
	wantLeaseLost(t, err, "renew at expiry")
	list, err := s.ListInstances(ctx)
	must(t, err, "list")
	if len(list) != 1 || list[0].Live(clock.Now()) {
		t.Fatalf("an expired instance is listed and not live: %+v", list)
	}
	err = s.CreateJournal(ctx, &knm.JournalEntry{ID: "order-x", Carrier: "knm_voxbone", State: "planned",
		Owner: "inst-a"})
	wantLeaseLost(t, err, "create by an expired instance")
	err = s.CreateJournal(ctx, &knm.JournalEntry{ID: "order-y", Carrier: "knm_voxbone", State: "planned",
		Owner: "inst-unknown"})
	wantLeaseLost(t, err, "create by an unknown instance")
	if _, err := s.GetJournal(ctx, "order-x"); !knm.IsErrorName(err, knm.ErrNotFound) {
		t.Fatalf("refused create stored the entry: %v", err)
	}
}

// ownedEntry creates an entry owned by owner.
func ownedEntry(t *testing.T, s knm.Store, id, owner string) *knm.JournalEntry {
	t.Helper()
	e := &knm.JournalEntry{ID: id, Carrier: "knm_voxbone", State: "planned", Payload: json.RawMessage(`{"n":1}`),
		Owner: owner}
	must(t, s.CreateJournal(context.Background(), e), "create "+id)
	return e
}

func testJournalOwnerWrites(t *testing.T, s knm.Store) {
	ctx := context.Background()
	register(t, s, "inst-a", time.Minute)
	register(t, s, "inst-b", time.Minute)
	e := ownedEntry(t, s, "order-1", "inst-a")
	if e.Rev != 1 || e.Fence != 1 || e.Owner != "inst-a" {
		t.Fatalf("created: %+v", e)
	}
	got, err := s.GetJournal(ctx, "order-1")
	must(t, err, "get")
	equal(t, "stored entry", got, e)
	e.State = "cart_created"
	must(t, s.UpdateJournal(ctx, e), "owner's write")
	other := *e
	other.Owner, other.State = "inst-b", "failed"
	wantLeaseLost(t, s.UpdateJournal(ctx, &other), "another instance's write")
	anon := *e
	anon.Owner, anon.State = "", "failed"
	wantLeaseLost(t, s.UpdateJournal(ctx, &anon), "an ownerless write")
	stale := *e
	stale.Rev--
	err = s.UpdateJournal(ctx, &stale)
	wantErr(t, err, knm.ErrConflict, "stale revision")
	if knm.IsLeaseLost(err) {
		t.Fatalf("a stale revision by the owner is a plain conflict, got %v", err)
	}
	got, err = s.GetJournal(ctx, "order-1")
	must(t, err, "get after writes")
	if got.State != "cart_created" || got.Owner != "inst-a" || got.Fence != 1 || got.Rev != 2 {
		t.Fatalf("after refused writes: %+v", got)
	}
}

func testJournalTakeOver(t *testing.T, s knm.Store) {
	ctx := context.Background()
	clock := Clock(t)
	register(t, s, "inst-a", 10*time.Second)
	register(t, s, "inst-b", time.Minute)
	e := ownedEntry(t, s, "order-1", "inst-a")
	_, err := s.TakeOverJournal(ctx, "order-1", e.Rev, "inst-b")
	wantErr(t, err, knm.ErrConflict, "take over from a live owner")
	if knm.IsLeaseLost(err) {
		t.Fatalf("the taker's lease is live; got %v", err)
	}
	clock.Advance(11 * time.Second)
	_, err = s.TakeOverJournal(ctx, "order-1", e.Rev, "inst-a")
	wantLeaseLost(t, err, "take over by an expired instance")
	_, err = s.TakeOverJournal(ctx, "order-1", e.Rev+1, "inst-b")
	wantErr(t, err, knm.ErrConflict, "take over at a wrong revision")
	_, err = s.TakeOverJournal(ctx, "nope", 1, "inst-b")
	wantErr(t, err, knm.ErrNotFound, "take over a missing entry")
	got, err := s.TakeOverJournal(ctx, "order-1", e.Rev, "inst-b")
	must(t, err, "take over from an expired owner")
	if got.Owner != "inst-b" || got.Fence != 2 || got.Rev != e.Rev+1 || got.State != "planned" {
		t.Fatalf("taken over: %+v", got)
	}
	stored, err := s.GetJournal(ctx, "order-1")
	must(t, err, "get")
	equal(t, "stored after takeover", stored, got)
	e.State = "failed"
	wantLeaseLost(t, s.UpdateJournal(ctx, e), "old owner's write after takeover")
	got.State = "failed"
	must(t, s.UpdateJournal(ctx, got), "new owner's write")
	unowned := &knm.JournalEntry{ID: "order-2", Carrier: "knm_voxbone", State: "planned"}
	must(t, s.CreateJournal(ctx, unowned), "create unowned")
	if unowned.Fence != 0 {
		t.Fatalf("an unowned entry has fence %d", unowned.Fence)
	}
	taken, err := s.TakeOverJournal(ctx, "order-2", unowned.Rev, "inst-b")
	must(t, err, "take over an unowned entry")
	if taken.Owner != "inst-b" || taken.Fence != 1 {
		t.Fatalf("unowned taken over: %+v", taken)
	}
}

// testJournalFencedAfterExpiry: an owner paused past its lease writes nothing, even when no
// other instance has taken its entry over yet.
func testJournalFencedAfterExpiry(t *testing.T, s knm.Store) {
	ctx := context.Background()
	clock := Clock(t)
	register(t, s, "inst-a", 5*time.Second)
	e := ownedEntry(t, s, "order-1", "inst-a")
	clock.Advance(6 * time.Second)
	e.State = "checkout_sent"
	wantLeaseLost(t, s.UpdateJournal(ctx, e), "write after the lease expired")
	got, err := s.GetJournal(ctx, "order-1")
	must(t, err, "get")
	if got.State != "planned" || got.Rev != 1 {
		t.Fatalf("fenced write changed the entry: %+v", got)
	}
}

// testJournalTakeOverConcurrent: of several live instances taking one entry over at once,
// exactly one wins.
func testJournalTakeOverConcurrent(t *testing.T, s knm.Store) {
	ctx := context.Background()
	clock := Clock(t)
	register(t, s, "inst-dead", time.Second)
	e := ownedEntry(t, s, "order-1", "inst-dead")
	const n = 6
	for i := range n {
		register(t, s, fmt.Sprintf("inst-%d", i), time.Hour)
	}
	clock.Advance(2 * time.Second)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		wins []string
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("inst-%d", i)
			_, err := s.TakeOverJournal(ctx, "order-1", e.Rev, id)
			switch {
			case err == nil:
				mu.Lock()
				wins = append(wins, id)
				mu.Unlock()
			case !knm.IsErrorName(err, knm.ErrConflict):
				t.Errorf("%s: %v", id, err)
			}
		}()
	}
	wg.Wait()
	if len(wins) != 1 {
		t.Fatalf("winners: %v, want exactly one", wins)
	}
	got, err := s.GetJournal(ctx, "order-1")
	must(t, err, "get")
	if got.Owner != wins[0] || got.Fence != 2 {
		t.Fatalf("after concurrent takeovers: %+v (winner %s)", got, wins[0])
	}
}
