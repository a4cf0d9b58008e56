package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/knmproject/knm"
)

// testCrashBetweenChangeAndDelivery: an instance commits changes and dies before
// delivering them; the restarted instance delivers them. One delivery was in flight when
// the instance died (the receiver got it, the acknowledgement was lost): it is sent again
// under the same dedup id (hook, event), so a receiver that deduplicates sees every event
// exactly once.
func testCrashBetweenChangeAndDelivery(t *testing.T, open func() knm.Store) {
	ctx := context.Background()
	s := open()
	h := newHook(1, 1)
	must(t, s.CreateWebhook(ctx, h), "create hook")
	for i := range 3 {
		n := &knm.Number{Number: fmt.Sprintf("+1415555010%d", i), State: knm.StateAvailable}
		must(t, s.CreateNumber(ctx, n), "create")
		n.State, n.AssignedTo = knm.StateInService, accountID(1)
		must(t, s.UpdateNumber(ctx, n), "update")
	}
	want := allEvents(t, s, 0)
	received := map[string]int{} // the receiver, by dedup id
	deliver := func(d *knm.WebhookDelivery) { received[fmt.Sprintf("%s-%d", d.HookID, d.Event.ID)]++ }

	queueAll(t, s, h.ID)
	inFlight, err := s.ClaimWebhookDeliveries(ctx, h.ID, "node-a", time.Minute)
	must(t, err, "claim before the crash")
	equal(t, "in flight at the crash", len(inFlight), 1)
	deliver(inFlight[0])
	s.Close() // crash: node-a never records the delivery

	s = open()
	Clock(t).Advance(2 * time.Minute) // node-a's lease expires
	for round := 0; ; round++ {
		if round > 3*len(want) {
			t.Fatal("deliveries do not drain")
		}
		queueAll(t, s, h.ID)
		ds, err := s.ClaimWebhookDeliveries(ctx, h.ID, "node-b", time.Minute)
		must(t, err, "claim after the restart")
		if len(ds) == 0 {
			break
		}
		for _, d := range ds {
			deliver(d)
			must(t, s.CompleteWebhookDelivery(ctx, h.ID, d.Event.ID), "complete")
		}
	}
	for _, e := range want {
		id := fmt.Sprintf("%s-%d", h.ID, e.ID)
		if wantN := map[bool]int{true: 2, false: 1}[e.ID == inFlight[0].Event.ID]; received[id] != wantN {
			t.Errorf("event %d (%s) received %d times, want %d", e.ID, e.Type, received[id], wantN)
		}
	}
	if len(received) != len(want) {
		t.Errorf("received %d distinct deliveries, want %d", len(received), len(want))
	}
	got, err := s.GetWebhook(ctx, h.ID)
	must(t, err, "get hook")
	if got.Pending != 0 {
		t.Errorf("%d deliveries still pending", got.Pending)
	}
}
