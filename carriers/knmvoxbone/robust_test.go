package knmvoxbone

import (
	"github.com/knmproject/knm/voxbone"
	"slices"
	"strings"

	"bytes"
	"context"
	"encoding/json"
	"github.com/knmproject/knm"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/knmproject/knm/voxbone/emulator"
)

// rewriter forwards to the emulator and lets a test edit the JSON answers of one endpoint
// (to lie about resultCount, add or spoil DIDs, ...). It also counts that endpoint's
// requests and the most of them in flight at once.
type rewriter struct {
	e        http.Handler // the emulator, or another rewriter
	endpoint string
	edit     func(r *http.Request, m map[string]any)
	delay    time.Duration

	calls, inflight, peak atomic.Int32
	mu                    sync.Mutex
}

func (rw *rewriter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if endpointOf(r) != rw.endpoint {
		rw.e.ServeHTTP(w, r)
		return
	}
	rw.calls.Add(1)
	n := rw.inflight.Add(1)
	defer rw.inflight.Add(-1)
	rw.mu.Lock()
	if n > rw.peak.Load() {
		rw.peak.Store(n)
	}
	rw.mu.Unlock()
	time.Sleep(rw.delay)
	rec := httptest.NewRecorder()
	rw.e.ServeHTTP(rec, r)
	var m map[string]any
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &m) != nil || rw.edit == nil {
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
		return
	}
	rw.edit(r, m)
	b, _ := json.Marshal(m)
	w.Header().Set("Content-Type", "application/json")
	w.Write(bytes.TrimSpace(b))
}

// TestHugeGroupCount: inventory/didgroup answering resultCount = MaxInt64 neither panics nor
// fires a request per claimed page: the page count is clamped, pages are fetched by at most
// groupWorkers at once, and the listing ends at the first short page.
func TestHugeGroupCount(t *testing.T) {
	t.Parallel()
	e := emulator.New(emulator.Config{})
	rw := &rewriter{e: e, endpoint: "didgroup.list", delay: 5 * time.Millisecond,
		edit: func(_ *http.Request, m map[string]any) { m["resultCount"] = json.Number("9223372036854775807") }}
	srv := httptest.NewServer(rw)
	defer srv.Close()
	s := testSettings(srv.URL)
	s.PageSize = 2
	c := newTestCarrier(t, s, openSQLite(t), nil)
	direct := httptest.NewServer(e)
	defer direct.Close()
	ds := testSettings(direct.URL)
	ds.PageSize = 2
	want, err := newTestCarrier(t, ds, openSQLite(t), nil).Quote(context.Background(), QuoteRequest{Country: "US"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Quote(context.Background(), QuoteRequest{Country: "US"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) || len(want) < 10 {
		t.Errorf("quoted %d groups, want %d", len(got), len(want))
	}
	if n, most := int(rw.calls.Load()), (len(want)+1)/2+1+groupWorkers; n > most {
		t.Errorf("%d didgroup requests for %d groups, want at most %d", n, len(want), most)
	}
	if p := rw.peak.Load(); p > groupWorkers {
		t.Errorf("%d didgroup requests in flight at once, want at most %d", p, groupWorkers)
	}
}

// TestLowGroupCount: a resultCount lower than the truth (here: the page length) still
// lists every group.
func TestLowGroupCount(t *testing.T) {
	t.Parallel()
	e := emulator.New(emulator.Config{})
	rw := &rewriter{e: e, endpoint: "didgroup.list", edit: func(_ *http.Request, m map[string]any) {
		gs, _ := m["didGroups"].([]any)
		m["resultCount"] = len(gs)
	}}
	srv := httptest.NewServer(rw)
	defer srv.Close()
	direct := httptest.NewServer(e)
	defer direct.Close()
	quote := func(url string) []GroupQuote {
		s := testSettings(url)
		s.PageSize = 3
		q, err := newTestCarrier(t, s, openSQLite(t), nil).Quote(context.Background(), QuoteRequest{Country: "US"})
		if err != nil {
			t.Fatal(err)
		}
		return q
	}
	if got, want := len(quote(srv.URL)), len(quote(direct.URL)); got != want {
		t.Errorf("quoted %d groups, want %d", got, want)
	}
}

// lateDelivery makes group 5116 look as if it had 5 DIDs in stock while the emulator has
// 2, so an order of 3 is back-ordered by one; once deliver is set, inventory/did answers
// for the order's reference (and for the whole account) also list a third DID, as Voxbone
// does when it delivers late.
type lateDelivery struct {
	e       *emulator.Emulator
	srv     *httptest.Server
	deliver atomic.Bool
	late    string // the late DID's e164
}

func newLateDelivery(t *testing.T) *lateDelivery {
	t.Helper()
	ld := &lateDelivery{e: emulator.New(emulator.Config{}), late: "+12565550199"}
	threeGroups(t, ld.e)
	if err := ld.e.SetStock(5116, 2); err != nil {
		t.Fatal(err)
	}
	groups := &rewriter{e: ld.e, endpoint: "didgroup.list", edit: func(_ *http.Request, m map[string]any) {
		gs, _ := m["didGroups"].([]any)
		for _, g := range gs {
			if g := g.(map[string]any); g["didGroupId"] == float64(5116) {
				g["stock"] = 5
			}
		}
	}}
	dids := &rewriter{e: groups, endpoint: "did.list", edit: func(r *http.Request, m map[string]any) {
		q := r.URL.Query()
		ref := q.Get("orderReference")
		whole := ref == "" && q.Get("e164Pattern") == "" && q.Get("didIds") == "" // the account's listing
		ds, _ := m["dids"].([]any)
		if !ld.deliver.Load() || (ref == "" && !whole) || len(ds) == 0 {
			return
		}
		d := map[string]any{}
		for k, v := range ds[0].(map[string]any) {
			d[k] = v
		}
		d["didId"], d["e164"] = 999999, ld.late
		m["dids"] = append(ds, d)
		m["resultCount"] = len(ds) + 1
	}}
	ld.srv = httptest.NewServer(dids)
	t.Cleanup(ld.srv.Close)
	return ld
}

// lateCarrier returns a carrier on ld whose orders are past their delivery deadline at
// once (a short order ends partial), after creating account acct in store when acct is
// not "".
func lateCarrier(t *testing.T, ld *lateDelivery, store knm.Store, acct string) *Carrier {
	t.Helper()
	if acct != "" {
		if err := store.CreateAccount(context.Background(), &knm.Account{ID: acct, Name: acct[:1], Enabled: true}); err != nil {
			t.Fatal(err)
		}
	}
	c := newTestCarrier(t, testSettings(ld.srv.URL), store, nil)
	c.deliveryDeadline = -time.Hour
	return c
}

// TestAwaitingDelivery: an order Voxbone delivers short is not final. The native order
// answers with its state and the reason (no Go error: money was spent); Recover looks again
// and imports the DIDs delivered late, and only then is the order imported.
func TestAwaitingDelivery(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ld := newLateDelivery(t)
	store := openSQLite(t)
	c := newTestCarrier(t, testSettings(ld.srv.URL), store, nil)
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
	if err != nil || got.State != StateImported || len(got.Numbers) != 3 || !slices.Contains(got.Numbers, ld.late) || got.Error != "" {
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
	c := newTestCarrier(t, testSettings(ld.srv.URL), store, nil)
	rows, err := search256(ctx, c, 3)
	if len(rows) != 2 || !knm.IsErrorName(err, knm.ErrUnavailable) || !strings.Contains(err.Error(), "awaited") {
		t.Fatalf("short search: %d rows, %v", len(rows), err)
	}
	later := newTestCarrier(t, testSettings(ld.srv.URL), store, nil)
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

// TestBadE164: a bought DID whose e164 is null or garbage is not stored (as "+" or
// otherwise); the others are, and the order counts it as not delivered.
func TestBadE164(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := emulator.New(emulator.Config{})
	threeGroups(t, e)
	var spoilt atomic.Value
	rw := &rewriter{e: e, endpoint: "did.list", edit: func(_ *http.Request, m map[string]any) {
		ds, _ := m["dids"].([]any)
		if len(ds) > 0 {
			d := ds[0].(map[string]any)
			spoilt.Store(d["e164"])
			d["e164"] = nil
		}
		if len(ds) > 1 {
			ds[1].(map[string]any)["e164"] = "+1-256-CALL-NOW"
		}
	}}
	srv := httptest.NewServer(rw)
	defer srv.Close()
	store := openSQLite(t)
	c := newTestCarrier(t, testSettings(srv.URL), store, nil)
	res, err := c.Order(ctx, OrderRequest{GroupID: 5116, Quantity: 4, Country: "US"})
	if err != nil {
		t.Fatal(err)
	}
	if res.State != StateAwaitingDelivery || len(res.Numbers) != 2 || !strings.Contains(res.Error, "unusable") {
		t.Fatalf("order %s, %v, %q", res.State, res.Numbers, res.Error)
	}
	ns, _ := store.FindNumbers(ctx, knm.NumberFilter{Module: ModuleName})
	if len(ns) != 2 {
		t.Errorf("%d numbers stored, want 2", len(ns))
	}
	for _, n := range ns {
		if _, ok := didE164(n.Number); !ok {
			t.Errorf("stored %q", n.Number)
		}
	}
	for _, s := range []string{"", "+", "null", "+1256", "+1234567890123456", "12565550100x", "+12565550100"} {
		_, ok := didE164(s)
		if ok != (s == "+12565550100") {
			t.Errorf("didE164(%q) ok=%v", s, ok)
		}
	}
}

// TestReconcileBeforeRecoverAssignTo: the process buying for an account dies right after
// the checkout. reconcile --import then leaves the order's DIDs alone (they are Recover's),
// and Recover stores them in service for the account.
func TestReconcileBeforeRecoverAssignTo(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e, store, acct, s := diedAfterCheckout(t)
	c := newTestCarrier(t, s, store, nil)
	rep, err := c.Reconcile(ctx, true)
	if err != nil || rep.Imported != 0 || len(rep.InOrders) != 3 || len(rep.UnknownToKnm) != 0 {
		t.Fatalf("reconcile %+v, %v", rep, err)
	}
	if rr, err := c.Recover(ctx); err != nil || rr.Imported != 1 {
		t.Fatalf("recover %+v, %v", rr, err)
	}
	assertAssigned(t, store, c, acct, 3)
	checkInvariants(t, e, store, 1)
}

// TestAssignToFromPool: DIDs of an assign_to order already stored available (by an older
// reconcile --import, say) are moved in service to the account by Recover; one stored for
// another account is left alone and reported as the order's conflict, and the order finishes.
func TestAssignToFromPool(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e, store, acct, s := diedAfterCheckout(t)
	var pool []*knm.Number
	for _, d := range e.DIDs() {
		n, _ := (&Carrier{}).didNumber(voxbone.DID{E164: d.E164}, "")
		pool = append(pool, n)
	}
	if skipped, err := store.ImportNumbers(ctx, pool); err != nil || len(skipped) != 0 {
		t.Fatal(skipped, err)
	}
	c := newTestCarrier(t, s, store, nil)
	if rr, err := c.Recover(ctx); err != nil || rr.Imported != 1 {
		t.Fatalf("recover %+v, %v", rr, err)
	}
	assertAssigned(t, store, c, acct, 3)

	// Another order whose DID someone else holds meanwhile.
	e2, store2, acct2, s2 := diedAfterCheckout(t)
	other := strings.Repeat("c", 32)
	if err := store2.CreateAccount(ctx, &knm.Account{ID: other, Name: "c", Enabled: true}); err != nil {
		t.Fatal(err)
	}
	taken, _ := (&Carrier{}).didNumber(voxbone.DID{E164: e2.DIDs()[0].E164}, other)
	if _, err := store2.ImportNumbers(ctx, []*knm.Number{taken}); err != nil {
		t.Fatal(err)
	}
	c2 := newTestCarrier(t, s2, store2, nil)
	rr, err := c2.Recover(ctx)
	if err != nil || rr.Imported != 1 || len(rr.Unsettled) != 0 {
		t.Fatalf("recover with a conflict %+v, %v", rr, err)
	}
	if n, _ := store2.GetNumber(ctx, taken.Number); n.AssignedTo != other {
		t.Errorf("%s moved to %q", taken.Number, n.AssignedTo)
	}
	// The order finishes: the conflicting DID counts as delivered, not imported, and is
	// reported on the order and by Reconcile.
	os, _ := c2.ListOrders(ctx)
	if len(os) != 1 || os[0].State != StateImported || len(os[0].Numbers) != 2 || slices.Contains(os[0].Numbers, taken.Number) ||
		len(os[0].Conflicts) != 1 || !strings.Contains(os[0].Conflicts[0], other) || !strings.Contains(os[0].Error, taken.Number) {
		t.Errorf("order with a conflict: %+v", os)
	}
	assertAssigned(t, store2, c2, acct2, 2)
	rep, err := c2.Reconcile(ctx, false)
	if err != nil || len(rep.OrderConflicts) != 1 || !strings.Contains(rep.OrderConflicts[0], os[0].OrderID) ||
		!strings.Contains(rep.OrderConflicts[0], taken.Number) {
		t.Errorf("reconcile with a conflict: %+v, %v", rep, err)
	}
	if rr, err := c2.Recover(ctx); err != nil || rr.Examined != 0 {
		t.Errorf("recover again: %+v, %v", rr, err)
	}
}

// diedAfterCheckout: a carrier buying 3 DIDs of group 5116 for a new account dies as the
// checkout takes effect; its journal row stays checkout_sent.
func diedAfterCheckout(t *testing.T) (*emulator.Emulator, knm.Store, string, Settings) {
	t.Helper()
	ctx := context.Background()
	e := emulator.New(emulator.Config{})
	threeGroups(t, e)
	store := openSQLite(t)
	acct := strings.Repeat("b", 32)
	if err := store.CreateAccount(ctx, &knm.Account{ID: acct, Name: "b", Enabled: true}); err != nil {
		t.Fatal(err)
	}
	good := httptest.NewServer(e)
	t.Cleanup(good.Close)
	sctx, scancel := context.WithCancel(ctx)
	t.Cleanup(scancel)
	sw := &crashSwitch{e: e, endpoint: "cart.checkout", nth: 1, effect: true, cancel: scancel}
	dying := httptest.NewServer(sw)
	t.Cleanup(dying.Close)
	ds := testSettings(dying.URL)
	old := newTestCarrier(t, ds, crashStore{Store: store, crashed: &sw.crashed}, nil)
	// The checkout was sent: the order answers with its state, not an error.
	res, err := old.Order(sctx, OrderRequest{GroupID: 5116, Quantity: 3, Country: "US", AssignTo: acct, IdempotencyKey: "k"})
	if err != nil || res.State != StateCheckoutSent || res.Error == "" {
		t.Fatalf("the dying order: %+v, %v", res, err)
	}
	if len(e.DIDs()) != 3 {
		t.Fatalf("emulator has %d DIDs", len(e.DIDs()))
	}
	return e, store, acct, testSettings(good.URL)
}

func assertAssigned(t *testing.T, store knm.Store, c *Carrier, acct string, want int) {
	t.Helper()
	ctx := context.Background()
	os, _ := c.ListOrders(ctx)
	if len(os) != 1 || os[0].State != StateImported || len(os[0].Numbers) != want {
		t.Fatalf("orders %+v", os)
	}
	for _, num := range os[0].Numbers {
		n, err := store.GetNumber(ctx, num)
		if err != nil || n.State != knm.StateInService || n.AssignedTo != acct {
			t.Errorf("%s bought for %s is %+v, %v", num, acct, n, err)
		}
	}
}

// TestOrphanedIdempotencyKey: a key claimed by a process that died before writing its
// order is usable again (its order id is fenced, so that process could not buy), repeats
// replay the order placed then, and a repeat asking for something else is refused.
func TestOrphanedIdempotencyKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, nil, emulator.Config{})
	dead := OrderPrefix + "deaddeaddeaddeaddeaddead"
	if _, claimed, err := f.store.ClaimIdempotencyKey(ctx, "voxbone.order:k", dead); err != nil || !claimed {
		t.Fatal(claimed, err)
	}
	req := OrderRequest{GroupID: 5116, Quantity: 2, Country: "US", IdempotencyKey: "k"}
	first, err := f.c.Order(ctx, req)
	if err != nil || first.State != StateImported || first.Replayed || len(first.Numbers) != 2 {
		t.Fatalf("order with an orphaned key: %+v, %v", first, err)
	}
	again, err := f.c.Order(ctx, req)
	if err != nil || !again.Replayed || again.OrderID != first.OrderID {
		t.Fatalf("repeat: %+v, %v", again, err)
	}
	fence, err := f.c.GetOrder(ctx, dead)
	if err != nil || fence.State != StateFailed {
		t.Fatalf("orphan's row %+v, %v", fence, err)
	}
	// The dead process, were it alive, could no longer write its order.
	if _, err := f.c.createOrder(ctx, orderPayload{OrderID: dead}); !knm.IsErrorName(err, knm.ErrConflict) {
		t.Errorf("orphan's order id still writable: %v", err)
	}
	req.Quantity = 3
	if _, err := f.c.Order(ctx, req); !knm.IsErrorName(err, knm.ErrInvalid) || !strings.Contains(err.Error(), "different request") {
		t.Errorf("key reused for 3 DIDs: %v", err)
	}
	if os, _ := f.c.ListOrders(ctx); len(os) != 1 {
		t.Errorf("%d orders listed, want 1", len(os))
	}
	checkInvariants(t, f.e, f.store, 1)
}

// TestConcurrentIdempotentOrders: many requests with one key at once buy once; every
// loser replays the winner's order.
func TestConcurrentIdempotentOrders(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, nil, emulator.Config{})
	req := OrderRequest{GroupID: 5117, Quantity: 2, Country: "US", IdempotencyKey: "same"}
	var wg sync.WaitGroup
	ids := make([]string, 8)
	for i := range ids {
		wg.Go(func() {
			res, err := f.c.Order(ctx, req)
			if err != nil {
				t.Errorf("order: %v", err)
				return
			}
			ids[i] = res.OrderID
		})
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Errorf("orders %v", ids)
			break
		}
	}
	checkInvariants(t, f.e, f.store, 1)
}

// TestBudgetAcrossOrders: money planned by an order in progress is not planned again by
// another order of the same process before its checkout.
func TestBudgetAcrossOrders(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, nil, emulator.Config{})
	g, _ := f.e.DIDGroup(5116)
	unit := g.Setup100 + g.Monthly100
	f.e.SetBalance(float64(3*unit) / 100)
	cat, err := f.c.fetchCatalogue(ctx, groupQuery{CountryA3: "USA", AreaCode: "256"})
	if err != nil {
		t.Fatal(err)
	}
	a := f.c.plan(cat, 3)
	if a.qty != 3 || a.short != nil {
		t.Fatalf("first plan %+v", a)
	}
	b := f.c.plan(cat, 3)
	if b.qty != 0 || !knm.IsErrorName(b.short, knm.ErrNotEnoughCredit) {
		t.Fatalf("second plan while the first is in progress: %+v", b)
	}
	f.c.release(a.lines)
	if c := f.c.plan(cat, 3); c.qty != 3 {
		t.Fatalf("plan after the first released: %+v", c)
	}
}

// TestReleaseClientGone: the client hangs up as the cancel is sent; the cancel and its
// re-check still finish, so knm lets go of the number Voxbone cancelled.
func TestReleaseClientGone(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil, emulator.Config{})
	rows, err := search256(context.Background(), f.c, 1)
	if err != nil || len(rows) != 1 {
		t.Fatal(rows, err)
	}
	n, _ := f.store.GetNumber(context.Background(), rows[0].Number)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if endpointOf(r) == "cancel" {
			f.e.ServeHTTP(httptest.NewRecorder(), r) // the cancel happens
			cancel()                                 // the client hangs up
			panic(http.ErrAbortHandler)              // and the answer is lost
		}
		f.e.ServeHTTP(w, r)
	}))
	defer srv.Close()
	c := newTestCarrier(t, testSettings(srv.URL), f.store, nil)
	if err := c.DisconnectNumber(ctx, n); err != nil {
		t.Fatalf("release with the client gone: %v", err)
	}
	if len(f.e.DIDs()) != 0 {
		t.Errorf("DID not cancelled")
	}
}
