package manager

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/knmproject/knm"
)

const tnum = "+14155550100"

// moveCase is one cell of Kazoo's transition table: a number in state from (and owner,
// history, module) moved to state to for assignTo on behalf of auth, and what must follow.
type moveCase struct {
	name     string
	from     knm.State // "" with discovery: only in the search cache
	owner    string
	history  []string
	module   string
	auth     string
	assignTo string
	to       knm.State
	// want
	err      knm.ErrorName
	cause    string
	state    knm.State
	newOwner string
	acquires int32
	unchange bool // nothing written
	wantHist []string
}

// moveTable transcribes kazoo-knm §3.4 cell by cell, allowed and refused; it is long
// because the table is.
func moveTable() []moveCase {
	S, T, R, M, O := accS, accT, accR, accM, accO
	return []moveCase{
		// -> in_service
		{name: "in_service<-in_service same owner", from: knm.StateInService, owner: S, auth: S, assignTo: S,
			to: knm.StateInService, state: knm.StateInService, newOwner: S, unchange: true},
		{name: "in_service<-in_service owner gives away", from: knm.StateInService, owner: S, auth: S, assignTo: T,
			to: knm.StateInService, state: knm.StateInService, newOwner: T},
		{name: "in_service<-in_service reseller moves", from: knm.StateInService, owner: S, auth: R, assignTo: T,
			to: knm.StateInService, state: knm.StateInService, newOwner: T},
		{name: "in_service<-in_service sibling refused", from: knm.StateInService, owner: S, auth: T, assignTo: T,
			to: knm.StateInService, err: knm.ErrForbidden},
		{name: "in_service<-discovery", from: knm.StateDiscovery, auth: S, assignTo: S, to: knm.StateInService,
			state: knm.StateInService, newOwner: S, acquires: 1},
		{name: "in_service<-discovery by parent", from: knm.StateDiscovery, auth: R, assignTo: S,
			to: knm.StateInService, state: knm.StateInService, newOwner: S, acquires: 1},
		{name: "in_service<-discovery for another account refused", from: knm.StateDiscovery, auth: T, assignTo: S,
			to: knm.StateInService, err: knm.ErrForbidden},
		{name: "in_service<-port_in", from: knm.StatePortIn, owner: S, auth: S, assignTo: S, to: knm.StateInService,
			state: knm.StateInService, newOwner: S},
		{name: "in_service<-port_in sibling refused", from: knm.StatePortIn, owner: S, auth: T, assignTo: T,
			to: knm.StateInService, err: knm.ErrForbidden},
		{name: "in_service<-available anyone", from: knm.StateAvailable, auth: T, assignTo: T, to: knm.StateInService,
			state: knm.StateInService, newOwner: T},
		{name: "in_service<-aging anyone", from: knm.StateAging, auth: O, assignTo: O, to: knm.StateInService,
			state: knm.StateInService, newOwner: O},
		{name: "in_service<-reserved by owner", from: knm.StateReserved, owner: S, history: []string{S}, auth: S,
			assignTo: S, to: knm.StateInService, state: knm.StateInService, newOwner: S},
		{name: "in_service<-reserved from parent", from: knm.StateReserved, owner: R, history: []string{R}, auth: S,
			assignTo: S, to: knm.StateInService, state: knm.StateInService, newOwner: S},
		{name: "in_service<-reserved by admin owner", from: knm.StateReserved, owner: M, history: []string{M}, auth: O,
			assignTo: O, to: knm.StateInService, state: knm.StateInService, newOwner: O},
		{name: "in_service<-reserved by sibling refused", from: knm.StateReserved, owner: T, history: []string{T},
			auth: S, assignTo: S, to: knm.StateInService, err: knm.ErrForbidden},
		{name: "in_service<-released refused", from: knm.StateReleased, auth: S, assignTo: S, to: knm.StateInService,
			err: knm.ErrInvalidStateTransition, cause: "from released to in_service"},
		{name: "in_service<-port_out refused", from: knm.StatePortOut, owner: S, auth: S, assignTo: S,
			to: knm.StateInService, err: knm.ErrInvalidStateTransition, cause: "from port_out to in_service"},
		{name: "mdn in_service<-available refused", from: knm.StateAvailable, module: "knm_mdn", auth: M, assignTo: S,
			to: knm.StateInService, err: knm.ErrInvalidStateTransition, cause: "from available to in_service"},
		{name: "mdn in_service<-in_service allowed", from: knm.StateInService, owner: S, module: "knm_mdn", auth: S,
			assignTo: S, to: knm.StateInService, state: knm.StateInService, newOwner: S, unchange: true},
		// -> reserved
		{name: "reserved<-reserved no assignee", from: knm.StateReserved, owner: S, history: []string{S}, auth: S,
			assignTo: "", to: knm.StateReserved, err: knm.ErrForbidden},
		{name: "reserved<-reserved same owner", from: knm.StateReserved, owner: S, history: []string{S}, auth: S,
			assignTo: S, to: knm.StateReserved, err: knm.ErrNoChangeRequired},
		{name: "reserved<-reserved to another", from: knm.StateReserved, owner: R, history: []string{R}, auth: R,
			assignTo: S, to: knm.StateReserved, state: knm.StateReserved, newOwner: S, acquires: 1,
			wantHist: []string{S, R}},
		{name: "reserved<-reserved unauthorized", from: knm.StateReserved, owner: R, history: []string{R}, auth: S,
			assignTo: S, to: knm.StateReserved, err: knm.ErrForbidden},
		{name: "reserved<-discovery", from: knm.StateDiscovery, auth: S, assignTo: S, to: knm.StateReserved,
			state: knm.StateReserved, newOwner: S, acquires: 1, wantHist: []string{S}},
		{name: "reserved<-discovery refused", from: knm.StateDiscovery, auth: T, assignTo: S, to: knm.StateReserved,
			err: knm.ErrForbidden},
		{name: "reserved<-available", from: knm.StateAvailable, auth: S, assignTo: S, to: knm.StateReserved,
			state: knm.StateReserved, newOwner: S, wantHist: []string{S}},
		{name: "reserved<-available for another refused", from: knm.StateAvailable, auth: T, assignTo: S,
			to: knm.StateReserved, err: knm.ErrForbidden},
		{name: "reserved<-in_service", from: knm.StateInService, owner: S, auth: S, assignTo: S, to: knm.StateReserved,
			state: knm.StateReserved, newOwner: S, wantHist: []string{S}},
		{name: "reserved<-in_service refused", from: knm.StateInService, owner: S, auth: T, assignTo: T,
			to: knm.StateReserved, err: knm.ErrForbidden},
		{name: "reserved<-port_in refused", from: knm.StatePortIn, owner: S, auth: S, assignTo: S,
			to: knm.StateReserved, err: knm.ErrInvalidStateTransition, cause: "from port_in to reserved"},
		{name: "reserved<-aging refused", from: knm.StateAging, auth: M, assignTo: S, to: knm.StateReserved,
			err: knm.ErrInvalidStateTransition, cause: "from aging to reserved"},
		{name: "mdn reserved refused", from: knm.StateInService, owner: S, module: "knm_mdn", auth: S, assignTo: S,
			to: knm.StateReserved, err: knm.ErrInvalidStateTransition, cause: "from 'MDN' to reserved"},
		// -> available
		{name: "available<-available admin", from: knm.StateAvailable, auth: M, assignTo: S, to: knm.StateAvailable,
			state: knm.StateAvailable, newOwner: ""},
		{name: "available<-available refused", from: knm.StateAvailable, auth: T, assignTo: S, to: knm.StateAvailable,
			err: knm.ErrForbidden},
		{name: "available<-in_service refused", from: knm.StateInService, owner: S, auth: M, assignTo: S,
			to: knm.StateAvailable, err: knm.ErrInvalidStateTransition, cause: "from in_service to available"},
		{name: "mdn available refused", from: knm.StateAvailable, module: "knm_mdn", auth: M, assignTo: S,
			to: knm.StateAvailable, err: knm.ErrInvalidStateTransition, cause: "from 'MDN' to available"},
		// -> aging
		{name: "aging<-aging", from: knm.StateAging, auth: S, to: knm.StateAging, state: knm.StateAging},
		{name: "aging<-released", from: knm.StateReleased, auth: S, to: knm.StateAging, state: knm.StateAging},
		{name: "aging<-available", from: knm.StateAvailable, auth: S, to: knm.StateAging, state: knm.StateAging},
		{name: "aging<-in_service refused", from: knm.StateInService, owner: S, auth: S, assignTo: S,
			to: knm.StateAging, err: knm.ErrInvalidStateTransition, cause: "from in_service to aging"},
		{name: "mdn aging refused", from: knm.StateAvailable, module: "knm_mdn", auth: M, to: knm.StateAging,
			err: knm.ErrInvalidStateTransition, cause: "from 'MDN' to aging"},
		// -> port_in
		{name: "port_in<-port_in", from: knm.StatePortIn, owner: S, auth: S, assignTo: S, to: knm.StatePortIn,
			state: knm.StatePortIn, newOwner: S},
		{name: "port_in<-available refused", from: knm.StateAvailable, auth: M, assignTo: S, to: knm.StatePortIn,
			err: knm.ErrInvalidStateTransition, cause: "from available to port_in"},
		{name: "mdn port_in refused", from: knm.StatePortIn, owner: S, module: "knm_mdn", auth: S, assignTo: S,
			to: knm.StatePortIn, err: knm.ErrInvalidStateTransition, cause: "from 'MDN' to port_in"},
		// other targets
		{name: "released target refused", from: knm.StateInService, owner: S, auth: M, assignTo: S,
			to: knm.StateReleased, err: knm.ErrInvalidStateTransition, cause: "from in_service to released"},
		{name: "port_out target refused", from: knm.StateInService, owner: S, auth: M, assignTo: S,
			to: knm.StatePortOut, err: knm.ErrInvalidStateTransition, cause: "from in_service to port_out"},
		{name: "deleted target refused", from: knm.StateAvailable, auth: M, assignTo: S, to: knm.StateDeleted,
			err: knm.ErrInvalidStateTransition, cause: "from available to deleted"},
		{name: "discovery target refused", from: knm.StateAvailable, auth: M, assignTo: S, to: knm.StateDiscovery,
			err: knm.ErrInvalidStateTransition, cause: "from available to discovery"},
	}
}

// TestMoveTable covers every cell of kazoo-knm §3.4, allowed and refused.
func TestMoveTable(t *testing.T) {
	cases := moveTable()
	forEachStore(t, func(t *testing.T, s knm.Store) {
		ctx := context.Background()
		fake := newFake("knm_fake")
		e := newEnv(t, s, Policy{}, fake)
		for i, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				num := "+1415555" + string(rune('0'+i/100)) + string(rune('0'+i/10%10)) + string(rune('0'+i%10)) + "0"
				module := c.module
				if module == "" {
					module = "knm_fake"
				}
				var before *knm.Number
				if c.from == knm.StateDiscovery {
					rows := []knm.SearchRow{{Number: num, Module: module, State: knm.StateDiscovery}}
					if err := s.PutSearch(ctx, "q-"+num, rows, time.Now().Add(time.Hour)); err != nil {
						t.Fatal(err)
					}
				} else {
					n := &knm.Number{Number: num, State: c.from, AssignedTo: c.owner, ReserveHistory: c.history}
					n.SetModule(module)
					before = e.put(t, n)
				}
				acq := fake.acquires.Load()
				got, err := e.m.Move(ctx, c.auth, num, c.assignTo, c.to)
				wantErr(t, err, c.err, c.cause)
				if d := fake.acquires.Load() - acq; d != c.acquires {
					t.Errorf("acquires = %d, want %d", d, c.acquires)
				}
				if c.err != "" {
					if before != nil && e.get(t, num).Rev != before.Rev {
						t.Errorf("a refused move changed the stored number")
					}
					return
				}
				stored := e.get(t, num)
				if got.State != c.state || stored.State != c.state || stored.AssignedTo != c.newOwner {
					t.Errorf("got %s, stored %s; want state %s owner %q", got, stored, c.state, c.newOwner)
				}
				if c.unchange && stored.Rev != before.Rev {
					t.Errorf("no-change move wrote the number (rev %d -> %d)", before.Rev, stored.Rev)
				}
				if c.wantHist != nil && !slices.Equal(stored.ReserveHistory, c.wantHist) {
					t.Errorf("reserve history = %v, want %v", stored.ReserveHistory, c.wantHist)
				}
				if before != nil && before.AssignedTo != "" && stored.AssignedTo != before.AssignedTo &&
					stored.PreviouslyAssignedTo != before.AssignedTo {
					t.Errorf("previously_assigned_to = %q, want %q", stored.PreviouslyAssignedTo, before.AssignedTo)
				}
			})
		}
	})
}

// TestMoveNotFound: a number neither stored nor in the search cache.
func TestMoveNotFound(t *testing.T) {
	forEachStore(t, func(t *testing.T, s knm.Store) {
		e := newEnv(t, s, Policy{})
		_, err := e.m.Activate(context.Background(), accS, tnum, accS)
		wantErr(t, err, knm.ErrNotFound, tnum)
		_, err = e.m.Activate(context.Background(), accS, "abc", accS)
		wantErr(t, err, knm.ErrNotReconcilable, "")
		_, err = e.m.Activate(context.Background(), accS, tnum, "not-an-account")
		wantErr(t, err, knm.ErrAssignFailure, "")
	})
}

// TestDiscoveryActivation: an activated search result is acquired exactly once, stored
// with the carrier's module and data, and a failing acquire stores nothing.
func TestDiscoveryActivation(t *testing.T) {
	forEachStore(t, func(t *testing.T, s knm.Store) {
		ctx := context.Background()
		fake := newFake("knm_fake", knm.SearchRow{Number: tnum, Module: "knm_fake", State: knm.StateDiscovery,
			CarrierData: []byte(`{"id":7}`)})
		e := newEnv(t, s, Policy{CarrierModules: []string{"knm_fake"}}, fake)
		if _, err := e.m.Search(ctx, SearchRequest{Prefix: "415", Quantity: 5, AccountID: accS,
			ResellerID: accR}); err != nil {
			t.Fatal(err)
		}
		n, err := e.m.Activate(ctx, accS, tnum, accS)
		if err != nil {
			t.Fatal(err)
		}
		if got := fake.acquires.Load(); got != 1 {
			t.Fatalf("AcquireNumber called %d times, want 1", got)
		}
		stored := e.get(t, tnum)
		if stored.State != knm.StateInService || stored.AssignedTo != accS || stored.ModuleName != "knm_fake" ||
			string(stored.CarrierData) != `{"id":7}` || n.Rev != stored.Rev {
			t.Fatalf("stored %+v", stored)
		}
		// Activating again: in_service <- in_service for the same owner, no carrier call.
		if _, err := e.m.Activate(ctx, accS, tnum, accS); err != nil {
			t.Fatal(err)
		}
		if got := fake.acquires.Load(); got != 1 {
			t.Fatalf("AcquireNumber called %d times, want 1", got)
		}
		js, _ := s.FindJournals(ctx, knm.JournalFilter{Carrier: journalCarrier})
		if len(js) != 1 || js[0].State != journalDone {
			t.Fatalf("journal = %+v, want one done entry", js)
		}

		// A carrier failure is Kazoo's "fault by carrier" and stores nothing.
		const other = "+14155550199"
		fake.acquireErr = knm.Errorf(knm.ErrCarrier, "out of stock")
		s.PutSearch(ctx, "q2", []knm.SearchRow{{Number: other, Module: "knm_fake", State: knm.StateDiscovery}},
			time.Now().Add(time.Hour))
		_, err = e.m.Activate(ctx, accS, other, accS)
		wantErr(t, err, knm.ErrUnspecifiedFault, other)
		if _, err := s.GetNumber(ctx, other); !isNotFound(err) {
			t.Fatalf("failed acquire stored the number: %v", err)
		}
	})
}
