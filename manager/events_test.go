package manager

import (
	"context"
	"maps"
	"slices"
	"testing"

	"github.com/knmproject/knm"
)

// TestEventsVisibility checks who sees which event: an account sees the events of
// numbers assigned, before or after the change, to itself or a descendant; admins see
// all, including unowned stock.
func TestEventsVisibility(t *testing.T) {
	forEachStore(t, func(t *testing.T, s knm.Store) {
		ctx := context.Background()
		seedAccounts(t, s)
		m, err := New(Options{Store: s})
		if err != nil {
			t.Fatal(err)
		}
		owners := map[string]string{"+14155550101": accS, "+14155550102": accG, "+14155550103": accT,
			"+14155550104": accO, "+14155550105": ""}
		for _, num := range slices.Sorted(maps.Keys(owners)) {
			n := &knm.Number{Number: num, State: knm.StateInService, AssignedTo: owners[num]}
			if owners[num] == "" {
				n.State = knm.StateAvailable
			}
			if err := s.CreateNumber(ctx, n); err != nil {
				t.Fatal(err)
			}
		}
		moved, _ := s.GetNumber(ctx, "+14155550101")
		moved.AssignedTo = accT
		if err := s.UpdateNumber(ctx, moved); err != nil {
			t.Fatal(err)
		}
		// Events: 1 S, 2 G, 3 T, 4 O, 5 unowned, 6 S -> T.
		want := map[string][]int64{
			knm.SystemAccountID: {1, 2, 3, 4, 5, 6},
			accM:                {1, 2, 3, 4, 5, 6},
			accR:                {1, 2, 3, 6},
			accS:                {1, 2, 6},
			accT:                {3, 6},
			accG:                {2},
			accO:                {4},
			"":                  nil,
		}
		for auth, ids := range want {
			got, next, err := m.Events(ctx, auth, 0, 100)
			if err != nil {
				t.Fatal(err)
			}
			if got := eventIDs(got); !slices.Equal(got, ids) || next != 6 {
				t.Errorf("%q sees %v (next %d), want %v (next 6)", auth, got, next, ids)
			}
		}
		// Paging one at a time visits the same events.
		var paged []int64
		for after := int64(0); ; {
			got, next, err := m.Events(ctx, accS, after, 1)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) == 0 {
				break
			}
			paged = append(paged, eventIDs(got)...)
			after = next
		}
		if !slices.Equal(paged, []int64{1, 2, 6}) {
			t.Errorf("paged events of S = %v", paged)
		}
		if _, _, err := m.Events(ctx, accS, 0, 0); !knm.IsErrorName(err, knm.ErrInvalid) {
			t.Errorf("limit 0: %v, want invalid", err)
		}
	})
}

func eventIDs(es []*knm.Event) []int64 {
	var out []int64
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}

// TestNumberEvents: a number's history, newest first and in pages, holds the events the
// caller may see (EventFilter) of a number the caller may read.
func TestNumberEvents(t *testing.T) {
	forEachStore(t, func(t *testing.T, s knm.Store) {
		ctx := context.Background()
		e := newEnv(t, s, Policy{})
		const num = "+14155550131"
		n := e.put(t, &knm.Number{Number: num, State: knm.StateAvailable})
		e.put(t, &knm.Number{Number: "+14155550132", State: knm.StateAvailable})
		for _, change := range []func(){
			func() { n.State, n.AssignedTo = knm.StateReserved, accS },
			func() { n.AssignedTo, n.PreviouslyAssignedTo = accT, accS },
			func() { n.State = knm.StateInService },
		} {
			change()
			if err := s.UpdateNumber(ctx, n); err != nil {
				t.Fatal(err)
			}
		}
		types := func(es []*knm.Event) []knm.EventType {
			var out []knm.EventType
			for _, e := range es {
				out = append(out, e.Type)
			}
			return out
		}
		created, assigned := knm.EventNumberCreated, knm.EventNumberAssigned
		moved, activated := knm.EventNumberMoved, knm.EventNumberStateChanged
		for auth, want := range map[string][]knm.EventType{
			accM: {activated, moved, assigned, created},
			accR: {activated, moved, assigned}, // the unowned number's creation is not its tree's
			accT: {activated, moved},
		} {
			got, older, err := e.m.NumberEvents(ctx, auth, num, 0, 10)
			if err != nil || !slices.Equal(types(got), want) || older != 0 {
				t.Errorf("%s sees %v (older %d, %v), want %v", auth, types(got), older, err, want)
			}
		}
		var paged []knm.EventType
		for before, pages := int64(0), 0; pages < 5; pages++ {
			got, older, err := e.m.NumberEvents(ctx, accT, num, before, 1)
			if err != nil {
				t.Fatal(err)
			}
			paged = append(paged, types(got)...)
			if older == 0 {
				break
			}
			before = older
		}
		if !slices.Equal(paged, []knm.EventType{activated, moved}) {
			t.Errorf("T's history one at a time = %v", paged)
		}
		_, _, err := e.m.NumberEvents(ctx, accS, num, 0, 10)
		wantErr(t, err, knm.ErrForbidden, "")
		_, _, err = e.m.NumberEvents(ctx, accM, num, 0, 0)
		wantErr(t, err, knm.ErrInvalid, "limit")
	})
}
