package knmvoxbone

import (
	"context"
	"fmt"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/voxbone"
	"github.com/knmproject/knm/voxbone/emulator"
)

// buySteps are the requests of a 15-number buy over three groups with page_size 5: the
// balance, the DID groups, the cart, one add per group, the checkout, three full pages of
// DIDs and the page past them (error 13: resultCount is not trusted to end a listing), and
// the cart deletion.
var buySteps = []struct {
	endpoint string
	nth      int
}{
	{"accountbalance", 1}, {"didgroup.list", 1}, {"cart.create", 1},
	{"cart.add", 1}, {"cart.add", 2}, {"cart.add", 3}, {"cart.checkout", 1},
	{"did.list", 1}, {"did.list", 2}, {"did.list", 3}, {"did.list", 4}, {"cart.delete", 1},
}

// faultKinds are the injected failures; crash kinds are handled by crashSwitch.
var faultKinds = []struct {
	name   string
	fault  emulator.Fault
	crash  bool
	effect bool // the request takes effect before the failure
}{
	{name: "500", fault: emulator.Fault{Status: 500}},
	{name: "429", fault: emulator.Fault{Status: 429}},
	{name: "timeout", fault: emulator.Fault{Latency: 450 * time.Millisecond}},
	{name: "drop", fault: emulator.Fault{Drop: true}},
	{name: "drop-after-effect", fault: emulator.Fault{Drop: true, AfterEffect: true}, effect: true},
	{name: "500-after-effect", fault: emulator.Fault{Status: 500, AfterEffect: true}, effect: true},
	{name: "crash", crash: true},
	{name: "crash-after-effect", crash: true, effect: true},
}

// TestFaultMatrix injects every fault at every step of a search that buys, then runs
// Recover on a new Carrier over the same database, and checks that knm's numbers equal the
// account's DIDs, that no knm cart is left and that at most one order was placed.
func TestFaultMatrix(t *testing.T) {
	t.Parallel()
	for _, step := range buySteps {
		for _, fk := range faultKinds {
			name := fmt.Sprintf("%s#%d/%s", step.endpoint, step.nth, fk.name)
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				runFaultCase(t, openSQLite(t), step.endpoint, step.nth, fk.fault, fk.crash, fk.effect)
			})
		}
	}
}

// runFaultCase runs one cell of the fault matrix on store.
func runFaultCase(t *testing.T, store knm.Store, endpoint string, nth int, fault emulator.Fault, crash, effect bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	e := emulator.New(emulator.Config{})
	threeGroups(t, e)
	clean := httptest.NewServer(e)
	defer clean.Close()

	s := testSettings(clean.URL)
	s.PageSize = 5 // three pages of DIDs: each fetch is a step
	var rows []knm.SearchRow
	var err error
	if crash {
		sctx, scancel := context.WithCancel(ctx)
		defer scancel()
		sw := &crashSwitch{e: e, endpoint: endpoint, nth: int32(nth), effect: effect, cancel: scancel}
		dying := httptest.NewServer(sw)
		defer dying.Close()
		ds := s
		ds.BaseURL = dying.URL + "/ws-voxbone/services/rest"
		old := newTestCarrier(t, ds, Deps{Store: crashStore{Store: store, crashed: &sw.crashed}})
		rows, err = search256(sctx, old, 15)
		if !sw.crashed.Load() {
			t.Fatalf("the crash at %s #%d never happened", endpoint, nth)
		}
	} else {
		f := fault
		f.Endpoint, f.Nth = endpoint, nth
		e.AddFault(f)
		rows, err = search256(ctx, newTestCarrier(t, s, Deps{Store: store}), 15)
	}
	t.Logf("search: %d rows, err %v", len(rows), err)
	if err == nil && len(rows) != 15 {
		t.Errorf("no error but %d rows", len(rows))
	}
	if !crash && e.Calls(endpoint) < nth {
		t.Fatalf("fault at %s #%d never fired (%d calls)", endpoint, nth, e.Calls(endpoint))
	}

	// A new process on the same database recovers whatever the first left unfinished.
	e.ClearFaults()
	rec := newTestCarrier(t, s, Deps{Store: store})
	rep, rerr := rec.Recover(ctx)
	if rerr != nil || len(rep.Unsettled) > 0 {
		t.Fatalf("recover: %+v, %v", rep, rerr)
	}
	checkInvariants(t, e, store, 1)
	if n := e.Calls("cart.checkout"); n > 1 {
		t.Errorf("checkout sent %d times", n)
	}
	// Every row the search returned is a stored, available knm_voxbone number.
	for _, r := range rows {
		n, err := store.GetNumber(ctx, r.Number)
		if err != nil || n.State != knm.StateAvailable || n.ModuleName != ModuleName {
			t.Errorf("returned row %s: stored %+v, %v", r.Number, n, err)
		}
	}
}

// TestCheckoutNeverResent proves the client's checkout is not replayed by net/http when a
// reused keep-alive connection closes without a reply.
func TestCheckoutNeverResent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("client", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, emulator.Config{})
		vx := f.c.client
		// Warm a keep-alive connection so the checkout goes out on a reused one.
		if _, err := vx.AccountBalance(ctx); err != nil {
			t.Fatal(err)
		}
		cart, err := vx.CreateCart(ctx, voxbone.CreateCartRequest{CustomerReference: "other"})
		if err != nil {
			t.Fatal(err)
		}
		if err := vx.AddDIDsToCart(ctx, cart.CartIdentifier, 5116, 1); err != nil {
			t.Fatal(err)
		}
		f.e.AddFault(emulator.Fault{Endpoint: "cart.checkout", Drop: true, AfterEffect: true})
		if _, err := vx.Checkout(ctx, cart.CartIdentifier); err == nil {
			t.Fatal("checkout with a dropped reply succeeded")
		}
		if n := f.e.Calls("cart.checkout"); n != 1 {
			t.Fatalf("checkout reached the server %d times, want 1", n)
		}
		if n := len(f.e.Orders()); n != 1 {
			t.Fatalf("%d orders, want 1", n)
		}
	})
	t.Run("search", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, emulator.Config{})
		f.e.AddFault(emulator.Fault{Endpoint: "cart.checkout", Drop: true, AfterEffect: true})
		rows, err := search256(ctx, f.c, 15)
		if err != nil || len(rows) != 15 {
			t.Fatalf("rows %d, err %v; want 15 settled by lookup", len(rows), err)
		}
		if n := f.e.Calls("cart.checkout"); n != 1 {
			t.Fatalf("checkout reached the server %d times, want 1", n)
		}
		checkInvariants(t, f.e, f.store, 1)
	})
}

// TestCrashSwitchSanity makes sure a crash really stops the old carrier's writes.
func TestCrashSwitchSanity(t *testing.T) {
	t.Parallel()
	var crashed atomic.Bool
	crashed.Store(true)
	s := crashStore{Store: openSQLite(t), crashed: &crashed}
	if err := s.CreateJournal(context.Background(), &knm.JournalEntry{ID: "x",
		Carrier: ModuleName}); err != errCrashed {
		t.Fatal(err)
	}
}
