package manager

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/knmproject/knm"
)

// releaseCase is one row of TestRelease.
type releaseCase struct {
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
}

// releaseCases transcribe kazoo-knm §3.5 "Release" and §3.6 row by row.
var releaseCases = []releaseCase{
	{name: "in_service to available", n: knm.Number{State: knm.StateInService, AssignedTo: accS}, auth: accS,
		state: knm.StateAvailable, disconnect: 1},
	{name: "reserved to available", n: knm.Number{State: knm.StateReserved, AssignedTo: accS,
		ReserveHistory: []string{accS}}, auth: accS, state: knm.StateAvailable, disconnect: 1},
	{name: "port_in", n: knm.Number{State: knm.StatePortIn, AssignedTo: accS}, auth: accS,
		state: knm.StateAvailable, disconnect: 1},
	{name: "released", n: knm.Number{State: knm.StateReleased, AssignedTo: accS}, auth: accS,
		state: knm.StateAvailable, disconnect: 1},
	{name: "unwind to the reserving parent", n: knm.Number{State: knm.StateInService, AssignedTo: accS,
		ReserveHistory: []string{accS, accR}}, auth: accS, state: knm.StateReserved, owner: accR,
		history: []string{accR}},
	{name: "unwind three deep", n: knm.Number{State: knm.StateReserved, AssignedTo: accG,
		ReserveHistory: []string{accG, accS, accR}}, auth: accG, state: knm.StateReserved, owner: accS,
		history: []string{accS, accR}},
	{name: "should_age", pol: Policy{ShouldAge: true}, n: knm.Number{State: knm.StateInService, AssignedTo: accS},
		auth: accS, state: knm.StateAging, disconnect: 1},
	{name: "released_state released", pol: Policy{ReleasedState: "released", ShouldAge: true},
		n: knm.Number{State: knm.StateInService, AssignedTo: accS}, auth: accS, state: knm.StateReleased,
		disconnect: 1},
	{name: "should_permanently_delete", pol: Policy{ShouldPermanentlyDelete: true},
		n: knm.Number{State: knm.StateInService, AssignedTo: accS}, auth: accS, deleted: true, disconnect: 1},
	{name: "carrier takes the number back", n: knm.Number{State: knm.StateInService, AssignedTo: accS,
		ModuleName: "knm_returning"}, auth: accS, deleted: true, disconnect: 1},
	{name: "carrier takes back, but a reserving parent keeps it", n: knm.Number{State: knm.StateInService,
		AssignedTo: accS, ModuleName: "knm_returning", ReserveHistory: []string{accS, accR}}, auth: accS,
		state: knm.StateReserved, owner: accR, history: []string{accR}},
	{name: "local deleted", n: knm.Number{State: knm.StateInService, AssignedTo: accS, ModuleName: "knm_local"},
		auth: accS, deleted: true},
	{name: "local available by admin", n: knm.Number{State: knm.StateAvailable, ModuleName: "knm_local"},
		auth: accM, deleted: true},
	{name: "local available by account refused", n: knm.Number{State: knm.StateAvailable, ModuleName: "knm_local"},
		auth: accS, err: knm.ErrForbidden},
	{name: "from available refused", n: knm.Number{State: knm.StateAvailable}, auth: accM,
		err: knm.ErrInvalidStateTransition, cause: "from available to released"},
	{name: "from aging refused", n: knm.Number{State: knm.StateAging}, auth: accM,
		err: knm.ErrInvalidStateTransition, cause: "from aging to released"},
	{name: "from port_out refused", n: knm.Number{State: knm.StatePortOut, AssignedTo: accS}, auth: accS,
		err: knm.ErrInvalidStateTransition, cause: "from port_out to released"},
	{name: "sibling refused", n: knm.Number{State: knm.StateInService, AssignedTo: accS}, auth: accT,
		err: knm.ErrForbidden},
}

// TestRelease covers kazoo-knm §3.5 "Release" and §3.6: allowed-from states, reserve
// history unwinding, disconnect once unowned, local numbers deleted, should_age,
// released_state and should_permanently_delete.
func TestRelease(t *testing.T) {
	forEachStore(t, func(t *testing.T, s knm.Store) {
		ctx := context.Background()
		e, fake, returning := newReleaseEnv(t, s)
		for i, tt := range releaseCases {
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
					t.Fatalf("stored %s history %v; want %s owner %q history %v", st, st.ReserveHistory, tt.state,
						tt.owner, tt.history)
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
