package webhooks_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/internal/dbtest"
	"github.com/knmproject/knm/manager"
	"github.com/knmproject/knm/webhooks"
)

// database and forEachBackend are dbtest's, named for these tests.
type database = dbtest.DB

var (
	forEachBackend   = dbtest.ForEach
	postgresDatabase = dbtest.Postgres
)

// Accounts: reseller A > customer C; B unrelated.
var (
	accA = "a0000000000000000000000000000000"
	accC = "c0000000000000000000000000000000"
	accB = "b0000000000000000000000000000000"
)

func seedAccounts(t *testing.T, s knm.Store) {
	t.Helper()
	for _, a := range []*knm.Account{
		{ID: accA, Name: "reseller", Reseller: true, ResellerID: accA, Enabled: true},
		{ID: accC, Name: "customer", ParentID: accA, Tree: []string{accA}, ResellerID: accA, Enabled: true},
		{ID: accB, Name: "other", Enabled: true},
	} {
		if err := s.CreateAccount(context.Background(), a); err != nil {
			t.Fatal(err)
		}
	}
}

// fastSettings retry within milliseconds.
func fastSettings(disableAfter int) func(context.Context) (webhooks.Settings, error) {
	return func(context.Context) (webhooks.Settings, error) {
		return webhooks.Settings{Timeout: 5 * time.Second, RetryMin: 2 * time.Millisecond, RetryMax: 20 * time.Millisecond,
			DisableAfter: disableAfter}, nil
	}
}

// startWorker runs a delivery worker on s until the returned stop is called (or the test
// ends), reporting to obs when one is given.
func startWorker(t *testing.T, s knm.Store, owner string, disableAfter int, obs ...webhooks.Observer) (stop func()) {
	t.Helper()
	m, err := manager.New(manager.Options{Store: s})
	if err != nil {
		t.Fatal(err)
	}
	o := webhooks.Options{Store: s, Filter: m, Owner: owner, Settings: fastSettings(disableAfter),
		Poll: 10 * time.Millisecond}
	if len(obs) > 0 {
		o.Observer = obs[0]
	}
	w, err := webhooks.NewWorker(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}

// delivery is one request a receiver accepted.
type delivery struct {
	ID     string // X-KNM-Delivery-Id
	Number string
	Rev    int64
	Event  int64
}

// receiver is a real HTTP server on 127.0.0.1 that verifies every request's signature,
// answers 500 to the first `fail` requests (or to all, with failAll), and records what it
// accepted.
type receiver struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	secret   string
	fail     int
	failAll  bool
	requests int
	failed   int
	badSig   []string
	accepted []delivery
}

func newReceiver(t *testing.T, fail int) *receiver {
	r := &receiver{t: t, fail: fail}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests++
	sig := req.Header.Get(webhooks.SignatureHeader)
	if err := webhooks.Verify(r.secret, sig, body, time.Now(), 5*time.Minute); err != nil {
		r.badSig = append(r.badSig, req.Header.Get(webhooks.DeliveryHeader)+": "+err.Error())
	}
	if r.failAll || r.requests <= r.fail {
		r.failed++
		http.Error(w, "try later", http.StatusInternalServerError)
		return
	}
	var p struct {
		DeliveryID string    `json:"delivery_id"`
		Event      knm.Event `json:"event"`
	}
	if err := json.Unmarshal(body, &p); err != nil || p.DeliveryID != req.Header.Get(webhooks.DeliveryHeader) {
		r.badSig = append(r.badSig, "payload "+string(body))
	}
	d := delivery{ID: p.DeliveryID, Number: p.Event.Number, Rev: p.Event.Rev, Event: p.Event.ID}
	r.accepted = append(r.accepted, d)
	w.WriteHeader(http.StatusNoContent)
}

// snapshot returns a copy of the accepted deliveries.
func (r *receiver) snapshot() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]delivery(nil), r.accepted...)
}

// createHook stores a hook of account on the receiver and tells the receiver its secret.
func (r *receiver) createHook(t *testing.T, s knm.Store, account string, subaccounts bool,
	concurrency int) *knm.Webhook {
	t.Helper()
	h, err := webhooks.New(account, knm.Webhook{Name: "test", URI: r.srv.URL + "/hooks/knm?token=abc",
		Enabled: true, IncludeSubaccounts: subaccounts, MaxConcurrency: concurrency})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateWebhook(context.Background(), h); err != nil {
		t.Fatal(err)
	}
	r.mu.Lock()
	r.secret = h.Secret
	r.mu.Unlock()
	return h
}

// eventually waits (at most 20 s) for cond.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// changeNumbers writes `changes` changes (a create, then updates) of each number, owned
// by owner, and returns the delivery ids of their events for hook h.
func changeNumbers(t *testing.T, s knm.Store, h *knm.Webhook, owner string, changes int,
	nums ...string) map[string]bool {
	t.Helper()
	ctx := context.Background()
	head, err := s.LastEventID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, num := range nums {
		n := &knm.Number{Number: num, State: knm.StateReserved, AssignedTo: owner, ModuleName: "knm_local"}
		if err := s.CreateNumber(ctx, n); err != nil {
			t.Fatal(err)
		}
		for i := 1; i < changes; i++ {
			n.UsedBy = []string{"callflow", "trunkstore", "mobile"}[i%3]
			n.State = []knm.State{knm.StateInService, knm.StateReserved}[i%2]
			if err := s.UpdateNumber(ctx, n); err != nil {
				t.Fatal(err)
			}
		}
	}
	evs, err := s.Events(ctx, head, 10000)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, e := range evs {
		ids[webhooks.DeliveryID(h.ID, e.ID)] = true
	}
	return ids
}
