package manager

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/knmproject/knm"
)

// TestRelease covers kazoo-knm §3.5 "Release" and §3.6: allowed-from states, reserve
// history unwinding, disconnect once unowned, local numbers deleted, should_age,
// released_state and should_permanently_delete.
func TestRelease(t *testing.T) {
	tests := []struct {
		name       string
		pol        Policy
		n          knm.Number
		auth       string
		err        knm.ErrorName
		cause      string
		deleted    bool
		state      knm.State
		owner      string
		history    []string
		disconnect int32
	}{
		{name: "in_service to available", n: knm.Number{State: knm.StateInService, AssignedTo: accS}, auth: accS, state: knm.StateAvailable, disconnect: 1},
		{name: "reserved to available", n: knm.Number{State: knm.StateReserved, AssignedTo: accS, ReserveHistory: []string{accS}}, auth: accS, state: knm.StateAvailable, disconnect: 1},
		{name: "port_in", n: knm.Number{State: knm.StatePortIn, AssignedTo: accS}, auth: accS, state: knm.StateAvailable, disconnect: 1},
		{name: "released", n: knm.Number{State: knm.StateReleased, AssignedTo: accS}, auth: accS, state: knm.StateAvailable, disconnect: 1},
		{name: "unwind to the reserving parent", n: knm.Number{State: knm.StateInService, AssignedTo: accS, ReserveHistory: []string{accS, accR}}, auth: accS, state: knm.StateReserved, owner: accR, history: []string{accR}},
		{name: "unwind three deep", n: knm.Number{State: knm.StateReserved, AssignedTo: accG, ReserveHistory: []string{accG, accS, accR}}, auth: accG, state: knm.StateReserved, owner: accS, history: []string{accS, accR}},
		{name: "should_age", pol: Policy{ShouldAge: true}, n: knm.Number{State: knm.StateInService, AssignedTo: accS}, auth: accS, state: knm.StateAging, disconnect: 1},
		{name: "released_state released", pol: Policy{ReleasedState: "released", ShouldAge: true}, n: knm.Number{State: knm.StateInService, AssignedTo: accS}, auth: accS, state: knm.StateReleased, disconnect: 1},
		{name: "should_permanently_delete", pol: Policy{ShouldPermanentlyDelete: true}, n: knm.Number{State: knm.StateInService, AssignedTo: accS}, auth: accS, deleted: true, disconnect: 1},
		{name: "carrier takes the number back", n: knm.Number{State: knm.StateInService, AssignedTo: accS, ModuleName: "knm_returning"}, auth: accS, deleted: true, disconnect: 1},
		{name: "carrier takes back, but a reserving parent keeps it", n: knm.Number{State: knm.StateInService, AssignedTo: accS, ModuleName: "knm_returning", ReserveHistory: []string{accS, accR}}, auth: accS, state: knm.StateReserved, owner: accR, history: []string{accR}},
		{name: "local deleted", n: knm.Number{State: knm.StateInService, AssignedTo: accS, ModuleName: "knm_local"}, auth: accS, deleted: true},
		{name: "local available by admin", n: knm.Number{State: knm.StateAvailable, ModuleName: "knm_local"}, auth: accM, deleted: true},
		{name: "local available by account refused", n: knm.Number{State: knm.StateAvailable, ModuleName: "knm_local"}, auth: accS, err: knm.ErrForbidden},
		{name: "from available refused", n: knm.Number{State: knm.StateAvailable}, auth: accM, err: knm.ErrInvalidStateTransition, cause: "from available to released"},
		{name: "from aging refused", n: knm.Number{State: knm.StateAging}, auth: accM, err: knm.ErrInvalidStateTransition, cause: "from aging to released"},
		{name: "from port_out refused", n: knm.Number{State: knm.StatePortOut, AssignedTo: accS}, auth: accS, err: knm.ErrInvalidStateTransition, cause: "from port_out to released"},
		{name: "sibling refused", n: knm.Number{State: knm.StateInService, AssignedTo: accS}, auth: accT, err: knm.ErrForbidden},
	}
	forEachStore(t, func(t *testing.T, s knm.Store) {
		ctx := context.Background()
		fake := newFake("knm_fake")
		returning := newFake("knm_returning")
		returning.returns = true
		e := newEnv(t, s, Policy{}, fake, returning)
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				e.pol = tt.pol
				num := fmt.Sprintf("+1512555%04d", i)
				n := tt.n
				n.Number = num
				n.Features = map[string]json.RawMessage{"e911": []byte(`{}`)}
				n.Public = map[string]json.RawMessage{"cnam": []byte(`{}`)}
				if n.ModuleName == "" {
					n.ModuleName = "knm_fake"
				}
				n.SetModule(n.ModuleName)
				e.put(t, &n)
				d0 := fake.disconns.Load() + returning.disconns.Load()
				got, err := e.m.Release(ctx, tt.auth, num)
				wantErr(t, err, tt.err, tt.cause)
				if d := fake.disconns.Load() + returning.disconns.Load() - d0; d != tt.disconnect {
					t.Errorf("disconnects = %d, want %d", d, tt.disconnect)
				}
				if err != nil {
					return
				}
				st, gerr := s.GetNumber(ctx, num)
				if tt.deleted {
					if !isNotFound(gerr) || got != nil {
						t.Fatalf("want deleted, got %v / %v", st, gerr)
					}
					return
				}
				if gerr != nil {
					t.Fatal(gerr)
				}
				if st.State != tt.state || st.AssignedTo != tt.owner || !slices.Equal(st.ReserveHistory, tt.history) {
					t.Fatalf("stored %s history %v; want %s owner %q history %v", st, st.ReserveHistory, tt.state, tt.owner, tt.history)
				}
				if st.Features["e911"] != nil || st.Public != nil || st.ModuleName != n.ModuleName {
					t.Fatalf("features/public not reset or module lost: %+v", st)
				}
			})
		}
	})
}

// TestReserveThenRelease: a reseller reserves, a sub-account takes it, releasing gives it
// back to the reseller, and releasing again frees it.
func TestReserveThenRelease(t *testing.T) {
	forEachStore(t, func(t *testing.T, s knm.Store) {
		ctx := context.Background()
		e := newEnv(t, s, Policy{}, newFake("knm_fake"))
		e.put(t, &knm.Number{Number: tnum, State: knm.StateAvailable})
		steps := []struct {
			do    func() (*knm.Number, error)
			state knm.State
			owner string
		}{
			{func() (*knm.Number, error) { return e.m.Reserve(ctx, accR, tnum, accR) }, knm.StateReserved, accR},
			{func() (*knm.Number, error) { return e.m.Reserve(ctx, accR, tnum, accS) }, knm.StateReserved, accS},
			{func() (*knm.Number, error) { return e.m.Activate(ctx, accS, tnum, accS) }, knm.StateInService, accS},
			{func() (*knm.Number, error) { return e.m.Release(ctx, accS, tnum) }, knm.StateReserved, accR},
			{func() (*knm.Number, error) { return e.m.Release(ctx, accR, tnum) }, knm.StateAvailable, ""},
		}
		for i, st := range steps {
			n, err := st.do()
			if err != nil {
				t.Fatalf("step %d: %v", i, err)
			}
			if n.State != st.state || n.AssignedTo != st.owner {
				t.Fatalf("step %d: %s, want %s %q", i, n, st.state, st.owner)
			}
		}
	})
}

// TestUpdatePatchDelete covers public-field edits and hard delete.
func TestUpdatePatchDelete(t *testing.T) {
	forEachStore(t, func(t *testing.T, s knm.Store) {
		ctx := context.Background()
		e := newEnv(t, s, Policy{})
		e.put(t, &knm.Number{Number: tnum, State: knm.StateInService, AssignedTo: accS})
		raw := func(v string) json.RawMessage { return json.RawMessage(v) }
		if _, err := e.m.Update(ctx, accS, tnum, map[string]json.RawMessage{"a": raw(`1`), "b": raw(`2`), "id": raw(`"x"`)}); err != nil {
			t.Fatal(err)
		}
		n, err := e.m.Patch(ctx, accS, tnum, map[string]json.RawMessage{"b": raw(`null`), "c": raw(`3`)})
		if err != nil {
			t.Fatal(err)
		}
		if len(n.Public) != 2 || string(e.get(t, tnum).Public["c"]) != "3" || e.get(t, tnum).Public["b"] != nil {
			t.Fatalf("public = %v", e.get(t, tnum).Public)
		}
		_, err = e.m.Update(ctx, accT, tnum, nil)
		wantErr(t, err, knm.ErrForbidden, "")
		if _, err := e.m.Update(ctx, accS, tnum, map[string]json.RawMessage{"z": raw(`0`)}); err != nil {
			t.Fatal(err)
		}
		if p := e.get(t, tnum).Public; len(p) != 1 || p["z"] == nil {
			t.Fatalf("update did not replace: %v", p)
		}
		wantErr(t, e.m.Delete(ctx, accR, tnum), knm.ErrForbidden, "")
		wantErr(t, e.m.Delete(ctx, accM, tnum), "", "")
		wantErr(t, e.m.Delete(ctx, accM, tnum), knm.ErrNotFound, "")
	})
}

// TestList covers listing by owner and its permissions.
func TestList(t *testing.T) {
	forEachStore(t, func(t *testing.T, s knm.Store) {
		ctx := context.Background()
		e := newEnv(t, s, Policy{})
		for i := range 5 {
			e.put(t, &knm.Number{Number: fmt.Sprintf("+1415555010%d", i), State: knm.StateInService, AssignedTo: accS})
		}
		e.put(t, &knm.Number{Number: "+14155550200", State: knm.StateInService, AssignedTo: accT})
		ns, total, err := e.m.List(ctx, accR, accS, ListFilter{Limit: 2})
		if err != nil || total != 5 || len(ns) != 2 {
			t.Fatalf("List = %d of %d, %v", len(ns), total, err)
		}
		_, _, err = e.m.List(ctx, accT, accS, ListFilter{})
		wantErr(t, err, knm.ErrForbidden, "")
		_, _, err = e.m.List(ctx, accS, "", ListFilter{})
		wantErr(t, err, knm.ErrForbidden, "")
		if _, total, _ := e.m.List(ctx, accM, "", ListFilter{}); total != 6 {
			t.Fatalf("admin total = %d", total)
		}
	})
}

// TestRecover covers the journal rules: an acquire that crashed before the carrier
// answered is undone, one that crashed after it is finished, and an interrupted release
// is finished.
func TestRecover(t *testing.T) {
	forEachStore(t, func(t *testing.T, s knm.Store) {
		ctx := context.Background()
		fake := newFake("knm_fake")
		returning := newFake("knm_returning")
		returning.returns = true
		e := newEnv(t, s, Policy{}, fake, returning)
		mk := func(in intent, state string) {
			b, _ := json.Marshal(in)
			old := time.Now().Add(-time.Hour)
			if err := s.CreateJournal(ctx, &knm.JournalEntry{ID: in.Op + in.Number + state, Carrier: journalCarrier, State: state, Payload: b, Created: old, Updated: old}); err != nil {
				t.Fatal(err)
			}
		}
		target := func(num string, st knm.State, owner string) *knm.Number {
			n := &knm.Number{Number: num, State: st, AssignedTo: owner}
			n.SetModule("knm_fake")
			return n
		}
		// 1. acquire of a discovery number, carrier outcome unknown -> disconnect, rolled back.
		mk(intent{Op: opAcquire, Number: "+14155550001", Module: "knm_fake", Target: target("+14155550001", knm.StateInService, accS)}, journalIntent)
		// 2. acquire succeeded at the carrier, store write lost -> number created.
		mk(intent{Op: opAcquire, Number: "+14155550002", Module: "knm_fake", Target: target("+14155550002", knm.StateInService, accS)}, journalCarrierDone)
		// 3. release: disconnect sent, write lost -> the release is applied.
		cur := e.put(t, target("+14155550003", knm.StateInService, accS))
		mk(intent{Op: opDisconnect, Number: cur.Number, Module: "knm_fake", ReadRev: cur.Rev, Target: target(cur.Number, knm.StateAvailable, "")}, journalIntent)
		// 4. release whose number changed since: superseded.
		cur4 := e.put(t, target("+14155550004", knm.StateInService, accS))
		mk(intent{Op: opDisconnect, Number: cur4.Number, Module: "knm_fake", ReadRev: cur4.Rev + 5, Target: target(cur4.Number, knm.StateAvailable, "")}, journalCarrierDone)

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
