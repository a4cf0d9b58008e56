package knmvoxbone

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/store/sqlite"
	"github.com/knmproject/knm/voxbone"
	"github.com/knmproject/knm/voxbone/emulator"
)

var quiet = slog.New(slog.DiscardHandler)

// area256 are the US 256 groups of the emulator's catalogue; tests keep three of them with
// stock 5 so a 15-number buy spans three groups.
var area256 = []int{5116, 5117, 12518, 5118, 5119, 5120, 5121, 5122, 5123}

// threeGroups sets stock 5 in the first three 256 groups and 0 in the others.
func threeGroups(t testing.TB, e *emulator.Emulator) {
	t.Helper()
	for i, id := range area256 {
		stock := 0
		if i < 3 {
			stock = 5
		}
		if err := e.SetStock(id, stock); err != nil {
			t.Fatal(err)
		}
	}
}

// endpointOf names a request as the emulator does (faults.go endpoint names).
func endpointOf(r *http.Request) string {
	p := strings.TrimPrefix(r.URL.Path, emulator.BasePath)
	segs := strings.Split(strings.TrimSuffix(p, "/"), "/")
	switch {
	case p == "ordering/accountbalance":
		return "accountbalance"
	case p == "inventory/didgroup":
		return "didgroup.list"
	case p == "inventory/did":
		return "did.list"
	case p == "ordering/cancel":
		return "cancel"
	case p == "ordering/order":
		return "order.list"
	case p == "ordering/cart" && r.Method == http.MethodPut:
		return "cart.create"
	case p == "ordering/cart":
		return "cart.list"
	case p == "configuration/voiceuri" && r.Method == http.MethodPut:
		return "voiceuri.save"
	case p == "configuration/voiceuri":
		return "voiceuri.list"
	case p == "configuration/configuration":
		return "configuration"
	case len(segs) == 4 && segs[3] == "product":
		return "cart.add"
	case len(segs) == 4 && segs[3] == "checkout":
		return "cart.checkout"
	case len(segs) == 3 && r.Method == http.MethodDelete:
		return "cart.delete"
	}
	return ""
}

// crashSwitch stands between a carrier and the emulator and simulates the carrier's process
// dying at the nth request to an endpoint: it cancels the carrier's context, optionally lets
// the request take effect first (the process died after Voxbone acted), and from then on
// answers nothing to that carrier, as a dead process sends nothing.
type crashSwitch struct {
	e        *emulator.Emulator
	endpoint string
	nth      int32
	effect   bool
	cancel   context.CancelFunc
	count    atomic.Int32
	crashed  atomic.Bool
}

func (s *crashSwitch) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.crashed.Load() {
		panic(http.ErrAbortHandler)
	}
	if s.endpoint != "" && endpointOf(r) == s.endpoint && s.count.Add(1) == s.nth {
		s.crashed.Store(true)
		if s.cancel != nil {
			s.cancel()
		}
		if s.effect {
			s.e.ServeHTTP(httptest.NewRecorder(), r)
		}
		panic(http.ErrAbortHandler)
	}
	s.e.ServeHTTP(w, r)
}

var errCrashed = errors.New("process crashed")

// crashStore fails every write once the process has crashed.
type crashStore struct {
	knm.Store
	crashed *atomic.Bool
}

func (s crashStore) check() error {
	if s.crashed.Load() {
		return errCrashed
	}
	return nil
}

func (s crashStore) CreateNumber(ctx context.Context, n *knm.Number) error {
	if err := s.check(); err != nil {
		return err
	}
	return s.Store.CreateNumber(ctx, n)
}

func (s crashStore) UpdateNumber(ctx context.Context, n *knm.Number) error {
	if err := s.check(); err != nil {
		return err
	}
	return s.Store.UpdateNumber(ctx, n)
}

func (s crashStore) ImportNumbers(ctx context.Context, ns []*knm.Number) ([]string, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	return s.Store.ImportNumbers(ctx, ns)
}

func (s crashStore) CreateJournal(ctx context.Context, e *knm.JournalEntry) error {
	if err := s.check(); err != nil {
		return err
	}
	return s.Store.CreateJournal(ctx, e)
}

func (s crashStore) UpdateJournal(ctx context.Context, e *knm.JournalEntry) error {
	if err := s.check(); err != nil {
		return err
	}
	return s.Store.UpdateJournal(ctx, e)
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

// countingServer serves h and counts the requests it gets.
func countingServer(t *testing.T, h http.Handler) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// openSQLite opens a fresh SQLite store for one test.
func openSQLite(t testing.TB) knm.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "knm.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// putSettings stores a number_manager.voxbone document body.
func putSettings(t *testing.T, s knm.Store, body string) {
	t.Helper()
	if err := s.PutConfig(context.Background(), &knm.ConfigDoc{ID: Category, Body: []byte(body)}); err != nil {
		t.Fatal(err)
	}
}

// fastRetry keeps retried GETs quick in tests.
var fastRetry = voxbone.RetryPolicy{MaxRetries: 3, WaitMin: 5 * time.Millisecond, WaitMax: 40 * time.Millisecond}

// testSettings are short-timeout settings for the emulator at url.
func testSettings(url string) Settings {
	s := DefaultSettings()
	s.BaseURL = url + "/ws-voxbone/services/rest"
	s.RequestTimeout = 300 * time.Millisecond
	s.RateLimitRPS = 1000
	return s
}

// newTestCarrier builds every carrier of the tests: settings s (see testSettings), d.Store
// (a fresh SQLite store when nil), d's limiter and reservations, fast retries, and the one
// test account.
func newTestCarrier(t testing.TB, s Settings, d Deps) *Carrier {
	t.Helper()
	if d.Store == nil {
		d.Store = openSQLite(t)
	}
	d.Logger = quiet
	d.ClientOptions = []voxbone.Option{voxbone.WithRetryPolicy(fastRetry)}
	c, err := New(s, d)
	if err != nil {
		t.Fatal(err)
	}
	c.settleTimeout = 3 * time.Second
	// Every test server (a crash switch, a rewriter, the emulator itself) stands for the one
	// test account; a test of another account sets account itself.
	c.account = "test-account"
	return c
}

// fixture is an emulator behind a loopback server, a store and a carrier.
type fixture struct {
	e     *emulator.Emulator
	srv   *httptest.Server
	store knm.Store
	c     *Carrier
	s     Settings
}

// newFixture starts an emulator with stock in three 256 groups and builds a carrier on a
// fresh store for it.
func newFixture(t testing.TB, cfg emulator.Config) *fixture {
	t.Helper()
	e := emulator.New(cfg)
	threeGroups(t, e)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	store := openSQLite(t)
	s := testSettings(srv.URL)
	return &fixture{e: e, srv: srv, store: store, c: newTestCarrier(t, s, Deps{Store: store}), s: s}
}

// search256 runs the acceptance search: prefix 256, country US.
func search256(ctx context.Context, c *Carrier, qty int) ([]knm.SearchRow, error) {
	return c.FindNumbers(ctx, knm.SearchOptions{Country: "US", Prefix: knm.SearchPrefix{Dialcode: "+1", National: "256"}, Quantity: qty, QueryID: "US-256-test"})
}

// buy buys qty numbers in 256 through c and returns them as store holds them.
func buy(t testing.TB, c *Carrier, store knm.Store, qty int) []*knm.Number {
	t.Helper()
	ctx := context.Background()
	rows, err := search256(ctx, c, qty)
	if err != nil || len(rows) != qty {
		t.Fatalf("buy: %d rows, %v", len(rows), err)
	}
	ns := make([]*knm.Number, len(rows))
	for i, r := range rows {
		if ns[i], err = store.GetNumber(ctx, r.Number); err != nil {
			t.Fatal(err)
		}
	}
	return ns
}

// checkInvariants asserts that knm's knm_voxbone numbers are exactly the emulator's DIDs,
// that no knm cart is left, and that at most maxOrders orders were placed.
func checkInvariants(t testing.TB, e *emulator.Emulator, store knm.Store, maxOrders int) {
	t.Helper()
	ctx := context.Background()
	ns, err := store.FindNumbers(ctx, knm.NumberFilter{Module: ModuleName})
	if err != nil {
		t.Fatal(err)
	}
	var db, vx []string
	for _, n := range ns {
		db = append(db, n.Number)
	}
	for _, d := range e.DIDs() {
		num := d.E164
		if !strings.HasPrefix(num, "+") {
			num = "+" + num
		}
		vx = append(vx, num)
	}
	slices.Sort(db)
	slices.Sort(vx)
	if !slices.Equal(db, vx) {
		t.Errorf("knm numbers %d %v\n  != emulator DIDs %d %v", len(db), db, len(vx), vx)
	}
	for _, c := range e.Carts() {
		if strings.HasPrefix(c.CustomerReference, OrderPrefix) {
			t.Errorf("knm cart left behind: %+v", c)
		}
	}
	if n := len(e.Orders()); n > maxOrders {
		t.Errorf("%d orders placed, want at most %d", n, maxOrders)
	}
	refs := map[string]int{}
	for _, o := range e.Orders() {
		refs[o.CustomerReference]++
	}
	for ref, n := range refs {
		if n > 1 {
			t.Errorf("order %s was placed %d times", ref, n)
		}
	}
	es, err := store.FindJournals(ctx, knm.JournalFilter{Carrier: ModuleName, States: unfinishedStates})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		t.Errorf("journal row %s left unfinished in %s", e.ID, e.State)
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

// lateOrder is an order of 3 DIDs of group 5116, for acct when not "", that Voxbone
// delivers 2 of (partial at once: its delivery deadline has passed) and the third of once
// ld.deliver is set. spent and finals count what the carrier's metrics reported.
type lateOrder struct {
	ld     *lateDelivery
	store  knm.Store
	c      *Carrier
	res    *OrderResult
	spent  atomic.Int64 // cents
	finals atomic.Int64 // final-state events
}

func newLateOrder(t *testing.T, acct string) *lateOrder {
	t.Helper()
	lo := &lateOrder{ld: newLateDelivery(t), store: openSQLite(t)}
	if acct != "" {
		if err := lo.store.CreateAccount(context.Background(), &knm.Account{ID: acct, Name: acct[:1],
			Enabled: true}); err != nil {
			t.Fatal(err)
		}
	}
	lo.c = newTestCarrier(t, testSettings(lo.ld.srv.URL), Deps{Store: lo.store})
	lo.c.deliveryDeadline = -time.Hour
	lo.c.lateInterval = func(time.Duration) time.Duration { return 0 } // looked at on every run
	lo.c.metrics.Spent = func(cents int) { lo.spent.Add(int64(cents)) }
	lo.c.metrics.Order = func(OrderState, int) { lo.finals.Add(1) }
	res, err := lo.c.Order(context.Background(), OrderRequest{GroupID: 5116, Quantity: 3, Country: "US",
		AssignTo: acct})
	if err != nil || res.State != StatePartial || len(res.Numbers) != 2 {
		t.Fatalf("order: %+v, %v", res, err)
	}
	lo.res = res
	return lo
}

// checkCompleted asserts that the late DID is stored in service for acct, that the order is
// imported with its three numbers, and that its money and its final states (partial, then
// imported) were each counted once.
func (lo *lateOrder) checkCompleted(t *testing.T, acct string) {
	t.Helper()
	ctx := context.Background()
	n, err := lo.store.GetNumber(ctx, lo.ld.late)
	if err != nil || n.State != knm.StateInService || n.AssignedTo != acct || n.ModuleName != ModuleName {
		t.Fatalf("late DID stored %+v, %v", n, err)
	}
	got, err := lo.c.GetOrder(ctx, lo.res.OrderID)
	if err != nil || got.State != StateImported || len(got.Numbers) != 3 || !slices.Contains(got.Numbers, lo.ld.late) ||
		got.Error != "" {
		t.Fatalf("order after the late delivery: %+v, %v", got, err)
	}
	if want := int64(got.CostCents); lo.spent.Load() != want {
		t.Errorf("spent %d cents, want %d", lo.spent.Load(), want)
	}
	if n := lo.finals.Load(); n != 2 {
		t.Errorf("%d final order events, want 2", n)
	}
}

// rewriteOrder makes the journal row of order id read as edit has it, in state.
func rewriteOrder(t *testing.T, store knm.Store, id string, state OrderState, edit func(*orderPayload)) {
	t.Helper()
	ctx := context.Background()
	e, err := store.GetJournal(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	var p orderPayload
	if err := json.Unmarshal(e.Payload, &p); err != nil {
		t.Fatal(err)
	}
	edit(&p)
	e.Payload, _ = json.Marshal(p)
	e.State = string(state)
	if err := store.UpdateJournal(ctx, e); err != nil {
		t.Fatal(err)
	}
}

// didIDOf is the Voxbone DID id a knm number records in its carrier data.
func didIDOf(t *testing.T, n *knm.Number) int {
	t.Helper()
	var did struct {
		DIDID int `json:"didId"`
	}
	if err := json.Unmarshal(n.CarrierData, &did); err != nil || did.DIDID == 0 {
		t.Fatalf("carrier data of %s: %s (%v)", n.Number, n.CarrierData, err)
	}
	return did.DIDID
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
	old := newTestCarrier(t, ds, Deps{Store: crashStore{Store: store, crashed: &sw.crashed}})
	// The checkout was sent: the order answers with its state, not an error.
	res, err := old.Order(sctx, OrderRequest{GroupID: 5116, Quantity: 3, Country: "US", AssignTo: acct,
		IdempotencyKey: "k"})
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
