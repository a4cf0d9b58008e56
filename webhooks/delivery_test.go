package webhooks_test

import (
	"context"
	"fmt"
	"maps"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/metrics"
)

// scrape returns the samples m serves, by name and labels.
func scrape(t *testing.T, m *metrics.Metrics) map[string]string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	out := map[string]string{}
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		if k, v, ok := strings.Cut(line, " "); ok && !strings.HasPrefix(line, "#") {
			out[k] = v
		}
	}
	return out
}

// checkInOrder fails t unless got holds every delivery id of want exactly once and each
// number's events arrived in revision order.
func checkInOrder(t *testing.T, got []delivery, want map[string]bool) {
	t.Helper()
	seen := map[string]int{}
	lastRev := map[string]int64{}
	for _, d := range got {
		seen[d.ID]++
		if d.Rev <= lastRev[d.Number] {
			t.Errorf("%s: rev %d arrived after rev %d", d.Number, d.Rev, lastRev[d.Number])
		}
		lastRev[d.Number] = d.Rev
	}
	for id, k := range seen {
		if !want[id] {
			t.Errorf("delivery %s was not for this hook", id)
		} else if k != 1 {
			t.Errorf("delivery %s accepted %d times", id, k)
		}
	}
	if len(seen) != len(want) {
		t.Errorf("%d deliveries accepted, want %d", len(seen), len(want))
	}
}

// TestRetriesUntilDelivered: a receiver that fails three times and then succeeds gets
// every event of its account and sub-accounts, in order per number, validly signed, and
// none of another account's.
func TestRetriesUntilDelivered(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db database) {
		s := db.Open(t)
		seedAccounts(t, s)
		rcv := newReceiver(t, 3)
		h := rcv.createHook(t, s, accA, true, 4)
		want := changeNumbers(t, s, h, accA, 4, "+14155550101", "+14155550102", "+14155550103")
		maps.Copy(want, changeNumbers(t, s, h, accC, 3, "+14155550104"))
		changeNumbers(t, s, h, accB, 2, "+14155550105") // not A's: never delivered
		startWorker(t, s, "node-a", 50)
		eventually(t, "every event delivered", func() bool { return len(rcv.snapshot()) >= len(want) })
		rcv.mu.Lock()
		defer rcv.mu.Unlock()
		checkInOrder(t, rcv.accepted, want)
		if rcv.failed != 3 || len(rcv.badSig) > 0 {
			t.Errorf("%d failed requests (want 3), bad signatures or payloads: %v", rcv.failed, rcv.badSig)
		}
		got, err := s.GetWebhook(context.Background(), h.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Enabled || got.ConsecutiveFailures != 0 || got.LastError == "" || got.LastSuccess.IsZero() {
			t.Errorf("hook after recovery: %+v", got)
		}
	})
}

// TestFailingHookIsDisabled: a receiver that always fails gets its hook disabled after
// the configured consecutive failures, with the reason kept; re-enabled against a working
// receiver, the pending events are delivered.
func TestFailingHookIsDisabled(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db database) {
		ctx := context.Background()
		s := db.Open(t)
		seedAccounts(t, s)
		rcv := newReceiver(t, 0)
		rcv.failAll = true
		h := rcv.createHook(t, s, accA, false, 1)
		want := changeNumbers(t, s, h, accA, 2, "+14155550101")
		m := metrics.New(nil)
		startWorker(t, s, "node-a", 4, m)
		var got *knm.Webhook
		eventually(t, "the hook disabled", func() bool {
			var err error
			got, err = s.GetWebhook(ctx, h.ID)
			return err == nil && !got.Enabled
		})
		if !strings.Contains(got.DisableReason, "4 consecutive failed deliveries") ||
			!strings.Contains(got.DisableReason, "HTTP 500") || got.Pending != 2 {
			t.Fatalf("disabled hook: reason %q, pending %d", got.DisableReason, got.Pending)
		}
		if strings.Contains(got.DisableReason, "token=abc") {
			t.Fatalf("the reason quotes the hook's URL: %q", got.DisableReason)
		}
		eventually(t, "the disabled hook counted", func() bool { return scrape(t, m)["knm_webhooks_disabled"] == "1" })
		if got := scrape(t, m); got[`knm_webhook_deliveries_total{result="failed"}`] != "4" ||
			got["knm_webhooks_auto_disabled_total"] != "1" || got[`knm_webhook_deliveries_total{result="delivered"}`] != "" {
			t.Fatalf("metrics after the hook was disabled: %v", got)
		}
		rcv.mu.Lock()
		rcv.failAll = false
		rcv.mu.Unlock()
		got.Enabled = true
		if err := s.UpdateWebhook(ctx, got); err != nil {
			t.Fatal(err)
		}
		eventually(t, "delivery after re-enabling", func() bool { return len(rcv.snapshot()) == len(want) })
		checkInOrder(t, rcv.snapshot(), want)
		eventually(t, "the metrics of the deliveries", func() bool {
			got := scrape(t, m)
			return got[`knm_webhook_deliveries_total{result="delivered"}`] == "2" && got["knm_webhooks_disabled"] == "0"
		})
	})
}

// TestTwoInstancesDeliverOnce runs two workers, on two store handles of one PostgreSQL
// database as two knm instances would (SQLite serves one instance), and checks that each
// event is delivered once, in order per number.
func TestTwoInstancesDeliverOnce(t *testing.T) {
	t.Parallel()
	db := postgresDatabase(t)
	s1, s2 := db.Open(t), db.Open(t)
	seedAccounts(t, s1)
	rcv := newReceiver(t, 0)
	h := rcv.createHook(t, s1, accA, false, 4)
	var nums []string
	for i := range 12 {
		nums = append(nums, fmt.Sprintf("+141555502%02d", i))
	}
	want := changeNumbers(t, s1, h, accA, 4, nums...)
	startWorker(t, s1, "node-1", 50)
	startWorker(t, s2, "node-2", 50)
	eventually(t, "every event delivered", func() bool { return len(rcv.snapshot()) >= len(want) })
	checkInOrder(t, rcv.snapshot(), want)
}

// crashingStore loses the outcome of every delivery, as a process that dies after the
// receiver answered and before the answer is recorded.
type crashingStore struct{ knm.Store }

func (crashingStore) CompleteWebhookDelivery(context.Context, string, int64) error {
	return fmt.Errorf("process died")
}

// TestCrashBetweenChangeAndDelivery: changes committed by an instance that then stops are
// delivered by the restarted one; a delivery whose acknowledgement was lost in a crash is
// sent again with the same dedup id, so the receiver, deduplicating, has each event once.
func TestCrashBetweenChangeAndDelivery(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db database) {
		s := db.Open(t)
		seedAccounts(t, s)
		rcv := newReceiver(t, 0)
		h := rcv.createHook(t, s, accA, false, 2)
		want := changeNumbers(t, s, h, accA, 3, "+14155550101", "+14155550102", "+14155550103")
		s.Close() // the instance stops before delivering anything

		// Restart: the receiver gets two deliveries, whose acknowledgements are lost.
		s = db.Open(t)
		stop := startWorker(t, crashingStore{s}, "node-a", 50)
		eventually(t, "two deliveries", func() bool { return len(rcv.snapshot()) >= 2 })
		stop()
		s.Close()
		lost := rcv.snapshot()

		// Restart once the lost deliveries' leases expired.
		db.Clock.Advance(webhooksLease + time.Second)
		s = db.Open(t)
		startWorker(t, s, "node-b", 50)
		eventually(t, "every event delivered", func() bool {
			seen := map[string]bool{}
			for _, d := range rcv.snapshot() {
				seen[d.ID] = true
			}
			return len(seen) == len(want)
		})
		dedup := map[string]bool{}
		var unique []delivery
		for _, d := range rcv.snapshot() {
			if !dedup[d.ID] {
				dedup[d.ID] = true
				unique = append(unique, d)
			}
		}
		checkInOrder(t, unique, want)
		resent := 0
		for _, d := range rcv.snapshot() {
			for _, l := range lost {
				if d.ID == l.ID {
					resent++
				}
			}
		}
		if resent != 2*len(lost) {
			t.Errorf("the %d deliveries whose acknowledgement was lost arrived %d times in all, want twice each",
				len(lost), resent)
		}
	})
}

// webhooksLease is a delivery's lease with fastSettings: the attempt timeout plus the
// worker's margin.
const webhooksLease = 5*time.Second + 30*time.Second
