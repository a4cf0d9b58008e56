package main

import (
	"context"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/carriers/knmvoxbone"
	"github.com/knmproject/knm/internal/testenv"
	"github.com/knmproject/knm/voxbone/emulator"
)

// slowCheckoutEmulator serves an emulator whose checkouts take checkout to answer, so a
// test can act on knm while an order's checkout is in flight.
func slowCheckoutEmulator(t *testing.T, checkout time.Duration) (*emulator.Emulator, string) {
	t.Helper()
	e := emulator.New(emulator.Config{Username: "u", Password: "p", Seed: 13})
	e.AddFault(emulator.Fault{Endpoint: "cart.checkout", Latency: checkout})
	return e, serveEmulator(t, e)
}

// searchAsync sends the buying search to base and returns its status when it ends (0 when
// the connection broke).
func searchAsync(base, tok, acct string) <-chan int {
	done := make(chan int, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", base+searchPath(acct), nil)
		req.Header.Set("X-Auth-Token", tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	return done
}

// awaitCheckout waits until the emulator has received n checkouts.
func awaitCheckout(t *testing.T, e *emulator.Emulator, n int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for e.Calls("cart.checkout") < n {
		if time.Now().After(deadline) {
			t.Fatal("no checkout reached the emulator")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// onlyOrder returns the one order journalled in db, read while knm may be running.
func onlyOrder(t *testing.T, db string) *knm.JournalEntry {
	t.Helper()
	ctx := context.Background()
	s, err := openStore(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	es, err := s.FindJournals(ctx, knm.JournalFilter{Carrier: knmvoxbone.ModuleName})
	if err != nil || len(es) != 1 {
		t.Fatalf("orders: %d, %v", len(es), err)
	}
	return es[0]
}

// awaitFinal waits until db's one order is final and returns it.
func awaitFinal(t *testing.T, db string, within time.Duration) *knm.JournalEntry {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		o := onlyOrder(t, db)
		if knmvoxbone.OrderState(o.State).Final() {
			return o
		}
		if time.Now().After(deadline) {
			t.Fatalf("order %s still %s after %v", o.ID, o.State, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestSurvivorSettlesKilledInstancesOrder: two knm serve on one PostgreSQL; the one
// running an order is killed during its checkout. The other takes the order over once the
// lease has expired and settles it, within seconds and without any command.
func TestSurvivorSettlesKilledInstancesOrder(t *testing.T) {
	t.Parallel()
	testenv.PostgresDSN(t)
	e, base := slowCheckoutEmulator(t, 500*time.Millisecond)
	db := pgSchemaDSN(t)
	configureVoxbone(t, db, base)
	a := startServe(t, db)
	b := startServe(t, db)
	tok, acct := masterLogin(t, a.url)
	searchAsync(a.url, tok, acct)
	awaitCheckout(t, e, 1)
	if err := a.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-a.exited
	killed := time.Now()
	o := awaitFinal(t, db, 30*time.Second)
	// Lease 2 s, a recovery pass every second: settled well within ten.
	if took := time.Since(killed); took > 10*time.Second {
		t.Errorf("settled %v after the kill", took)
	}
	// Fence 2 is the survivor's takeover; more when the survivor itself, starved on a loaded
	// machine, lost its lease and took the order over again.
	if o.Fence < 2 || o.Owner == instanceOf(t, a) || !strings.Contains(b.stderr.String(), "taken over") {
		t.Fatalf("order %s (%s) owner %s fence %d, not taken over by the survivor: %s", o.ID, o.State, o.Owner,
			o.Fence, b.stderr)
	}
	checkSettled(t, e, db)
	if c := b.stop(t); c != 0 {
		t.Fatalf("survivor exited %d: %s", c, b.stderr)
	}
}

// TestPausedInstanceDoesNotDoubleSettle: an instance paused (SIGSTOP) during its checkout,
// past its lease, loses the order to another instance, which settles it; resumed
// (SIGCONT), its journal writes are refused and nothing is bought or settled twice.
func TestPausedInstanceDoesNotDoubleSettle(t *testing.T) {
	t.Parallel()
	testenv.PostgresDSN(t)
	e, base := slowCheckoutEmulator(t, 300*time.Millisecond)
	db := pgSchemaDSN(t)
	configureVoxbone(t, db, base)
	a := startServe(t, db)
	b := startServe(t, db)
	tok, acct := masterLogin(t, a.url)
	answered := searchAsync(a.url, tok, acct)
	awaitCheckout(t, e, 1)
	if err := a.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	settled := awaitFinal(t, db, 30*time.Second)
	time.Sleep(500 * time.Millisecond)
	if err := a.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-answered:
	case <-time.After(60 * time.Second):
		t.Fatal("the paused instance's search never ended")
	}
	if o := onlyOrder(t, db); o.Rev != settled.Rev || o.Fence < 2 || o.State != settled.State ||
		o.Owner == instanceOf(t, a) {
		t.Fatalf("the resumed instance wrote over the settled order: %+v, settled %+v", o, settled)
	}
	if len(e.Orders()) != 1 {
		t.Fatalf("%d Voxbone orders, want 1", len(e.Orders()))
	}
	if !strings.Contains(b.stderr.String(), "taken over") || !strings.Contains(a.stderr.String(), "lease lost") {
		t.Fatalf("no takeover seen:\nA: %s\nB: %s", a.stderr, b.stderr)
	}
	t.Logf("resumed instance:\n%s", a.stderr)
	checkSettled(t, e, db)
	for _, p := range []*process{a, b} {
		if c := p.stop(t); c != 0 {
			t.Fatalf("serve exited %d: %s", c, p.stderr)
		}
	}
}

// TestSIGTERMDrainsRunningOrder: SIGTERM during an order's checkout lets the order finish
// (the search is answered) before knm exits, and the exit releases the lease.
func TestSIGTERMDrainsRunningOrder(t *testing.T) {
	t.Parallel()
	e, base := slowCheckoutEmulator(t, 500*time.Millisecond)
	db := sqliteDB(t)
	configureVoxbone(t, db, base)
	p := startServe(t, db)
	tok, acct := masterLogin(t, p.url)
	answered := searchAsync(p.url, tok, acct)
	awaitCheckout(t, e, 1)
	if c := p.stop(t); c != 0 {
		t.Fatalf("serve exited %d: %s", c, p.stderr)
	}
	if code := <-answered; code != 200 {
		t.Fatalf("the search running at SIGTERM answered %d", code)
	}
	if o := onlyOrder(t, db); o.State != string(knmvoxbone.StateImported) {
		t.Fatalf("order %s after the drain", o.State)
	}
	if !strings.Contains(p.stderr.String(), "no order left unfinished") {
		t.Fatalf("the drain did not say it left nothing: %s", p.stderr)
	}
	if id := instanceOf(t, p); instanceRegistered(t, db, id) {
		t.Fatalf("instance %s still registered after a drain that left no order running", id)
	}
	checkSettled(t, e, db)
}

// TestSIGTERMLeavesOrderForNextStart: an order that outlasts the drain timeout is logged as
// left for recovery when knm exits, its instance lease is kept (the order was still running
// in the process), and the next start settles it before it serves.
func TestSIGTERMLeavesOrderForNextStart(t *testing.T) {
	t.Parallel()
	e, base := slowCheckoutEmulator(t, 3*time.Second)
	db := sqliteDB(t)
	configureVoxbone(t, db, base)
	env := map[string]string{"KNM_MASTER_API_KEY": crashMasterKey, "KNM_LEASE_TTL": "2s",
		"KNM_DRAIN_TIMEOUT": "300ms"}
	p := startProcess(t, env, "--db", db, "serve", "--listen", "127.0.0.1:0")
	tok, acct := masterLogin(t, p.url)
	searchAsync(p.url, tok, acct)
	awaitCheckout(t, e, 1)
	if c := p.stop(t); c != 0 {
		t.Fatalf("serve exited %d: %s", c, p.stderr)
	}
	if !strings.Contains(p.stderr.String(), "orders left for recovery") {
		t.Fatalf("the drain did not log what it left: %s", p.stderr)
	}
	if o := onlyOrder(t, db); knmvoxbone.OrderState(o.State).Final() {
		t.Fatalf("order %s already final: the test did not cut an order off", o.State)
	}
	if !strings.Contains(p.stderr.String(), "the instance lease is kept") {
		t.Fatalf("the drain did not log the orders still running: %s", p.stderr)
	}
	if id := instanceOf(t, p); !instanceRegistered(t, db, id) {
		t.Fatalf("instance %s released while its order was still running", id)
	}
	p2 := startServe(t, db) // settles before it listens
	if o := onlyOrder(t, db); !knmvoxbone.OrderState(o.State).Final() {
		t.Fatalf("order %s still %s when the next start serves", o.ID, o.State)
	}
	if c := p2.stop(t); c != 0 {
		t.Fatalf("serve exited %d: %s", c, p2.stderr)
	}
	checkSettled(t, e, db)
}

// instanceOf returns the instance id p registered at its start, from its log.
func instanceOf(t *testing.T, p *process) string {
	t.Helper()
	_, rest, ok := strings.Cut(p.stderr.String(), `"msg":"instance lease held","instance":"`)
	id, _, _ := strings.Cut(rest, `"`)
	if !ok || id == "" {
		t.Fatalf("no instance id in the log: %s", p.stderr)
	}
	return id
}

// instanceRegistered reports whether the instance id still has a lease in db.
func instanceRegistered(t *testing.T, db, id string) bool {
	t.Helper()
	ctx := context.Background()
	s, err := openStore(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ins, err := s.ListInstances(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range ins {
		if in.ID == id {
			return true
		}
	}
	return false
}

// checkSettled asserts that knm's Voxbone numbers are exactly the emulator's DIDs, that no
// knm cart is left, and that no order is unfinished.
func checkSettled(t *testing.T, e *emulator.Emulator, db string) {
	t.Helper()
	ctx := context.Background()
	s, err := openStore(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ns, err := s.FindNumbers(ctx, knm.NumberFilter{Module: knmvoxbone.ModuleName})
	if err != nil {
		t.Fatal(err)
	}
	if dids := newDIDs(e, nil); len(ns) != len(dids) {
		t.Fatalf("knm has %d Voxbone numbers, the emulator %d DIDs", len(ns), len(dids))
	}
	for _, n := range ns {
		if !strings.HasPrefix(n.Number, "+1256") {
			t.Fatalf("unexpected number %s", n.Number)
		}
	}
	for _, c := range e.Carts() {
		if strings.HasPrefix(c.CustomerReference, knmvoxbone.OrderPrefix) {
			t.Fatalf("knm cart left open: %+v", c)
		}
	}
	if n := unfinishedOrders(t, db); n != 0 {
		t.Fatalf("%d orders unfinished", n)
	}
}
