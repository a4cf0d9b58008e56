package knmvoxbone

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/voxbone/emulator"
)

// TestAwaitingDelivery: an order Voxbone delivers short is not final. The native order
// answers with its state and the reason (no Go error: money was spent); Recover looks again
// and imports the DIDs delivered late, and only then is the order imported.
func TestAwaitingDelivery(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ld := newLateDelivery(t)
	store := openSQLite(t)
	c := newTestCarrier(t, testSettings(ld.srv.URL), Deps{Store: store})
	res, err := c.Order(ctx, OrderRequest{GroupID: 5116, Quantity: 3, Country: "US"})
	if err != nil {
		t.Fatalf("a short order that spent money must not be a Go error: %v", err)
	}
	if res.State != StateAwaitingDelivery || len(res.Numbers) != 2 || !strings.Contains(res.Error, "awaited") {
		t.Fatalf("short order: %s, %d numbers, %q", res.State, len(res.Numbers), res.Error)
	}
	rep, err := c.Recover(ctx)
	if err != nil || rep.Awaiting != 1 || len(rep.Unsettled) != 0 {
		t.Fatalf("recover before delivery: %+v, %v", rep, err)
	}
	ld.deliver.Store(true)
	rep, err = c.Recover(ctx)
	if err != nil || rep.Imported != 1 {
		t.Fatalf("recover after delivery: %+v, %v", rep, err)
	}
	got, err := c.GetOrder(ctx, res.OrderID)
	if err != nil || got.State != StateImported || len(got.Numbers) != 3 || !slices.Contains(got.Numbers, ld.late) ||
		got.Error != "" {
		t.Fatalf("order after delivery: %+v, %v", got, err)
	}
	if n, err := store.GetNumber(ctx, ld.late); err != nil || n.State != knm.StateAvailable {
		t.Errorf("late DID stored %+v, %v", n, err)
	}
	if rep, err := c.Recover(ctx); err != nil || rep.Examined != 0 {
		t.Errorf("imported order examined again: %+v, %v", rep, err)
	}
}

// TestAwaitingDeliveryDeadline: after the delivery deadline a short order becomes partial
// (final), and a search that bought it returns its rows with the reason.
func TestAwaitingDeliveryDeadline(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ld := newLateDelivery(t)
	for _, id := range area256[1:] {
		if err := ld.e.SetStock(id, 0); err != nil {
			t.Fatal(err)
		}
	}
	store := openSQLite(t)
	c := newTestCarrier(t, testSettings(ld.srv.URL), Deps{Store: store})
	rows, err := search256(ctx, c, 3)
	if len(rows) != 2 || !knm.IsErrorName(err, knm.ErrUnavailable) || !strings.Contains(err.Error(), "awaited") {
		t.Fatalf("short search: %d rows, %v", len(rows), err)
	}
	later := newTestCarrier(t, testSettings(ld.srv.URL), Deps{Store: store})
	later.deliveryDeadline = -time.Hour
	rep, err := later.Recover(ctx)
	if err != nil || rep.Partial != 1 {
		t.Fatalf("recover after the deadline: %+v, %v", rep, err)
	}
	os, _ := later.ListOrders(ctx)
	if len(os) != 1 || os[0].State != StatePartial || len(os[0].Numbers) != 2 {
		t.Fatalf("orders %+v", os)
	}
	checkInvariants(t, ld.e, store, 1)
}

// TestLateDeliveryAfterPartial: a DID Voxbone delivers after the order's delivery deadline
// (the order is partial, final) is listed by Reconcile with its order, and reconcile
// --import brings it in through the order itself: in service for the order's account, the
// order imported, the money counted once.
func TestLateDeliveryAfterPartial(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	acct := strings.Repeat("a", 32)
	lo := newLateOrder(t, acct)
	c, store, ld, res := lo.c, lo.store, lo.ld, lo.res
	// Recover's own look at partial orders is off: this is reconcile's test (see
	// TestRecoverLateDelivery for Recover's).
	c.lateHorizon = 0
	ld.deliver.Store(true)
	if rep, err := c.Recover(ctx); err != nil || rep.Examined != 0 || rep.LateChecked != 0 {
		t.Fatalf("recover: %+v, %v", rep, err)
	}

	rep, err := c.Reconcile(ctx, false)
	if err != nil || len(rep.LateDeliveries) != 1 || rep.LateDeliveries[0].E164 != ld.late ||
		rep.LateDeliveries[0].Order != res.OrderID ||
		len(rep.UnknownToKnm) != 1 || rep.Imported != 0 {
		t.Fatalf("reconcile: %+v, %v", rep, err)
	}
	if _, err := store.GetNumber(ctx, ld.late); !knm.IsErrorName(err, knm.ErrNotFound) {
		t.Fatalf("reconcile without --import stored the late DID: %v", err)
	}

	rep, err = c.Reconcile(ctx, true)
	if err != nil || rep.Imported != 1 || len(rep.UnknownToKnm) != 0 || len(rep.LateDeliveries) != 1 {
		t.Fatalf("reconcile --import: %+v, %v", rep, err)
	}
	lo.checkCompleted(t, acct)
	// Again: nothing left to do, nothing counted twice.
	if rep, err := c.Reconcile(ctx, true); err != nil || rep.Imported != 0 || len(rep.UnknownToKnm) != 0 ||
		len(rep.LateDeliveries) != 0 {
		t.Errorf("reconcile again: %+v, %v", rep, err)
	}
	if want := int64(res.CostCents); lo.spent.Load() != want {
		t.Errorf("spent %d cents after a second reconcile, want %d", lo.spent.Load(), want)
	}
}

// TestRecoverLateDelivery: a DID Voxbone delivers after the order became partial is
// brought in by Recover alone (no reconcile): through its order, in service for the
// order's assign_to account, the order imported, the money counted once.
func TestRecoverLateDelivery(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	acct := strings.Repeat("b", 32)
	lo := newLateOrder(t, acct) // looked at on every Recover
	c, ld, res := lo.c, lo.ld, lo.res
	spent, orders := &lo.spent, &lo.finals
	paid := spent.Load()
	if want := int64(res.CostCents * 2 / 3); paid != want {
		t.Fatalf("spent %d cents for 2 of 3 DIDs, want %d", paid, want)
	}

	// Not delivered yet: Recover looks, finds nothing new, the order stays partial as it was.
	rep, err := c.Recover(ctx)
	if err != nil || rep.Examined != 0 || rep.LateChecked != 1 || rep.LateImported != 0 || rep.LateCompleted != 0 ||
		len(rep.Unsettled) != 0 {
		t.Fatalf("recover before the delivery: %+v, %v", rep, err)
	}
	got, err := c.GetOrder(ctx, res.OrderID)
	if err != nil || got.State != StatePartial || len(got.Numbers) != 2 ||
		!strings.Contains(got.Error, "delivered 2 of 3") {
		t.Fatalf("order before the delivery: %+v, %v", got, err)
	}
	if spent.Load() != paid || orders.Load() != 1 {
		t.Fatalf("a look finding nothing counted: spent %d (want %d), %d order events", spent.Load(), paid,
			orders.Load())
	}

	ld.deliver.Store(true)
	rep, err = c.Recover(ctx)
	if err != nil || rep.LateChecked != 1 || rep.LateImported != 1 || rep.LateCompleted != 1 ||
		len(rep.Unsettled) != 0 {
		t.Fatalf("recover after the delivery: %+v, %v", rep, err)
	}
	lo.checkCompleted(t, acct)

	// Nothing left: an imported order is not looked at again, reconcile finds nothing, and
	// nothing is counted twice.
	if rep, err := c.Recover(ctx); err != nil || rep.LateChecked != 0 || rep.LateImported != 0 {
		t.Errorf("recover again: %+v, %v", rep, err)
	}
	if rep, err := c.Reconcile(ctx, true); err != nil || rep.Imported != 0 || len(rep.LateDeliveries) != 0 ||
		len(rep.UnknownToKnm) != 0 {
		t.Errorf("reconcile after recover: %+v, %v", rep, err)
	}
	if want := int64(res.CostCents); spent.Load() != want || orders.Load() != 2 {
		t.Errorf("after another recover and reconcile: spent %d cents (want %d), %d order events", spent.Load(), want,
			orders.Load())
	}
}

// TestRecoverLateHorizon: a partial order checked out more than LateDeliveryHorizon ago, or
// placed on another Voxbone account, gets no request from Recover and is left as it is;
// the same order within the horizon, on its account, is looked at and completed.
func TestRecoverLateHorizon(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	lo := newLateOrder(t, "")
	store, ld, res := lo.store, lo.ld, lo.res
	before, err := store.GetJournal(ctx, res.OrderID)
	if err != nil {
		t.Fatal(err)
	}
	ld.deliver.Store(true)
	srv, calls := countingServer(t, ld.srv.Config.Handler)

	old := newTestCarrier(t, testSettings(srv.URL), Deps{Store: store})
	old.now = func() time.Time { return time.Now().Add(LateDeliveryHorizon + time.Hour) }
	other := newTestCarrier(t, testSettings(srv.URL), Deps{Store: store})
	other.account = "another-account"
	for name, c := range map[string]*Carrier{"past the horizon": old, "another account": other} {
		rep, err := c.Recover(ctx)
		if err != nil || rep.LateChecked != 0 || rep.LateImported != 0 || len(rep.Unsettled) != 0 {
			t.Errorf("%s: recover %+v, %v", name, rep, err)
		}
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("%d voxbone request(s) for a partial order Recover must leave alone", n)
	}
	if e, err := store.GetJournal(ctx, res.OrderID); err != nil || e.Rev != before.Rev ||
		OrderState(e.State) != StatePartial {
		t.Errorf("order row touched: %+v, %v", e, err)
	}
	if _, err := store.GetNumber(ctx, ld.late); !knm.IsErrorName(err, knm.ErrNotFound) {
		t.Errorf("late DID stored: %v", err)
	}

	// Within the horizon the same server is asked, and the order completed.
	now := newTestCarrier(t, testSettings(srv.URL), Deps{Store: store})
	now.now = func() time.Time { return time.Now().Add(LateDeliveryHorizon - time.Hour) }
	if rep, err := now.Recover(ctx); err != nil || rep.LateChecked != 1 || rep.LateImported != 1 ||
		rep.LateCompleted != 1 {
		t.Fatalf("recover within the horizon: %+v, %v", rep, err)
	}
	if calls.Load() == 0 {
		t.Error("no request within the horizon")
	}
	if got, err := now.GetOrder(ctx, res.OrderID); err != nil || got.State != StateImported || len(got.Numbers) != 3 {
		t.Errorf("order within the horizon: %+v, %v", got, err)
	}
}

// TestRecoverLateBatch: one Recover run looks at no more than lateBatch partial orders, the
// least recently looked at first, so successive runs go round all of them.
func TestRecoverLateBatch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, emulator.Config{})
	f.c.lateBatch = 2
	f.c.lateInterval = func(time.Duration) time.Duration { return 0 } // two runs in a row
	// The delivery deadline is left as it is: a partial order looked at before it (a
	// shortened deadline, say) stays partial, it never waits again.
	var ids []string
	for range 3 {
		res, err := f.c.Order(ctx, OrderRequest{GroupID: 5117, Quantity: 1, Country: "US"})
		if err != nil || res.State != StateImported {
			t.Fatal(res, err)
		}
		// Voxbone delivered 1 of 2: the row becomes a partial order of 2.
		rewriteOrder(t, f.store, res.OrderID, StatePartial, func(p *orderPayload) { p.Plan[0].Quantity = 2 })
		ids = append(ids, res.OrderID)
	}
	checkedAt := func() map[string]time.Time {
		out := map[string]time.Time{}
		for _, id := range ids {
			e, err := f.store.GetJournal(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			o, err := decodeOrder(e)
			if err != nil {
				t.Fatal(err)
			}
			if OrderState(e.State) != StatePartial {
				t.Errorf("order %s: %s, want partial", id, e.State)
			}
			if o.LateCheckedAt != nil {
				out[id] = *o.LateCheckedAt
			}
		}
		return out
	}
	run := func() {
		t.Helper()
		calls := f.e.Calls("did.list")
		rep, err := f.c.Recover(ctx)
		if err != nil || rep.LateChecked != 2 || rep.LateImported != 0 || len(rep.Unsettled) != 0 {
			t.Fatalf("recover: %+v, %v", rep, err)
		}
		if n := f.e.Calls("did.list") - calls; n != 2 {
			t.Errorf("%d DID listings, want 2 (one per order looked at)", n)
		}
	}
	run()
	first := checkedAt()
	if len(first) != 2 {
		t.Fatalf("%d orders looked at by the first run, want 2", len(first))
	}
	run()
	second := checkedAt()
	if len(second) != 3 {
		t.Fatalf("the second run did not look at the order the first left: %v", second)
	}
	// The second run looked at the one left, then the earlier of the first run's two.
	var earliest string
	for id, at := range first {
		if earliest == "" || at.Before(first[earliest]) {
			earliest = id
		}
	}
	for id, at := range first {
		if moved := !second[id].Equal(at); moved != (id == earliest) {
			t.Errorf("order %s looked at again: %v, want %v", id, moved, id == earliest)
		}
	}
}

// TestRecoverLateInterval: an order looked at 5 minutes ago gets no request; one looked at
// longer ago than its interval is looked at again.
func TestRecoverLateInterval(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	lo := newLateOrder(t, strings.Repeat("f", 32))
	store, ld, res := lo.store, lo.ld, lo.res
	srv, calls := countingServer(t, ld.srv.Config.Handler)
	at := func(d time.Duration) *Carrier {
		c := newTestCarrier(t, testSettings(srv.URL), Deps{Store: store})
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
	if o.LateCheckedAt == nil || time.Since(*o.LateCheckedAt) > -LateIntervalFirstDay {
		t.Errorf("late_checked_at %v, want the last look's", o.LateCheckedAt)
	}
	for since, want := range map[time.Duration]time.Duration{
		time.Hour:           LateIntervalFirstDay,
		2 * 24 * time.Hour:  LateIntervalFirstWeek,
		10 * 24 * time.Hour: LateIntervalLater,
	} {
		if got := lateDeliveryInterval(since); got != want {
			t.Errorf("interval %v after the checkout: %v, want %v", since, got, want)
		}
	}
}

// TestLateCheckedAtRace: the look is recorded even when finish's write loses the
// revision race.
func TestLateCheckedAtRace(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	lo := newLateOrder(t, strings.Repeat("a", 32))
	base, ld, res := lo.store, lo.ld, lo.res
	rs := &racingStore{Store: base, id: res.OrderID}
	rs.armed.Store(true)
	c := newTestCarrier(t, testSettings(ld.srv.URL), Deps{Store: rs})
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
	if o, _ := decodeOrder(e); o.LateCheckedAt == nil {
		t.Error("late_checked_at not recorded after the lost race")
	}
}
