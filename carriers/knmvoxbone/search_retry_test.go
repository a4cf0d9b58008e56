package knmvoxbone

import (
	"context"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/voxbone/emulator"
)

func TestSearchRetryWaitsForTheUnfinishedOrder(t *testing.T) {
	t.Parallel()
	testRetryWaitsForTheUnfinishedOrder(t, openSQLite(t))
}

// testRetryWaitsForTheUnfinishedOrder: a caller leaves as soon as its purchase is sent; its
// retry (same account, prefix, country, quantity) waits for that order and gets its
// numbers, and nothing is bought twice.
func testRetryWaitsForTheUnfinishedOrder(t *testing.T, store knm.Store) {
	f := newMoneyFixture(t, store, emulator.Config{}, slowEndpoint("did.list", 150*time.Millisecond))
	acct := account(t, store, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	first := searchAs(acct, 3, time.Minute)
	gone := newLeaveOnCommit(cancel)
	first.Progress = gone
	rows, err := f.c.FindNumbers(ctx, first)
	order := <-gone.order
	if len(rows) != 0 || !knm.IsErrorName(err, knm.ErrUnavailable) || !mentions(err, order) {
		t.Fatalf("the caller that left: %d rows, %v", len(rows), err)
	}
	retry, err := f.c.FindNumbers(context.Background(), searchAs(acct, 3, time.Minute))
	if err != nil || len(retry) != 3 {
		t.Fatalf("retry: %d rows, %v", len(retry), err)
	}
	res, err := f.c.GetOrder(context.Background(), order)
	if err != nil {
		t.Fatal(err)
	}
	got, want := numbersOf(retry), slices.Clone(res.Numbers)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("retry got %v, the order bought %v", got, want)
	}
	checkInvariants(t, f.e, store, 1)
}

func TestSearchRetryAfterACrashWaitsForRecovery(t *testing.T) {
	t.Parallel()
	testRetryAfterACrashWaitsForRecovery(t, openSQLite(t))
}

// testRetryAfterACrashWaitsForRecovery: the process buying for a search dies after the
// checkout; a new process (fresh memory) gets the same search again while the order is
// unfinished: it waits for the order, which recovery settles, and answers with its numbers,
// held for the account. Nothing is bought twice.
func testRetryAfterACrashWaitsForRecovery(t *testing.T, store knm.Store) {
	e := emulator.New(emulator.Config{})
	threeGroups(t, e)
	acct := account(t, store, 2)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sw := &crashSwitch{e: e, endpoint: "did.list", nth: 1, cancel: cancel}
	dying := httptest.NewServer(sw)
	t.Cleanup(dying.Close)
	old := newTestCarrier(t, testSettings(dying.URL), Deps{Store: crashStore{Store: store, crashed: &sw.crashed}})
	if rows, err := old.FindNumbers(ctx, searchAs(acct, 3, time.Minute)); len(rows) != 0 || err == nil {
		t.Fatalf("the dying search: %d rows, %v", len(rows), err)
	}
	good := httptest.NewServer(e)
	t.Cleanup(good.Close)
	restarted := newTestCarrier(t, testSettings(good.URL), Deps{Store: store})
	type answer struct {
		rows []knm.SearchRow
		err  error
	}
	done := make(chan answer, 1)
	go func() {
		rows, err := restarted.FindNumbers(context.Background(), searchAs(acct, 3, time.Minute))
		done <- answer{rows, err}
	}()
	time.Sleep(300 * time.Millisecond) // the retry is waiting for the order
	if _, err := restarted.Recover(context.Background()); err != nil {
		t.Fatal(err)
	}
	a := <-done
	if a.err != nil || len(a.rows) != 3 {
		t.Fatalf("retry: %d rows, %v", len(a.rows), a.err)
	}
	for _, r := range a.rows {
		n, err := store.GetNumber(context.Background(), r.Number)
		if err != nil || n.State != knm.StateReserved || n.AssignedTo != acct {
			t.Errorf("%s: %+v, %v; want held for %s", r.Number, n, err, acct)
		}
	}
	checkInvariants(t, e, store, 1)
}

func TestSearchIdempotencyKeyNeverBuysTwice(t *testing.T) {
	t.Parallel()
	testIdempotencyKeyNeverBuysTwice(t, openSQLite(t))
}

// testIdempotencyKeyNeverBuysTwice: a search with an Idempotency-Key whose numbers were
// activated since is answered again with those numbers, buying nothing; the key reused for
// another search is refused.
func testIdempotencyKeyNeverBuysTwice(t *testing.T, store knm.Store) {
	f := newMoneyFixture(t, store, emulator.Config{}, nil)
	acct := account(t, store, 3)
	ctx := context.Background()
	opts := searchAs(acct, 3, time.Minute)
	opts.IdempotencyKey = "k1"
	rows, err := f.c.FindNumbers(ctx, opts)
	if err != nil || len(rows) != 3 {
		t.Fatalf("first: %d rows, %v", len(rows), err)
	}
	for _, r := range rows { // the caller activates them
		n, err := store.GetNumber(ctx, r.Number)
		if err != nil {
			t.Fatal(err)
		}
		n.State, n.AssignedTo = knm.StateInService, acct
		if err := store.UpdateNumber(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	opts.Deadline = time.Now().Add(time.Minute)
	again, err := f.c.FindNumbers(ctx, opts)
	if err != nil || !slices.Equal(numbersOf(again), numbersOf(rows)) {
		t.Fatalf("retry: %v, %v; want %v", numbersOf(again), err, numbersOf(rows))
	}
	other := searchAs(acct, 2, time.Minute)
	other.IdempotencyKey = "k1"
	if _, err := f.c.FindNumbers(ctx, other); !knm.IsErrorName(err, knm.ErrInvalid) {
		t.Fatalf("the key reused for another search: %v", err)
	}
	checkInvariants(t, f.e, store, 1)
}

func TestHeldNumbersServeTheirAccountAndExpire(t *testing.T) {
	t.Parallel()
	testHeldNumbersServeTheirAccountAndExpire(t, openSQLite(t))
}

// testHeldNumbersServeTheirAccountAndExpire: numbers bought for a caller that left are held
// for its account: its next search gets them without buying, another account's does not;
// once the hold expires the untouched ones return to the pool.
func testHeldNumbersServeTheirAccountAndExpire(t *testing.T, store knm.Store) {
	f := newMoneyFixture(t, store, emulator.Config{}, slowEndpoint("did.list", 150*time.Millisecond))
	a, b := account(t, store, 4), account(t, store, 5)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	first := searchAs(a, 3, time.Minute)
	first.Progress = newLeaveOnCommit(cancel)
	_, _ = f.c.FindNumbers(ctx, first)
	held := waitHeld(t, store, a, 3)

	rowsB, err := f.c.FindNumbers(context.Background(), searchAs(b, 3, time.Minute))
	if err != nil || len(rowsB) != 3 {
		t.Fatalf("account b: %d rows, %v", len(rowsB), err)
	}
	for _, r := range rowsB {
		if slices.ContainsFunc(held, func(n *knm.Number) bool { return n.Number == r.Number }) {
			t.Fatalf("account b was offered %s, held for a", r.Number)
		}
	}
	rowsA, err := f.c.FindNumbers(context.Background(), searchAs(a, 3, time.Minute))
	if err != nil || len(rowsA) != 3 || rowsA[0].State != knm.StateReserved {
		t.Fatalf("account a: %+v, %v", rowsA, err)
	}
	if n := len(f.e.Orders()); n != 2 {
		t.Fatalf("%d orders, want 2 (a's once, b's once)", n)
	}

	activated := held[0].Clone() // a activates one of its held numbers
	activated.State = knm.StateInService
	if err := store.UpdateNumber(context.Background(), activated); err != nil {
		t.Fatal(err)
	}
	if n, err := f.c.ReleaseExpiredHolds(context.Background()); n != 0 || err != nil {
		t.Fatalf("before expiry: %d released, %v", n, err)
	}
	f.c.now = func() time.Time { return time.Now().Add(f.c.settings.HoldTTL + time.Minute) }
	if n, err := f.c.ReleaseExpiredHolds(context.Background()); n != 2 || err != nil {
		t.Fatalf("after expiry: %d released, %v; want 2", n, err)
	}
	for _, h := range held {
		n, err := store.GetNumber(context.Background(), h.Number)
		switch {
		case err != nil:
			t.Fatal(err)
		case h.Number == activated.Number && (n.State != knm.StateInService || n.AssignedTo != a):
			t.Errorf("the activated number was touched: %+v", n)
		case h.Number != activated.Number && (n.State != knm.StateAvailable || n.AssignedTo != ""):
			t.Errorf("%s after expiry: %s for %q", h.Number, n.State, n.AssignedTo)
		}
	}
	checkInvariants(t, f.e, store, 2)
}
