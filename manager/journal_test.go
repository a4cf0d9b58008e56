package manager

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/knmproject/knm"
)

// TestRecover covers the journal rules: an acquire that crashed before the carrier
// answered is undone, one that crashed after it is finished, and an interrupted release
// is finished.
func TestRecover(t *testing.T) {
	forEachStore(t, func(t *testing.T, s knm.Store) {
		ctx := context.Background()
		e, fake, _ := newReleaseEnv(t, s)
		mk := func(in intent, state string) {
			b, _ := json.Marshal(in)
			old := time.Now().Add(-time.Hour)
			if err := s.CreateJournal(ctx, &knm.JournalEntry{ID: in.Op + in.Number + state, Carrier: journalCarrier,
				State: state, Payload: b, Created: old, Updated: old}); err != nil {
				t.Fatal(err)
			}
		}
		target := func(num string, st knm.State, owner string) *knm.Number {
			n := &knm.Number{Number: num, State: st, AssignedTo: owner}
			n.SetModule("knm_fake")
			return n
		}
		// 1. acquire of a discovery number, carrier outcome unknown -> disconnect, rolled back.
		mk(intent{Op: opAcquire, Number: "+14155550001", Module: "knm_fake", Target: target("+14155550001",
			knm.StateInService, accS)}, journalIntent)
		// 2. acquire succeeded at the carrier, store write lost -> number created.
		mk(intent{Op: opAcquire, Number: "+14155550002", Module: "knm_fake", Target: target("+14155550002",
			knm.StateInService, accS)}, journalCarrierDone)
		// 3. release: disconnect sent, write lost -> the release is applied.
		cur := e.put(t, target("+14155550003", knm.StateInService, accS))
		mk(intent{Op: opDisconnect, Number: cur.Number, Module: "knm_fake", ReadRev: cur.Rev,
			Target: target(cur.Number, knm.StateAvailable, "")}, journalIntent)
		// 4. release whose number changed since: superseded.
		cur4 := e.put(t, target("+14155550004", knm.StateInService, accS))
		mk(intent{Op: opDisconnect, Number: cur4.Number, Module: "knm_fake", ReadRev: cur4.Rev + 5,
			Target: target(cur4.Number, knm.StateAvailable, "")}, journalCarrierDone)

		rep, err := e.m.Recover(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if rep != (RecoverReport{Finished: 2, RolledBack: 1, Superseded: 1}) {
			t.Fatalf("report = %+v", rep)
		}
		if fake.disconns.Load() != 2 {
			t.Fatalf("disconnects = %d, want 2 (undo acquire, redo release)", fake.disconns.Load())
		}
		if _, err := s.GetNumber(ctx, "+14155550001"); !isNotFound(err) {
			t.Fatalf("rolled-back acquire stored the number: %v", err)
		}
		if n := e.get(t, "+14155550002"); n.State != knm.StateInService || n.AssignedTo != accS {
			t.Fatalf("finished acquire: %s", n)
		}
		if n := e.get(t, "+14155550003"); n.State != knm.StateAvailable || n.AssignedTo != "" {
			t.Fatalf("finished release: %s", n)
		}
		if n := e.get(t, "+14155550004"); n.State != knm.StateInService {
			t.Fatalf("superseded release touched the number: %s", n)
		}
		// Nothing left to do.
		if rep, _ := e.m.Recover(ctx); rep != (RecoverReport{}) {
			t.Fatalf("second Recover = %+v", rep)
		}
	})
}
