package knmvoxbone

import (
	"context"
	"fmt"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/knmproject/knm"
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
		old := newTestCarrier(t, ds, crashStore{Store: store, crashed: &sw.crashed}, nil)
		rows, err = search256(sctx, old, 15)
		if !sw.crashed.Load() {
			t.Fatalf("the crash at %s #%d never happened", endpoint, nth)
		}
	} else {
		f := fault
		f.Endpoint, f.Nth = endpoint, nth
		e.AddFault(f)
		rows, err = search256(ctx, newTestCarrier(t, s, store, nil), 15)
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
	rec := newTestCarrier(t, s, store, nil)
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

// TestCancelFaults injects every fault into the cancel of a release: a nil error must mean
// the DID is gone from the account, an error that it is still there (the manager then
// leaves the number as it was).
func TestCancelFaults(t *testing.T) {
	t.Parallel()
	for _, fk := range faultKinds {
		if fk.crash {
			continue // a crash during release is settled by the manager's own journal
		}
		t.Run(fk.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			f := newFixture(t, nil, emulator.Config{})
			rows, err := search256(ctx, f.c, 5)
			if err != nil || len(rows) != 5 {
				t.Fatalf("buy: %d rows, %v", len(rows), err)
			}
			fault := fk.fault
			fault.Endpoint = "cancel"
			f.e.AddFault(fault)
			n, _ := f.store.GetNumber(ctx, rows[0].Number)
			err = f.c.DisconnectNumber(ctx, n)
			gone := true
			for _, d := range f.e.DIDs() {
				if d.E164 == n.Number {
					gone = false
				}
			}
			if (err == nil) != gone {
				t.Fatalf("disconnect err %v but DID gone=%v", err, gone)
			}
			if fk.effect && err != nil {
				t.Errorf("cancel happened but disconnect failed: %v", err)
			}
			if n := f.e.Calls("cancel"); n != 1 {
				t.Errorf("cancel sent %d times", n)
			}
		})
	}
}

// TestDisconnectLookup covers the exact-match rule.
func TestDisconnectLookup(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, nil, emulator.Config{})
	rows, err := search256(ctx, f.c, 2)
	if err != nil || len(rows) != 2 {
		t.Fatal(rows, err)
	}
	// Not in the account: error, nothing cancelled.
	err = f.c.DisconnectNumber(ctx, &knm.Number{Number: "+12565550000"})
	if !knm.IsErrorName(err, knm.ErrCarrier) || f.e.Calls("cancel") != 0 {
		t.Errorf("unknown number: %v, %d cancels", err, f.e.Calls("cancel"))
	}
	// A prefix of real numbers matches several by substring but none exactly.
	err = f.c.DisconnectNumber(ctx, &knm.Number{Number: "+1256"})
	if err == nil || f.e.Calls("cancel") != 0 {
		t.Errorf("prefix: %v, %d cancels", err, f.e.Calls("cancel"))
	}
	gone := &knm.Number{Number: rows[1].Number, CarrierData: rows[1].CarrierData}
	if err := f.c.DisconnectNumber(ctx, gone); err != nil {
		t.Fatal(err)
	}
	if len(f.e.DIDs()) != 1 {
		t.Errorf("%d DIDs left, want 1", len(f.e.DIDs()))
	}
	// Released again (a recovery re-sending a disconnect whose answer was lost): the DID
	// id knm recorded is gone too, so the release may finish, without another cancel.
	if err := f.c.DisconnectNumber(ctx, gone); err != nil || f.e.Calls("cancel") != 1 {
		t.Errorf("already cancelled: %v, %d cancels", err, f.e.Calls("cancel"))
	}
	// Not listed under its number, but its recorded DID id is still in the account (as
	// another number): refused.
	kept := &knm.Number{Number: "+12565550001", CarrierData: rows[0].CarrierData}
	if err := f.c.DisconnectNumber(ctx, kept); !knm.IsErrorName(err, knm.ErrCarrier) || f.e.Calls("cancel") != 1 {
		t.Errorf("DID id still present: %v, %d cancels", err, f.e.Calls("cancel"))
	}
}

// TestCrashSwitchSanity makes sure a crash really stops the old carrier's writes.
func TestCrashSwitchSanity(t *testing.T) {
	t.Parallel()
	var crashed atomic.Bool
	crashed.Store(true)
	s := crashStore{Store: openSQLite(t), crashed: &crashed}
	if err := s.CreateJournal(context.Background(), &knm.JournalEntry{ID: "x", Carrier: ModuleName}); err != errCrashed {
		t.Fatal(err)
	}
}
