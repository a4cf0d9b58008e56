package knmvoxbone

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/voxbone/emulator"
)

func TestConcurrentSearchesShareOneOrder(t *testing.T) {
	t.Parallel()
	testConcurrentSearchesShareOneOrder(t, openSQLite(t))
}

// testConcurrentSearchesShareOneOrder: 20 accounts search 2 numbers each in the same DID
// groups at once, and a third of them give up as soon as the purchase is sent. The searches
// share few orders (not one each); every DID bought is either delivered to exactly one caller
// or held for the account of a caller that left; none is lost or given twice.
func testConcurrentSearchesShareOneOrder(t *testing.T, store knm.Store) {
	const callers, each = 20, 2
	f := newMoneyFixture(t, store, emulator.Config{}, nil)
	for _, id := range area256[:3] {
		if err := f.e.SetStock(id, 20); err != nil {
			t.Fatal(err)
		}
	}
	f.c.settings.CoalesceWindow = 200 * time.Millisecond // generous: the machine may be loaded
	accts := make([]string, callers)
	for i := range accts {
		accts[i] = account(t, store, 100+i)
	}
	got := make([][]knm.SearchRow, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			opts := searchAs(accts[i], each, time.Minute)
			if i%3 == 0 {
				opts.Progress = newLeaveOnCommit(cancel)
			}
			rows, err := f.c.FindNumbers(ctx, opts)
			if i%3 != 0 && (err != nil || len(rows) != each) {
				t.Errorf("caller %d: %d rows, %v", i, len(rows), err)
			}
			got[i] = rows
		})
	}
	wg.Wait()
	owner := map[string]string{}
	for i, rows := range got {
		for _, r := range rows {
			if prev, ok := owner[r.Number]; ok {
				t.Errorf("%s given to %s and %s", r.Number, prev, accts[i])
			}
			owner[r.Number] = accts[i]
		}
	}
	for i := 0; i < callers; i += 3 { // the callers that left: theirs are held for them
		for _, n := range waitHeld(t, store, accts[i], each) {
			if prev, ok := owner[n.Number]; ok {
				t.Errorf("%s held for %s but given to %s", n.Number, accts[i], prev)
			}
			owner[n.Number] = accts[i]
		}
	}
	if bought := len(f.e.DIDs()); bought != len(owner) || bought != callers*each {
		t.Errorf("%d DIDs bought, %d delivered or held, %d wanted", bought, len(owner), callers*each)
	}
	if n := len(f.e.Orders()); n > callers/4 {
		t.Errorf("%d orders for %d searches: they were not coalesced", n, callers)
	}
	checkInvariants(t, f.e, store, callers/4)
}

func TestSearchRefusedWhenTheBudgetCannotCarryIt(t *testing.T) {
	t.Parallel()
	testSearchRefusedWhenTheBudgetCannotCarryIt(t, openSQLite(t))
}

// testSearchRefusedWhenTheBudgetCannotCarryIt: at 3 requests/s an order (7 requests) cannot
// be done within half a second: the search is refused at once with Retry-After, sends no
// request, and still offers the pool; with a longer deadline it buys.
func testSearchRefusedWhenTheBudgetCannotCarryIt(t *testing.T, store knm.Store) {
	e := emulator.New(emulator.Config{})
	threeGroups(t, e)
	srv, requests := countingServer(t, e)
	s := testSettings(srv.URL)
	s.RateLimitRPS = 3
	c := newTestCarrier(t, s, Deps{Store: store})
	acct := account(t, store, 6)
	pooled := &knm.Number{Number: "+12565550100", State: knm.StateAvailable}
	pooled.SetModule(ModuleName)
	if err := store.CreateNumber(context.Background(), pooled); err != nil {
		t.Fatal(err)
	}
	rows, err := c.FindNumbers(context.Background(), searchAs(acct, 3, 500*time.Millisecond))
	after, ok := knm.RetryAfter(err)
	if !ok || after < time.Second || !knm.IsErrorName(err, knm.ErrTooManyRequests) {
		t.Fatalf("refusal: %v (retry after %v)", err, after)
	}
	if len(rows) != 1 || rows[0].Number != pooled.Number {
		t.Fatalf("the pool was not offered: %+v", rows)
	}
	if n := requests.Load(); n != 0 {
		t.Fatalf("%d requests sent for a refused purchase", n)
	}
	rows, err = c.FindNumbers(context.Background(), searchAs(acct, 3, time.Minute))
	if err != nil || len(rows) != 3 {
		t.Fatalf("with time to buy: %d rows, %v", len(rows), err)
	}
	if len(e.Orders()) != 1 || len(e.DIDs()) != 2 || len(e.Carts()) != 0 {
		t.Fatalf("%d orders, %d DIDs, %d carts; want one order of the shortfall, 2", len(e.Orders()), len(e.DIDs()),
			len(e.Carts()))
	}
}

func TestSearchLeftBeforeCheckoutBuysNothing(t *testing.T) {
	t.Parallel()
	testSearchLeftBeforeCheckoutBuysNothing(t, openSQLite(t))
}

// testSearchLeftBeforeCheckoutBuysNothing: when every caller of a batch has left before
// its checkout, the batch stops there: no order, its cart deleted, nothing held.
func testSearchLeftBeforeCheckoutBuysNothing(t *testing.T, store knm.Store) {
	f := newMoneyFixture(t, store, emulator.Config{}, slowEndpoint("cart.add", 300*time.Millisecond))
	acct := account(t, store, 7)
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	rows, err := f.c.FindNumbers(ctx, searchAs(acct, 3, time.Minute))
	if len(rows) != 0 || err == nil {
		t.Fatalf("the caller that left: %d rows, %v", len(rows), err)
	}
	for start := time.Now(); time.Since(start) < 30*time.Second; time.Sleep(20 * time.Millisecond) {
		es, err := store.FindJournals(context.Background(), knm.JournalFilter{Carrier: ModuleName})
		if err != nil {
			t.Fatal(err)
		}
		if len(es) == 1 && es[0].State == string(StateFailed) {
			break
		}
	}
	if len(f.e.Orders()) != 0 || len(f.e.DIDs()) != 0 {
		t.Fatalf("%d orders, %d DIDs bought for a caller that left", len(f.e.Orders()), len(f.e.DIDs()))
	}
	checkInvariants(t, f.e, store, 0)
}

// TestAdmissionCountsTheGroupsOfTheLastOrder: an order that planned three DID groups sent
// three adds; the next admission of the same query expects as many.
func TestAdmissionCountsTheGroupsOfTheLastOrder(t *testing.T) {
	t.Parallel()
	f := newMoneyFixture(t, openSQLite(t), emulator.Config{}, nil)
	q := groupQuery{CountryA3: "USA", DIDType: "GEOGRAPHIC", AreaCode: "256"}
	if n := f.c.orderRequests(q, 2); n != 7 {
		t.Fatalf("before any order: %d requests expected, want 7", n)
	}
	if rows, err := f.c.FindNumbers(context.Background(), searchAs(account(t, f.store, 8), 15, time.Minute)); err != nil ||
		len(rows) != 15 {
		t.Fatalf("buy 15: %d rows, %v", len(rows), err)
	}
	if n := f.c.orderRequests(q, 2); n != 9 {
		t.Fatalf("after an order of three groups: %d requests expected, want 9", n)
	}
}

// TestNumbersHandedToASearchAreNotOfferedToAnotherAccount: numbers bought for and handed to
// one account's search stay available for it to activate, and are not offered to another
// account's search meanwhile (which buys its own); the first account's next search sees them.
func TestNumbersHandedToASearchAreNotOfferedToAnotherAccount(t *testing.T) {
	t.Parallel()
	store := openSQLite(t)
	f := newMoneyFixture(t, store, emulator.Config{}, nil)
	a, b := account(t, store, 9), account(t, store, 10)
	ctx := context.Background()
	rowsA, err := f.c.FindNumbers(ctx, searchAs(a, 2, time.Minute))
	if err != nil || len(rowsA) != 2 || rowsA[0].State != knm.StateAvailable {
		t.Fatalf("a: %+v, %v", rowsA, err)
	}
	rowsB, err := f.c.FindNumbers(ctx, searchAs(b, 2, time.Minute))
	if err != nil || len(rowsB) != 2 {
		t.Fatalf("b: %+v, %v", rowsB, err)
	}
	for _, r := range rowsB {
		if slices.Contains(numbersOf(rowsA), r.Number) {
			t.Fatalf("b was offered %s, handed to a", r.Number)
		}
	}
	again, err := f.c.FindNumbers(ctx, searchAs(a, 2, time.Minute))
	got, want := numbersOf(again), numbersOf(rowsA)
	slices.Sort(got)
	slices.Sort(want)
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("a again: %v, %v; want %v", numbersOf(again), err, numbersOf(rowsA))
	}
	if n := len(f.e.Orders()); n != 2 {
		t.Fatalf("%d orders, want 2", n)
	}
}
