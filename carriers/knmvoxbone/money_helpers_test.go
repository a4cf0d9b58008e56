package knmvoxbone

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/voxbone/emulator"
)

// moneyFixture is an emulator (optionally behind wrap), a store of any backend and a carrier
// on it, for the tests of searches that buy.
type moneyFixture struct {
	e     *emulator.Emulator
	srv   *httptest.Server
	store knm.Store
	c     *Carrier
}

func newMoneyFixture(t *testing.T, store knm.Store, cfg emulator.Config,
	wrap func(http.Handler) http.Handler) *moneyFixture {
	t.Helper()
	e := emulator.New(cfg)
	threeGroups(t, e)
	var h http.Handler = e
	if wrap != nil {
		h = wrap(e)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	s := testSettings(srv.URL)
	s.RequestTimeout = 5 * time.Second // a loaded machine, the race detector
	c := newTestCarrier(t, s, Deps{Store: store})
	return &moneyFixture{e: e, srv: srv, store: store, c: c}
}

// account creates account i (a valid 32-hex id) and returns its id.
func account(t *testing.T, store knm.Store, i int) string {
	t.Helper()
	id := fmt.Sprintf("%032x", 0xacc000+i)
	if err := store.CreateAccount(context.Background(), &knm.Account{ID: id, Name: "acct" + id[28:],
		Enabled: true}); err != nil && !knm.IsErrorName(err, knm.ErrConflict) {
		t.Fatal(err)
	}
	return id
}

// searchAs is a search in 256 for account acct with a deadline d away.
func searchAs(acct string, qty int, d time.Duration) knm.SearchOptions {
	return knm.SearchOptions{Country: "US", Prefix: knm.SearchPrefix{Dialcode: "+1", National: "256"},
		Quantity: qty, QueryID: "US-256-" + acct, AccountID: acct, Deadline: time.Now().Add(d)}
}

// leaveOnCommit is a caller that goes away as soon as the purchase for it is sent: it
// cancels its own context.
type leaveOnCommit struct {
	cancel context.CancelFunc
	order  chan string
}

func newLeaveOnCommit(cancel context.CancelFunc) *leaveOnCommit {
	return &leaveOnCommit{cancel: cancel, order: make(chan string, 1)}
}

func (l *leaveOnCommit) Offer([]knm.SearchRow) {}

func (l *leaveOnCommit) Committed(order string) {
	select {
	case l.order <- order:
	default:
	}
	l.cancel()
}

// slowEndpoint delays one endpoint of the emulator, so an order stays unfinished a while.
func slowEndpoint(endpoint string, d time.Duration) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if endpointOf(r) == endpoint {
				time.Sleep(d)
			}
			h.ServeHTTP(w, r)
		})
	}
}

// waitHeld waits until n knm_voxbone numbers are reserved for acct.
func waitHeld(t *testing.T, store knm.Store, acct string, n int) []*knm.Number {
	t.Helper()
	for start := time.Now(); time.Since(start) < 30*time.Second; time.Sleep(20 * time.Millisecond) {
		ns, err := store.FindNumbers(context.Background(), knm.NumberFilter{AssignedTo: &acct,
			States: []knm.State{knm.StateReserved}, Module: ModuleName})
		if err != nil {
			t.Fatal(err)
		}
		if len(ns) >= n {
			return ns
		}
	}
	t.Fatalf("%d numbers were never held for %s", n, acct)
	return nil
}

// numbersOf returns the numbers of rows.
func numbersOf(rows []knm.SearchRow) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.Number
	}
	return out
}

// statusCounts counts the emulator's answers by status.
func statusCounts(e *emulator.Emulator) map[int]int {
	out := map[int]int{}
	for _, r := range e.Requests() {
		out[r.Status]++
	}
	return out
}

// errorNames says whether err mentions every one of parts.
func mentions(err error, parts ...string) bool {
	if err == nil {
		return false
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			return false
		}
	}
	return true
}
