package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/knmproject/knm"
)

// newHook returns a valid, enabled hook of account 1.
func newHook(i, concurrency int) *knm.Webhook {
	return &knm.Webhook{ID: accountID(40 + i), AccountID: accountID(1), Name: fmt.Sprintf("hook %d", i),
		URI: "https://example.com/hooks", HTTPVerb: "post", Hook: "numbers", Enabled: true,
		MaxConcurrency: concurrency, Secret: "0123456789abcdef", CustomData: map[string]string{"k": "v"}}
}

// queueAll queues every event after the hook's cursor, as a delivery worker does.
func queueAll(t *testing.T, s knm.Store, hookID string) []*knm.Event {
	t.Helper()
	ctx := context.Background()
	c, err := s.GetEventCursor(ctx, knm.WebhookConsumer(hookID))
	must(t, err, "hook cursor")
	evs := allEvents(t, s, c.LastID)
	if len(evs) > 0 {
		must(t, s.QueueWebhookDeliveries(ctx, hookID, c.LastID, evs[len(evs)-1].ID, evs), "queue")
	}
	return evs
}

// claimedEvents returns "number#rev" of claimed deliveries.
func claimedEvents(ds []*knm.WebhookDelivery) []string {
	return keysOf(ds, func(d *knm.WebhookDelivery) string { return fmt.Sprintf("%s#%d", d.Event.Number, d.Event.Rev) })
}

func testWebhooks(t *testing.T, s knm.Store) {
	ctx := context.Background()
	must(t, s.CreateNumber(ctx, &knm.Number{Number: "+14155550100", State: knm.StateAvailable}), "create number")
	h := newHook(1, 2)
	must(t, s.CreateWebhook(ctx, h), "create")
	if h.Rev != 1 || h.Created.IsZero() {
		t.Fatalf("created hook %+v", h)
	}
	wantErr(t, s.CreateWebhook(ctx, newHook(1, 2)), knm.ErrConflict, "create twice")
	bad := newHook(2, 0)
	wantErr(t, s.CreateWebhook(ctx, bad), knm.ErrInvalid, "no concurrency")
	got, err := s.GetWebhook(ctx, h.ID)
	must(t, err, "get")
	equal(t, "read back", got, h)
	c, err := s.GetEventCursor(ctx, knm.WebhookConsumer(h.ID))
	must(t, err, "hook cursor")
	if head, _ := s.LastEventID(ctx); c.LastID != head || head == 0 {
		t.Fatalf("a new hook's cursor is at %d, want the newest event %d", c.LastID, head)
	}
	other := newHook(3, 1)
	other.AccountID, other.Enabled = accountID(2), false
	must(t, s.CreateWebhook(ctx, other), "create another")
	list, err := s.FindWebhooks(ctx, knm.WebhookFilter{AccountID: accountID(1)})
	must(t, err, "find by account")
	equal(t, "account 1 hooks", keysOf(list, func(h *knm.Webhook) string { return h.ID }), []string{h.ID})
	list, err = s.FindWebhooks(ctx, knm.WebhookFilter{Enabled: ptr(false)})
	must(t, err, "find disabled")
	equal(t, "disabled hooks", keysOf(list, func(h *knm.Webhook) string { return h.ID }), []string{other.ID})

	got.Name, got.URI, got.CustomData = "renamed", "http://127.0.0.1:9/x", nil
	must(t, s.UpdateWebhook(ctx, got), "update")
	stale := *h
	stale.Name = "stale"
	wantErr(t, s.UpdateWebhook(ctx, &stale), knm.ErrConflict, "stale update")
	again, err := s.GetWebhook(ctx, h.ID)
	must(t, err, "get after update")
	if again.Name != "renamed" || again.Rev != 2 || again.Secret != h.Secret || len(again.CustomData) != 0 {
		t.Fatalf("after update %+v", again)
	}
	must(t, s.DeleteWebhook(ctx, h.ID), "delete")
	wantErr(t, s.DeleteWebhook(ctx, h.ID), knm.ErrNotFound, "delete twice")
	_, err = s.GetWebhook(ctx, h.ID)
	wantErr(t, err, knm.ErrNotFound, "get deleted")
	_, err = s.GetEventCursor(ctx, knm.WebhookConsumer(h.ID))
	wantErr(t, err, knm.ErrNotFound, "cursor of a deleted hook")
}

// testWebhookQueue covers the delivery queue: per-number order, the concurrency limit,
// leases, retries, disabling and re-enabling.
func testWebhookQueue(t *testing.T, s knm.Store) {
	ctx := context.Background()
	h := newHook(1, 2)
	must(t, s.CreateWebhook(ctx, h), "create hook")
	a := &knm.Number{Number: "+14155550100", State: knm.StateAvailable}
	b := &knm.Number{Number: "+14155550101", State: knm.StateAvailable}
	must(t, s.CreateNumber(ctx, a), "create a")
	must(t, s.CreateNumber(ctx, b), "create b")
	a.UsedBy = "callflow"
	must(t, s.UpdateNumber(ctx, a), "update a")
	c, err := s.GetEventCursor(ctx, knm.WebhookConsumer(h.ID))
	must(t, err, "cursor")
	evs := queueAll(t, s, h.ID)
	wantErr(t, s.QueueWebhookDeliveries(ctx, h.ID, c.LastID, evs[2].ID, evs), knm.ErrConflict, "queue twice")
	wantErr(t, s.QueueWebhookDeliveries(ctx, accountID(99), 0, 0, nil), knm.ErrNotFound, "queue for no hook")
	got, _ := s.GetWebhook(ctx, h.ID)
	if got.Pending != 3 {
		t.Fatalf("pending = %d, want 3", got.Pending)
	}

	ds, err := s.ClaimWebhookDeliveries(ctx, h.ID, "node-a", time.Minute)
	must(t, err, "claim")
	equal(t, "first claim: the head of each number", claimedEvents(ds), []string{"+14155550100#1", "+14155550101#1"})
	if ds[0].Event.Type != knm.EventNumberCreated || ds[0].Attempts != 0 {
		t.Fatalf("claimed delivery %+v", ds[0])
	}
	ds2, err := s.ClaimWebhookDeliveries(ctx, h.ID, "node-b", time.Minute)
	must(t, err, "claim at the limit")
	if len(ds2) != 0 {
		t.Fatalf("claimed %v beyond the hook's concurrency", claimedEvents(ds2))
	}
	must(t, s.CompleteWebhookDelivery(ctx, h.ID, ds[0].Event.ID), "complete a#1")
	disabled, err := s.FailWebhookDelivery(ctx, h.ID, ds[1].Event.ID, "node-a",
		knm.WebhookFailure{RetryIn: time.Minute, Reason: "HTTP 500", DisableAfter: 3})
	must(t, err, "fail b#1")
	if disabled {
		t.Fatal("one failure disabled the hook")
	}
	ds, err = s.ClaimWebhookDeliveries(ctx, h.ID, "node-b", time.Minute)
	must(t, err, "claim after complete and fail")
	equal(t, "a's next event; b backs off", claimedEvents(ds), []string{"+14155550100#2"})
	Clock(t).Advance(2 * time.Minute) // b is due again, and node-b's lease on a#2 expired
	ds, err = s.ClaimWebhookDeliveries(ctx, h.ID, "node-a", time.Minute)
	must(t, err, "claim after expiry")
	equal(t, "retry of b and the expired lease", claimedEvents(ds), []string{"+14155550101#1", "+14155550100#2"})
	if ds[0].Attempts != 1 {
		t.Fatalf("b's attempts = %d, want 1", ds[0].Attempts)
	}
	// node-b's late answer about a#2 does not touch node-a's lease.
	late := knm.WebhookFailure{RetryIn: time.Hour, Reason: "x", DisableAfter: 1}
	if d, err := s.FailWebhookDelivery(ctx, h.ID, ds[1].Event.ID, "node-b", late); err != nil || d {
		t.Fatalf("failure reported by a former owner: disabled %v, err %v", d, err)
	}
	for range 2 {
		disabled, err = s.FailWebhookDelivery(ctx, h.ID, ds[0].Event.ID, "node-a",
			knm.WebhookFailure{RetryIn: 0, Reason: "HTTP 503", DisableAfter: 3})
		must(t, err, "fail b again")
	}
	if !disabled {
		t.Fatal("the third consecutive failure did not disable the hook")
	}
	got, _ = s.GetWebhook(ctx, h.ID)
	if got.Enabled || got.ConsecutiveFailures != 3 || got.DisableReason == "" || got.LastError != "HTTP 503" ||
		got.Rev != 2 {
		t.Fatalf("disabled hook = %+v", got)
	}
	if ds, _ := s.ClaimWebhookDeliveries(ctx, h.ID, "node-a", time.Minute); len(ds) != 0 {
		t.Fatalf("claimed %v from a disabled hook", claimedEvents(ds))
	}
	must(t, s.CompleteWebhookDelivery(ctx, h.ID, evs[2].ID), "complete a#2")
	got.Enabled = true
	must(t, s.UpdateWebhook(ctx, got), "re-enable")
	got, _ = s.GetWebhook(ctx, h.ID)
	if !got.Enabled || got.ConsecutiveFailures != 0 || got.DisableReason != "" || got.Pending != 1 {
		t.Fatalf("re-enabled hook = %+v", got)
	}
	ds, err = s.ClaimWebhookDeliveries(ctx, h.ID, "node-a", time.Minute)
	must(t, err, "claim after re-enable")
	equal(t, "b is due at once", claimedEvents(ds), []string{"+14155550101#1"})
}

// testWebhookClaimsConcurrent has several owners claim one hook's deliveries at once, as
// instances do, and checks that no delivery is leased to two of them.
func testWebhookClaimsConcurrent(t *testing.T, s knm.Store) {
	const numbers, claimers = 30, 6
	ctx := context.Background()
	h := newHook(1, 8)
	must(t, s.CreateWebhook(ctx, h), "create hook")
	for i := range numbers {
		createAvailable(t, s, fmt.Sprintf("+141555501%02d", i))
	}
	queueAll(t, s, h.ID)
	var (
		wg, start sync.WaitGroup
		mu        sync.Mutex
		holder    = map[int64]string{}
		errs      []error
	)
	start.Add(1)
	for i := range claimers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			owner := fmt.Sprintf("node-%d", i)
			start.Wait()
			for range 20 {
				ds, err := s.ClaimWebhookDeliveries(ctx, h.ID, owner, time.Hour)
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				}
				for _, d := range ds {
					if prev, ok := holder[d.Event.ID]; ok {
						errs = append(errs, fmt.Errorf("event %d leased to %s and %s", d.Event.ID, prev, owner))
					}
					holder[d.Event.ID] = owner
				}
				mu.Unlock()
			}
		}()
	}
	start.Done()
	wg.Wait()
	if len(errs) > 0 {
		t.Fatal(errs[0])
	}
	if len(holder) != h.MaxConcurrency {
		t.Fatalf("%d deliveries leased, want the hook's concurrency %d", len(holder), h.MaxConcurrency)
	}
}
