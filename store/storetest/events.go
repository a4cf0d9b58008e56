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

// allEvents returns every event after afterID, in pages of 3 so paging is exercised.
func allEvents(t *testing.T, s knm.Store, afterID int64) []*knm.Event {
	t.Helper()
	var out []*knm.Event
	for {
		page, err := s.Events(context.Background(), afterID, 3)
		must(t, err, "events")
		out = append(out, page...)
		if len(page) < 3 {
			return out
		}
		afterID = page[len(page)-1].ID
	}
}

// eventTypes returns the types of es.
func eventTypes(es []*knm.Event) []string {
	return keysOf(es, func(e *knm.Event) string { return string(e.Type) })
}

// wantNewEvents fails t unless the events after afterID have exactly the types want, and
// returns them.
func wantNewEvents(t *testing.T, s knm.Store, afterID int64, what string, want ...knm.EventType) []*knm.Event {
	t.Helper()
	got := allEvents(t, s, afterID)
	var w []string
	for _, typ := range want {
		w = append(w, string(typ))
	}
	equal(t, what+": event types", eventTypes(got), w)
	return got
}

// testEventPerChange walks a number through its life and checks the one event of each
// change: type, accounts, states, revision, what changed, and increasing ids.
func testEventPerChange(t *testing.T, s knm.Store) {
	ctx := context.Background()
	a, b := accountID(1), accountID(2)
	n := &knm.Number{Number: "+14155550100", State: knm.StateAvailable, ModuleName: "knm_local",
		Public: map[string]json.RawMessage{"note": json.RawMessage(`"x"`)}}
	must(t, s.CreateNumber(ctx, n), "create")
	e := wantNewEvents(t, s, 0, "create", knm.EventNumberCreated)[0]
	if e.ID <= 0 || e.Number != n.Number || e.StateBefore != "" || e.StateAfter != knm.StateAvailable ||
		e.Module != "knm_local" || e.Rev != 1 || e.AccountAfter != "" {
		t.Fatalf("created event = %+v", e)
	}
	equal(t, "created: changed", e.Changed, []string{"module_name", "state"})
	equal(t, "created: public", e.Public, map[string]json.RawMessage{"note": json.RawMessage(`"x"`)})
	if want := Clock(t).Now().Truncate(time.Millisecond); !e.Time.Equal(want) {
		t.Fatalf("event time = %v, want the store clock %v to the millisecond", e.Time, want)
	}
	last := e.ID
	steps := []struct {
		what   string
		change func(n *knm.Number)
		want   knm.EventType
	}{
		{"assign", func(n *knm.Number) { n.State, n.AssignedTo = knm.StateReserved, a }, knm.EventNumberAssigned},
		{"activate", func(n *knm.Number) { n.State = knm.StateInService }, knm.EventNumberStateChanged},
		{"features", func(n *knm.Number) { n.Features = map[string]json.RawMessage{"cnam": json.RawMessage(`{}`)} },
			knm.EventNumberFeaturesChanged},
		{"public", func(n *knm.Number) { n.Public = map[string]json.RawMessage{"cnam": json.RawMessage(`{"a":1}`)} },
			knm.EventNumberUpdated},
		{"move", func(n *knm.Number) { n.AssignedTo, n.PreviouslyAssignedTo = b, a }, knm.EventNumberMoved},
		{"release", func(n *knm.Number) { n.State, n.AssignedTo = knm.StateAvailable, "" }, knm.EventNumberReleased},
	}
	for _, st := range steps {
		Clock(t).Advance(time.Second)
		st.change(n)
		must(t, s.UpdateNumber(ctx, n), st.what)
		e := wantNewEvents(t, s, last, st.what, st.want)[0]
		if e.ID <= last || e.Rev != n.Rev || e.Number != n.Number || e.StateAfter != n.State ||
			e.AccountAfter != n.AssignedTo {
			t.Fatalf("%s: event %+v after number %+v", st.what, e, n)
		}
		last = e.ID
	}
	moved := allEvents(t, s, 0)[5]
	if moved.AccountBefore != a || moved.AccountAfter != b {
		t.Fatalf("moved event accounts %q -> %q, want %q -> %q", moved.AccountBefore, moved.AccountAfter, a, b)
	}
	equal(t, "moved: changed", moved.Changed, []string{"assigned_to", "previously_assigned_to"})
	pub := allEvents(t, s, 0)[4]
	equal(t, "public change", pub.Public, map[string]json.RawMessage{"cnam": json.RawMessage(`{"a":1}`),
		"note": json.RawMessage(`null`)})
	must(t, s.DeleteNumber(ctx, n.Number, n.Rev), "delete")
	del := wantNewEvents(t, s, last, "delete", knm.EventNumberDeleted)[0]
	if del.StateBefore != knm.StateAvailable || del.StateAfter != "" || del.Rev != 0 || del.Module != "knm_local" {
		t.Fatalf("deleted event = %+v", del)
	}
	head, err := s.LastEventID(ctx)
	must(t, err, "last event id")
	if head != del.ID {
		t.Fatalf("LastEventID = %d, want the newest event %d", head, del.ID)
	}
	// An import writes one event per number it stores, none for those it skips.
	must(t, s.CreateNumber(ctx, &knm.Number{Number: "+14155550102", State: knm.StateAvailable}), "create")
	_, err = s.ImportNumbers(ctx, []*knm.Number{{Number: "+14155550103", State: knm.StateAvailable},
		{Number: "+14155550102", State: knm.StateAvailable},
		{Number: "+14155550101", State: knm.StateAvailable, AssignedTo: a}})
	must(t, err, "import")
	imp := wantNewEvents(t, s, head, "import", knm.EventNumberCreated, knm.EventNumberImported, knm.EventNumberImported)
	equal(t, "imported numbers", keysOf(imp[1:], func(e *knm.Event) string { return e.Number }),
		[]string{"+14155550101", "+14155550103"})
	if imp[1].AccountAfter != a || imp[1].Rev != 1 || imp[2].ID != imp[1].ID+1 {
		t.Fatalf("imported events %+v %+v", imp[1], imp[2])
	}
}

// testNoEventWithoutChange makes every kind of write fail and checks that none leaves
// an event behind.
func testNoEventWithoutChange(t *testing.T, s knm.Store) {
	ctx := context.Background()
	n := &knm.Number{Number: "+14155550100", State: knm.StateAvailable}
	must(t, s.CreateNumber(ctx, n), "create")
	head, err := s.LastEventID(ctx)
	must(t, err, "last event id")
	stale := n.Clone()
	n.State = knm.StateReserved
	n.AssignedTo = accountID(1)
	must(t, s.UpdateNumber(ctx, n), "update")
	head++
	stale.State = knm.StateInService
	wantErr(t, s.UpdateNumber(ctx, stale), knm.ErrConflict, "stale update")
	wantErr(t, s.UpdateNumber(ctx, &knm.Number{Number: "+14155550199", Rev: 1, State: knm.StateAvailable}),
		knm.ErrNotFound, "update of a missing number")
	wantErr(t, s.CreateNumber(ctx, &knm.Number{Number: n.Number, State: knm.StateAvailable}), knm.ErrNumberExists,
		"create twice")
	wantErr(t, s.DeleteNumber(ctx, n.Number, 1), knm.ErrConflict, "delete at a stale revision")
	wantErr(t, s.DeleteNumber(ctx, "+14155550199", 1), knm.ErrNotFound, "delete of a missing number")
	_, err = s.ImportNumbers(ctx, []*knm.Number{{Number: "+14155550105", State: knm.StateAvailable}, {Number: ""}})
	wantErr(t, err, knm.ErrInvalid, "import of a bad batch")
	skipped, err := s.ImportNumbers(ctx, []*knm.Number{{Number: n.Number, State: knm.StateAvailable}})
	must(t, err, "import of a stored number")
	equal(t, "skipped", skipped, []string{n.Number})
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if s.CreateNumber(cancelled, &knm.Number{Number: "+14155550106", State: knm.StateAvailable}) == nil {
		t.Fatal("create with a cancelled context succeeded")
	}
	got, err := s.LastEventID(ctx)
	must(t, err, "last event id")
	if evs := allEvents(t, s, 0); got != head || len(evs) != 2 {
		t.Fatalf("failed writes left events: head %d (want %d), events %v", got, head, eventTypes(evs))
	}
}

// testEventsUnderContention has writers race over a few numbers, many writes losing on
// revision conflicts, and checks that the events are exactly the writes that won: one
// per successful write, in each number's revision order, with ids increasing.
func testEventsUnderContention(t *testing.T, s knm.Store) {
	const numbers, writers, writes = 4, 8, 15
	ctx := context.Background()
	for i := range numbers {
		createAvailable(t, s, fmt.Sprintf("+1415555010%d", i))
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		wins = map[string]int64{} // number -> successful updates
		errs []error
	)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range writes {
				num := fmt.Sprintf("+1415555010%d", (w+i)%numbers)
				n, err := s.GetNumber(ctx, num)
				if err == nil {
					n.UsedBy = fmt.Sprintf("w%d-%d", w, i)
					err = s.UpdateNumber(ctx, n)
				}
				mu.Lock()
				switch {
				case err == nil:
					wins[num]++
				case !knm.IsErrorName(err, knm.ErrConflict):
					errs = append(errs, err)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d writes failed other than by conflict, first: %v", len(errs), errs[0])
	}
	revs := map[string]int64{}
	var prev int64
	for _, e := range allEvents(t, s, 0) {
		if e.ID <= prev {
			t.Fatalf("event ids not increasing: %d after %d", e.ID, prev)
		}
		prev = e.ID
		if e.Rev != revs[e.Number]+1 {
			t.Fatalf("events of %s out of order: rev %d after rev %d", e.Number, e.Rev, revs[e.Number])
		}
		revs[e.Number] = e.Rev
	}
	for num, k := range wins {
		if revs[num] != k+1 {
			t.Fatalf("%s: %d successful updates but events up to rev %d", num, k, revs[num])
		}
	}
}

// testEventCursors covers registration, leases, advancing and removal of consumers.
func testEventCursors(t *testing.T, s knm.Store) {
	ctx := context.Background()
	for i := range 3 {
		createAvailable(t, s, fmt.Sprintf("+1415555010%d", i))
	}
	head, err := s.LastEventID(ctx)
	must(t, err, "last event id")
	c, ok, err := s.ClaimEventCursor(ctx, "kazoo_sync", "node-a", time.Minute, -1)
	must(t, err, "claim")
	if !ok || c.LastID != head || c.Owner != "node-a" {
		t.Fatalf("first claim = %+v, %v; want node-a at the newest event %d", c, ok, head)
	}
	c, ok, err = s.ClaimEventCursor(ctx, "kazoo_sync", "node-b", time.Minute, 0)
	must(t, err, "claim by another owner")
	if ok || c.Owner != "node-a" || c.LastID != head {
		t.Fatalf("claim while node-a holds the lease = %+v, %v", c, ok)
	}
	must(t, s.AdvanceEventCursor(ctx, "kazoo_sync", "node-a", head), "advance to the same place")
	wantErr(t, s.AdvanceEventCursor(ctx, "kazoo_sync", "node-b", head), knm.ErrConflict, "advance by a non-owner")
	wantErr(t, s.AdvanceEventCursor(ctx, "kazoo_sync", "node-a", head-1), knm.ErrInvalid, "advance backwards")
	wantErr(t, s.AdvanceEventCursor(ctx, "nobody", "node-a", 1), knm.ErrNotFound, "advance unknown")
	Clock(t).Advance(2 * time.Minute)
	_, ok, err = s.ClaimEventCursor(ctx, "kazoo_sync", "node-b", time.Minute, 0)
	must(t, err, "claim after expiry")
	if !ok {
		t.Fatal("node-b could not take over an expired lease")
	}
	wantErr(t, s.AdvanceEventCursor(ctx, "kazoo_sync", "node-a", head), knm.ErrConflict, "advance after losing the lease")
	c, ok, err = s.ClaimEventCursor(ctx, "replay", "node-a", time.Minute, 0)
	must(t, err, "claim from the start")
	if !ok || c.LastID != 0 {
		t.Fatalf("a consumer registered at 0 = %+v", c)
	}
	cs, err := s.EventCursors(ctx)
	must(t, err, "list")
	equal(t, "consumers", keysOf(cs, func(c *knm.EventCursor) string { return c.Name }), []string{"kazoo_sync", "replay"})
	must(t, s.DeleteEventCursor(ctx, "replay"), "delete")
	wantErr(t, s.DeleteEventCursor(ctx, "replay"), knm.ErrNotFound, "delete twice")
	_, err = s.GetEventCursor(ctx, "replay")
	wantErr(t, err, knm.ErrNotFound, "get deleted")
	_, _, err = s.ClaimEventCursor(ctx, "", "node-a", time.Minute, 0)
	wantErr(t, err, knm.ErrInvalid, "empty name")
}

// testEventRetention purges old events but never one a consumer has not passed, nor one a
// pending delivery needs, and never hands an id out twice.
func testEventRetention(t *testing.T, s knm.Store) {
	ctx := context.Background()
	for i := range 6 {
		createAvailable(t, s, fmt.Sprintf("+1415555010%d", i))
		Clock(t).Advance(time.Hour)
	}
	evs := allEvents(t, s, 0)
	_, _, err := s.ClaimEventCursor(ctx, "slow", "node-a", time.Minute, evs[1].ID)
	must(t, err, "register slow consumer")
	k, err := s.PurgeEvents(ctx, Clock(t).Now())
	must(t, err, "purge")
	if k != 2 || len(allEvents(t, s, 0)) != 4 {
		t.Fatalf("purge with a consumer at event 2 deleted %d events, left %d; want 2 and 4", k, len(allEvents(t, s, 0)))
	}
	must(t, s.DeleteEventCursor(ctx, "slow"), "unregister")
	// Events younger than the cut-off stay.
	k, err = s.PurgeEvents(ctx, evs[4].Time)
	must(t, err, "purge older")
	if k != 2 {
		t.Fatalf("purge before the 5th event deleted %d, want 2", k)
	}
	// A queued delivery keeps its event.
	h := &knm.Webhook{ID: accountID(50), AccountID: accountID(1), URI: "https://example.com/h", HTTPVerb: "post",
		Hook: "numbers", Enabled: true, MaxConcurrency: 1, Secret: "s"}
	must(t, s.CreateWebhook(ctx, h), "create hook")
	head, err := s.LastEventID(ctx)
	must(t, err, "head")
	must(t, s.CreateNumber(ctx, &knm.Number{Number: "+14155550109", State: knm.StateAvailable}), "create")
	fresh := allEvents(t, s, head)
	must(t, s.QueueWebhookDeliveries(ctx, h.ID, head, fresh[0].ID, fresh), "queue")
	Clock(t).Advance(time.Hour)
	_, err = s.PurgeEvents(ctx, Clock(t).Now())
	must(t, err, "purge all")
	equal(t, "events left", eventTypes(allEvents(t, s, 0)), []string{string(knm.EventNumberCreated)})
	must(t, s.DeleteWebhook(ctx, h.ID), "delete hook")
	_, err = s.PurgeEvents(ctx, Clock(t).Now())
	must(t, err, "purge all")
	if left := allEvents(t, s, 0); len(left) != 0 {
		t.Fatalf("%d events left after purging everything", len(left))
	}
	last, err := s.LastEventID(ctx)
	must(t, err, "head after purge")
	must(t, s.CreateNumber(ctx, &knm.Number{Number: "+14155550110", State: knm.StateAvailable}), "create")
	next := allEvents(t, s, 0)
	if last != fresh[0].ID || len(next) != 1 || next[0].ID != last+1 {
		t.Fatalf("after purging everything: head %d (want %d), next event %+v (want id %d)", last, fresh[0].ID, next, last+1)
	}
}

// createAvailable stores an available number.
func createAvailable(t *testing.T, s knm.Store, num string) {
	t.Helper()
	must(t, s.CreateNumber(context.Background(), &knm.Number{Number: num, State: knm.StateAvailable}), "create "+num)
}

// testNumberEvents reads one number's history newest first, in pages, among other
// numbers' events, and nothing of a number that has none.
func testNumberEvents(t *testing.T, s knm.Store) {
	ctx := context.Background()
	const num, other = "+14155550120", "+14155550121"
	n := &knm.Number{Number: num, State: knm.StateAvailable, ModuleName: "knm_local"}
	must(t, s.CreateNumber(ctx, n), "create")
	createAvailable(t, s, other)
	for _, st := range []knm.State{knm.StateReserved, knm.StateInService} {
		n.State, n.AssignedTo = st, accountID(1)
		must(t, s.UpdateNumber(ctx, n), "update "+string(st))
		o, err := s.GetNumber(ctx, other)
		must(t, err, "get other")
		o.State = st
		must(t, s.UpdateNumber(ctx, o), "update other")
	}
	must(t, s.DeleteNumber(ctx, num, n.Rev), "delete")
	want := []string{string(knm.EventNumberDeleted), string(knm.EventNumberStateChanged),
		string(knm.EventNumberAssigned), string(knm.EventNumberCreated)}
	all, err := s.NumberEvents(ctx, num, 0, 10)
	must(t, err, "number events")
	equal(t, "history", eventTypes(all), want)
	for i, e := range all {
		if e.Number != num || (i > 0 && e.ID >= all[i-1].ID) {
			t.Fatalf("event %d = %+v: not %s or not newest first", i, e, num)
		}
	}
	if all[1].StateBefore != knm.StateReserved || all[1].StateAfter != knm.StateInService {
		t.Fatalf("state change event = %+v", all[1])
	}
	first, err := s.NumberEvents(ctx, num, 0, 3)
	must(t, err, "first page")
	rest, err := s.NumberEvents(ctx, num, first[len(first)-1].ID, 3)
	must(t, err, "second page")
	equal(t, "paged history", eventTypes(append(first, rest...)), want)
	none, err := s.NumberEvents(ctx, "+14155550199", 0, 10)
	must(t, err, "no history")
	if len(none) != 0 {
		t.Fatalf("history of a number never stored: %+v", none)
	}
	_, err = s.NumberEvents(ctx, num, 0, 0)
	wantErr(t, err, knm.ErrInvalid, "limit 0")
}
