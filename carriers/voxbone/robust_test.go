package voxbone

import (
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
// for the order's reference also list a third DID, as Voxbone does when it delivers late.
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
		ref := r.URL.Query().Get("orderReference")
		ds, _ := m["dids"].([]any)
		if !ld.deliver.Load() || ref == "" || len(ds) == 0 {
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
