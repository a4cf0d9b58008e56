package knmvoxbone

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/ratelimit"
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

// newTestCarrier builds a carrier on store talking to the server of s, with fast retries.
func newTestCarrier(t testing.TB, s Settings, store knm.Store, lim ratelimit.Limiter) *Carrier {
	t.Helper()
	c, err := New(s, Deps{Store: store, Limiter: lim, Logger: quiet,
		ClientOptions: []voxbone.Option{voxbone.WithRetryPolicy(fastRetry)}})
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

func newFixture(t testing.TB, store knm.Store, cfg emulator.Config) *fixture {
	t.Helper()
	e := emulator.New(cfg)
	threeGroups(t, e)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	if store == nil {
		store = openSQLite(t)
	}
	s := testSettings(srv.URL)
	return &fixture{e: e, srv: srv, store: store, c: newTestCarrier(t, s, store, nil), s: s}
}

// search256 runs the acceptance search: prefix 256, country US.
func search256(ctx context.Context, c *Carrier, qty int) ([]knm.SearchRow, error) {
	return c.FindNumbers(ctx, knm.SearchOptions{Country: "US", Prefix: "256", Dialcode: "+1",
		NormalizedPrefix: "+1256", Quantity: qty, QueryID: "US-256-test"})
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
