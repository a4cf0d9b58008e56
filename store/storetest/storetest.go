// Package storetest is the conformance suite of knm.Store: every backend passes the same
// tests (store/sqlite, store/postgres), as Perkeep's kvtest does for its sorted stores.
//
// A backend's test is one call:
//
//	storetest.Run(t, func(t *testing.T) knm.Store {
//		s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "knm.db"),
//			sqlite.WithClock(storetest.Clock(t).Now))
//		…
//	})
//
// newStore must return a fresh, empty store for each subtest, closed in t.Cleanup, and
// must wire Clock(t).Now into the backend so the suite can move time forward.
package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/knmproject/knm"
)

// APIKeyHashSetter is the backends' extension for account API keys: knm.Account has no
// field for the hash that knm.AccountFilter.APIKeyHash selects on.
type APIKeyHashSetter interface {
	SetAccountAPIKeyHash(ctx context.Context, accountID, hash string) error
}

// FakeClock is a settable clock. Its zero value is not usable; get one from Clock.
type FakeClock struct {
	mu  sync.Mutex
	now time.Time
}

// Now returns the clock's time.
func (c *FakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *FakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

var clocks sync.Map // *testing.T -> *FakeClock

// Clock returns the fake clock of test t, creating it at a fixed instant (with
// sub-second digits, to check that stores keep whole seconds) on first use.
func Clock(t *testing.T) *FakeClock {
	c, loaded := clocks.LoadOrStore(t, &FakeClock{now: time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.UTC)})
	if !loaded {
		t.Cleanup(func() { clocks.Delete(t) })
	}
	return c.(*FakeClock)
}

// Run runs the whole suite against the stores newStore makes.
func Run(t *testing.T, newStore func(t *testing.T) knm.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s knm.Store)
	}{
		{"NumberRoundTrip", testNumberRoundTrip},
		{"NumberMinimal", testNumberMinimal},
		{"NumberExists", testNumberExists},
		{"NumberNotFound", testNumberNotFound},
		{"NumberRevisionConflict", testNumberRevisionConflict},
		{"NumberInvalid", testNumberInvalid},
		{"FindNumbers", testFindNumbers},
		{"FindNumbersPaging", testFindNumbersPaging},
		{"ListNumbersPages", testListNumbersPages},
		{"ListNumbersUnderWrites", testListNumbersUnderWrites},
		{"ImportNumbers", testImportNumbers},
		{"ConcurrentMove", testConcurrentMove},
		{"ContextCancelled", testContextCancelled},
		{"Accounts", testAccounts},
		{"FindAccounts", testFindAccounts},
		{"Configs", testConfigs},
		{"ImportConfigs", testImportConfigs},
		{"SearchCache", testSearchCache},
		{"SearchCacheExpiry", testSearchCacheExpiry},
		{"Journals", testJournals},
		{"InstanceLease", testInstanceLease},
		{"InstanceExpiry", testInstanceExpiry},
		{"JournalOwnerWrites", testJournalOwnerWrites},
		{"JournalTakeOver", testJournalTakeOver},
		{"JournalFencedAfterExpiry", testJournalFencedAfterExpiry},
		{"JournalTakeOverConcurrent", testJournalTakeOverConcurrent},
		{"Idempotency", testIdempotency},
		{"IdempotencyConcurrent", testIdempotencyConcurrent},
		{"EventPerChange", testEventPerChange},
		{"NoEventWithoutChange", testNoEventWithoutChange},
		{"EventsUnderContention", testEventsUnderContention},
		{"EventCursors", testEventCursors},
		{"EventRetention", testEventRetention},
		{"NumberEvents", testNumberEvents},
		{"Webhooks", testWebhooks},
		{"WebhookQueue", testWebhookQueue},
		{"WebhookClaimsConcurrent", testWebhookClaimsConcurrent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, newStore(t))
		})
	}
}

// wantErr fails t unless err carries the knm error name.
func wantErr(t *testing.T, err error, name knm.ErrorName, what string) {
	t.Helper()
	if !knm.IsErrorName(err, name) {
		t.Fatalf("%s: got error %v (%s), want %s", what, err, knm.ErrorNameOf(err), name)
	}
}

// must fails t on err.
func must(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// equal fails t when got and want differ, printing both as JSON.
func equal(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", "  ")
		w, _ := json.MarshalIndent(want, "", "  ")
		t.Fatalf("%s:\n got: %s\nwant: %s", what, g, w)
	}
}

// keysOf returns key(x) for each of xs in order, nil for none, so a listing compares
// with the keys a test expects.
func keysOf[T any](xs []T, key func(T) string) []string {
	var out []string
	for _, x := range xs {
		out = append(out, key(x))
	}
	return out
}

// numbersOf returns the E.164 strings of ns.
func numbersOf(ns []*knm.Number) []string {
	return keysOf(ns, func(n *knm.Number) string { return n.Number })
}

// accountIDs returns the ids of as.
func accountIDs(as []*knm.Account) []string {
	return keysOf(as, func(a *knm.Account) string { return a.ID })
}

// journalIDs returns the ids of es.
func journalIDs(es []*knm.JournalEntry) []string {
	return keysOf(es, func(e *knm.JournalEntry) string { return e.ID })
}

// accountID returns a deterministic 32-hex account id.
func accountID(i int) string { return fmt.Sprintf("%032x", i+1) }

func ptr[T any](v T) *T { return &v }

// RunRestarts runs the tests that stop a store and open the same database again, as a
// crashed or restarted knm instance does. newDB makes a fresh, empty database for one
// test and returns a function opening a new store on it (closed in t.Cleanup, and wired to
// Clock(t).Now like newStore's).
func RunRestarts(t *testing.T, newDB func(t *testing.T) (open func() knm.Store)) {
	t.Run("CrashBetweenChangeAndDelivery", func(t *testing.T) {
		t.Parallel()
		testCrashBetweenChangeAndDelivery(t, newDB(t))
	})
}
