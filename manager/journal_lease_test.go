package manager

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/knmproject/knm"
)

// TestRecoverByLease: a fresh entry of an instance whose lease ended is taken over and
// settled at once; one of a live instance, and this instance's own fresh one, are left.
func TestRecoverByLease(t *testing.T) {
	forEachStore(t, func(t *testing.T, s knm.Store) {
		ctx := context.Background()
		e, fake, _ := newReleaseEnv(t, s)
		e.m.owner = func() string { return "inst-b" }
		for _, id := range []string{"inst-a", "inst-b", "inst-dead"} {
			if err := s.RegisterInstance(ctx, &knm.Instance{ID: id}, time.Hour); err != nil {
				t.Fatal(err)
			}
		}
		release := func(num, owner string) string {
			n := &knm.Number{Number: num, State: knm.StateInService, AssignedTo: accS}
			n.SetModule("knm_fake")
			cur := e.put(t, n)
			target := cur.Clone()
			target.State, target.AssignedTo = knm.StateAvailable, ""
			b, _ := json.Marshal(intent{Op: opDisconnect, Number: num, Module: "knm_fake", ReadRev: cur.Rev,
				Target: target})
			id := "disconnect-" + num
			if err := s.CreateJournal(ctx, &knm.JournalEntry{ID: id, Carrier: journalCarrier, State: journalIntent,
				Payload: b, Owner: owner}); err != nil {
				t.Fatal(err)
			}
			return id
		}
		live, dead, own := release("+14155550011", "inst-a"), release("+14155550012", "inst-dead"),
			release("+14155550013", "inst-b")
		if err := s.ReleaseInstance(ctx, "inst-dead"); err != nil {
			t.Fatal(err)
		}
		rep, err := e.m.Recover(ctx)
		if err != nil || rep != (RecoverReport{Finished: 1}) {
			t.Fatalf("report = %+v, %v", rep, err)
		}
		if fake.disconns.Load() != 1 {
			t.Fatalf("disconnects = %d, want 1", fake.disconns.Load())
		}
		got, err := s.GetJournal(ctx, dead)
		if err != nil || got.State != journalDone || got.Owner != "inst-b" || got.Fence != 2 {
			t.Fatalf("entry of the ended lease: %+v, %v", got, err)
		}
		for _, id := range []string{live, own} {
			if got, err := s.GetJournal(ctx, id); err != nil || got.State != journalIntent || got.Fence != 1 {
				t.Fatalf("%s touched: %+v, %v", id, got, err)
			}
		}
		if n := e.get(t, "+14155550012"); n.State != knm.StateAvailable {
			t.Fatalf("release of the ended lease not applied: %s", n)
		}
	})
}
