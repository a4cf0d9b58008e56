package knmvoxbone

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/knmproject/knm"
)

// partialOrder places an order of 3 through ld that Voxbone delivers 2 of, for acct: it
// becomes partial at once.
func partialOrder(t *testing.T, ld *lateDelivery, store knm.Store, acct string) (*Carrier, *OrderResult) {
	t.Helper()
	ctx := context.Background()
	c := lateCarrier(t, ld, store, acct)
	c.lateInterval = func(time.Duration) time.Duration { return 0 }
	res, err := c.Order(ctx, OrderRequest{GroupID: 5116, Quantity: 3, Country: "US", AssignTo: acct})
	if err != nil || res.State != StatePartial || len(res.Numbers) != 2 {
		t.Fatalf("order: %+v, %v", res, err)
	}
	return c, res
}

// TestLateSettledNumbers: a number a partial order imported that an operator deleted since
// is never re-created, by Recover's late pass nor by reconcile --import, and one an admin
// reassigned to another account stays there and is no conflict of the order.
func TestLateSettledNumbers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ld := newLateDelivery(t)
	store := openSQLite(t)
	acct, other := strings.Repeat("c", 32), strings.Repeat("d", 32)
	c, res := partialOrder(t, ld, store, acct)
	if err := store.CreateAccount(ctx, &knm.Account{ID: other, Name: "d", Enabled: true}); err != nil {
		t.Fatal(err)
	}
	deleted, moved := res.Numbers[0], res.Numbers[1]
	n, err := store.GetNumber(ctx, deleted)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.DeleteNumber(ctx, deleted, n.Rev); err != nil {
		t.Fatal(err)
	}
	n, err = store.GetNumber(ctx, moved)
	if err != nil {
		t.Fatal(err)
	}
	n.AssignedTo = other
	if err := store.UpdateNumber(ctx, n); err != nil {
		t.Fatal(err)
	}
	check := func(what string) {
		t.Helper()
		if n, err := store.GetNumber(ctx, deleted); !knm.IsErrorName(err, knm.ErrNotFound) {
			t.Errorf("%s: deleted number re-created: %+v, %v", what, n, err)
		}
		if n, err := store.GetNumber(ctx, moved); err != nil || n.AssignedTo != other {
			t.Errorf("%s: reassigned number moved: %+v, %v", what, n, err)
		}
		got, err := c.GetOrder(ctx, res.OrderID)
		if err != nil || got.State != StatePartial || len(got.Conflicts) != 0 || len(got.Numbers) != 2 {
			t.Errorf("%s: order %+v, %v", what, got, err)
		}
	}

	rep, err := c.Recover(ctx)
	if err != nil || rep.LateChecked != 1 || rep.LateImported != 0 || len(rep.Unsettled) != 0 {
		t.Fatalf("recover: %+v, %v", rep, err)
	}
	check("recover")
	if rep, err := c.Recover(ctx); err != nil || rep.LateChecked != 1 || rep.LateImported != 0 {
		t.Fatalf("recover again: %+v, %v", rep, err)
	}
	check("recover again")

	rrep, err := c.Reconcile(ctx, true)
	if err != nil || rrep.Imported != 0 || len(rrep.LateDeliveries) != 0 || len(rrep.OrderConflicts) != 0 ||
		!slices.ContainsFunc(rrep.UnknownToKnm, func(s DIDSummary) bool { return s.E164 == deleted }) {
		t.Fatalf("reconcile --import: %+v, %v", rrep, err)
	}
	check("reconcile --import")

	// A DID delivered late is still imported, and completes the order.
	ld.deliver.Store(true)
	if rep, err := c.Recover(ctx); err != nil || rep.LateImported != 1 || rep.LateCompleted != 1 {
		t.Fatalf("recover after the late delivery: %+v, %v", rep, err)
	}
	if n, err := store.GetNumber(ctx, ld.late); err != nil || n.AssignedTo != acct {
		t.Errorf("late DID %+v, %v", n, err)
	}
	if _, err := store.GetNumber(ctx, deleted); !knm.IsErrorName(err, knm.ErrNotFound) {
		t.Errorf("deleted number re-created with the late DID: %v", err)
	}
}

// TestLateReleasedDID: a DID of a partial order that knm journalled a cancel of (sent or
// done) is not imported by Recover's late pass nor by reconcile --import.
func TestLateReleasedDID(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, state := range []string{cancelSent, cancelDone} {
		ld := newLateDelivery(t)
		store := openSQLite(t)
		c, res := partialOrder(t, ld, store, strings.Repeat("e", 32))
		raw, _ := json.Marshal(cancelPayload{DIDID: 999999, Number: ld.late, Account: c.account})
		now := time.Now()
		if err := store.CreateJournal(ctx, &knm.JournalEntry{ID: "cancel-999999", Carrier: ModuleName, State: state,
			Payload: raw, Created: now, Updated: now}); err != nil {
			t.Fatal(err)
		}
		ld.deliver.Store(true)
		if rep, err := c.Recover(ctx); err != nil || rep.LateChecked != 1 || rep.LateImported != 0 || len(rep.Unsettled) != 0 {
			t.Errorf("%s: recover %+v, %v", state, rep, err)
		}
		if rep, err := c.Reconcile(ctx, true); err != nil || rep.Imported != 0 {
			t.Errorf("%s: reconcile --import %+v, %v", state, rep, err)
		}
		if n, err := store.GetNumber(ctx, ld.late); !knm.IsErrorName(err, knm.ErrNotFound) {
			t.Errorf("%s: released DID imported: %+v, %v", state, n, err)
		}
		if got, err := c.GetOrder(ctx, res.OrderID); err != nil || got.State != StatePartial || len(got.Numbers) != 2 {
			t.Errorf("%s: order %+v, %v", state, got, err)
		}
	}
}

// TestRecoverLateInterval: an order looked at 5 minutes ago gets no request; one looked at
// longer ago than its interval is looked at again.
func TestRecoverLateInterval(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ld := newLateDelivery(t)
	store := openSQLite(t)
	_, res := partialOrder(t, ld, store, strings.Repeat("f", 32))
	srv, calls := countingServer(t, ld.srv.Config.Handler)
	at := func(d time.Duration) *Carrier {
		c := newTestCarrier(t, testSettings(srv.URL), store, nil)
		c.deliveryDeadline = -time.Hour
		base := time.Now()
		c.now = func() time.Time { return base.Add(d) }
		return c
	}
	if rep, err := at(0).Recover(ctx); err != nil || rep.LateChecked != 1 {
		t.Fatalf("first look: %+v, %v", rep, err)
	}
	calls.Store(0)
	if rep, err := at(5 * time.Minute).Recover(ctx); err != nil || rep.LateChecked != 0 {
		t.Errorf("5 minutes later: %+v, %v", rep, err)
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("%d voxbone request(s) for an order looked at 5 minutes ago", n)
	}
	if rep, err := at(LateIntervalFirstDay + time.Minute).Recover(ctx); err != nil || rep.LateChecked != 1 {
		t.Errorf("past the interval: %+v, %v", rep, err)
	}
	if calls.Load() == 0 {
		t.Error("no request past the interval")
	}
	e, err := store.GetJournal(ctx, res.OrderID)
	if err != nil {
		t.Fatal(err)
	}
	o, _ := decodeOrder(e)
	if o.p.LateCheckedAt == nil || time.Since(*o.p.LateCheckedAt) > -LateIntervalFirstDay {
		t.Errorf("late_checked_at %v, want the last look's", o.p.LateCheckedAt)
	}
	for since, want := range map[time.Duration]time.Duration{
		time.Hour: LateIntervalFirstDay, 2 * 24 * time.Hour: LateIntervalFirstWeek, 10 * 24 * time.Hour: LateIntervalLater,
	} {
		if got := lateDeliveryInterval(since); got != want {
			t.Errorf("interval %v after the checkout: %v, want %v", since, got, want)
		}
	}
}

// racingStore moves the order's row (another writer) just before the next write of it.
type racingStore struct {
	knm.Store
	id    string
	armed atomic.Bool
}

func (s *racingStore) UpdateJournal(ctx context.Context, e *knm.JournalEntry) error {
	if e.ID == s.id && s.armed.CompareAndSwap(true, false) {
		cur, err := s.Store.GetJournal(ctx, e.ID)
		if err != nil {
			return err
		}
		if err := s.Store.UpdateJournal(ctx, cur); err != nil {
			return err
		}
	}
	return s.Store.UpdateJournal(ctx, e)
}

// TestLateCheckedAtRace: the look is recorded even when finish's write loses the
// revision race.
func TestLateCheckedAtRace(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ld := newLateDelivery(t)
	base := openSQLite(t)
	_, res := partialOrder(t, ld, base, strings.Repeat("a", 32))
	rs := &racingStore{Store: base, id: res.OrderID}
	rs.armed.Store(true)
	c := newTestCarrier(t, testSettings(ld.srv.URL), rs, nil)
	c.deliveryDeadline = -time.Hour
	if rep, err := c.Recover(ctx); err != nil || rep.LateChecked != 1 {
		t.Fatalf("recover: %+v, %v", rep, err)
	}
	if rs.armed.Load() {
		t.Fatal("the race did not happen")
	}
	e, err := base.GetJournal(ctx, res.OrderID)
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := decodeOrder(e); o.p.LateCheckedAt == nil {
		t.Error("late_checked_at not recorded after the lost race")
	}
}
