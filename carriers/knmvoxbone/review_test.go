package knmvoxbone

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/voxbone"
	"github.com/knmproject/knm/voxbone/emulator"
)

// TestAccountFingerprintReal builds carriers without the tests' fingerprint override: the
// fingerprint follows the account actually talked to (the effective base URL, the
// username, the API key sent), not how the settings spell it.
func TestAccountFingerprintReal(t *testing.T) {
	t.Parallel()
	store := openSQLite(t)
	fpOf := func(s Settings) string {
		t.Helper()
		c, err := New(s, Deps{Store: store, Logger: quiet})
		if err != nil {
			t.Fatalf("%+v: %v", s, err)
		}
		if c.AccountFingerprint() != s.AccountFingerprint() {
			t.Fatalf("carrier fingerprint %q != AccountFingerprintOf %q", c.AccountFingerprint(), s.AccountFingerprint())
		}
		return c.AccountFingerprint()
	}
	proxy := "https://proxy.example.com/ws-voxbone/services/rest"
	alice := Settings{Username: "alice", Password: "pw", Environment: "sandbox", BaseURL: proxy}
	same := map[string][2]Settings{
		// The environment only picks the URL, which base_url replaces.
		"env with base_url": {alice, {Username: "alice", Password: "pw", Environment: "production", BaseURL: proxy}},
		"explicit production URL": {{Username: "alice", Password: "pw", Environment: "production"},
			{Username: "alice", Password: "pw", Environment: "production", BaseURL: voxbone.ProductionURL}},
		"explicit sandbox URL, default environment": {{Username: "alice", Password: "pw"},
			{Username: "alice", Password: "pw", Environment: "beta", BaseURL: voxbone.SandboxURL + "/"}},
		"case, default port, trailing slash": {alice,
			{Username: "alice", Password: "pw", BaseURL: "HTTPS://Proxy.Example.COM:443/ws-voxbone/services/rest/"}},
		"http default port": {{Username: "alice", Password: "pw", BaseURL: "http://10.0.0.1/api"},
			{Username: "alice", Password: "pw", BaseURL: "http://10.0.0.1:80/api"}},
		"password": {alice, {Username: "alice", Password: "rotated", Environment: "sandbox", BaseURL: proxy}},
	}
	for name, p := range same {
		if a, b := fpOf(p[0]), fpOf(p[1]); a != b {
			t.Errorf("%s: fingerprints %s and %s differ for one account", name, a, b)
		}
	}
	base := fpOf(alice)
	for name, s := range map[string]Settings{
		"username":       {Username: "bob", Password: "pw", BaseURL: proxy},
		"host":           {Username: "alice", Password: "pw", BaseURL: "https://other.example.com/ws-voxbone/services/rest"},
		"port":           {Username: "alice", Password: "pw", BaseURL: "https://proxy.example.com:8443/ws-voxbone/services/rest"},
		"scheme":         {Username: "alice", Password: "pw", BaseURL: "http://proxy.example.com/ws-voxbone/services/rest"},
		"path":           {Username: "alice", Password: "pw", BaseURL: "https://proxy.example.com/other"},
		"api key sent":   {Username: "alice", Password: "pw", APIKey: "k1", BaseURL: proxy},
		"environment":    {Username: "alice", Password: "pw", Environment: "production"},
		"no base, other": {Username: "alice", Password: "pw", Environment: "beta"},
	} {
		if fp := fpOf(s); fp == base {
			t.Errorf("%s: another account shares fingerprint %s", name, fp)
		}
	}
	// Beta: two API keys are two accounts, with or without a username beside them.
	for _, user := range []string{"", "x"} {
		k1 := Settings{Username: user, APIKey: "k1", Environment: "beta"}
		k2 := k1
		k2.APIKey = "k2"
		if fpOf(k1) == fpOf(k2) {
			t.Errorf("beta, username %q: two API keys share a fingerprint", user)
		}
	}
	for _, s := range []Settings{alice, {Username: "alice", Password: "s3cret", APIKey: "key-123", Environment: "beta"}} {
		fp := fpOf(s)
		if len(fp) != 12 || strings.Contains(fp, "alice") || strings.Contains(fp, "s3cret") || strings.Contains(fp, "key-123") {
			t.Errorf("fingerprint %q", fp)
		}
	}
}

// TestConflictImportedLater: a DID of a partial order that another module held (the
// order's conflict) and that reconcile --import brings in through its order once released
// is delivered once: imported, no longer a conflict, the order still short, no money
// counted again.
func TestConflictImportedLater(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, nil, emulator.Config{})
	f.c.deliveryDeadline = -time.Hour
	var spent atomic.Int64
	f.c.metrics.Spent = func(c int) { spent.Add(int64(c)) }
	res, err := f.c.Order(ctx, OrderRequest{GroupID: 5116, Quantity: 2, Country: "US"})
	if err != nil || res.State != StateImported {
		t.Fatal(res, err)
	}
	paid := spent.Load()
	d1 := res.Numbers[0]
	// Voxbone delivered 2 of 3: the row becomes a partial order of 3.
	e, err := f.store.GetJournal(ctx, res.OrderID)
	if err != nil {
		t.Fatal(err)
	}
	var p orderPayload
	if err := json.Unmarshal(e.Payload, &p); err != nil {
		t.Fatal(err)
	}
	p.Plan[0].Quantity = 3
	// d1 was stored by another module when the order imported (a conflict, never in
	// Imported: a number the order imported is settled and never becomes a conflict).
	p.Imported = slices.DeleteFunc(p.Imported, func(n string) bool { return n == d1 })
	p.Conflicts = []string{d1 + ": bought from voxbone but stored with module knm_local"}
	e.Payload, _ = json.Marshal(p)
	e.State = string(StatePartial)
	if err := f.store.UpdateJournal(ctx, e); err != nil {
		t.Fatal(err)
	}
	// Reconcile keeps it the order's conflict, once.
	n, _ := f.store.GetNumber(ctx, d1)
	n.SetModule("knm_local")
	if err := f.store.UpdateNumber(ctx, n); err != nil {
		t.Fatal(err)
	}
	if _, err := f.c.Reconcile(ctx, true); err != nil {
		t.Fatal(err)
	}
	got, _ := f.c.GetOrder(ctx, res.OrderID)
	if got.State != StatePartial || len(got.Conflicts) != 1 || slices.Contains(got.Numbers, d1) {
		t.Fatalf("after the conflict: %+v", got)
	}
	// The other module lets d1 go; reconcile --import brings it in through its order.
	n, _ = f.store.GetNumber(ctx, d1)
	if err := f.store.DeleteNumber(ctx, d1, n.Rev); err != nil {
		t.Fatal(err)
	}
	if _, err := f.c.Reconcile(ctx, true); err != nil {
		t.Fatal(err)
	}
	got, _ = f.c.GetOrder(ctx, res.OrderID)
	if got.State != StatePartial || len(got.Conflicts) != 0 || len(got.Numbers) != 2 || !slices.Contains(got.Numbers, d1) {
		t.Errorf("after the import: %+v (Voxbone delivered 2 of 3)", got)
	}
	if spent.Load() != paid {
		t.Errorf("spent %d cents, want %d: no new DID was delivered", spent.Load(), paid)
	}
	// delivered counts a number once even when a row lists it as imported and conflict.
	both := orderPayload{Imported: []string{"+1", "+2"}, Conflicts: []string{"+2: held", "+3: held"}}
	if both.delivered() != 3 {
		t.Errorf("delivered %d, want 3", both.delivered())
	}
}

// TestFinalOrderLeavesPoolNumber: a late DID brought in by reconcile --import through its
// (partial, final) assign_to order does not pull back into the account a number of that
// order an admin returned to the pool.
func TestFinalOrderLeavesPoolNumber(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ld := newLateDelivery(t)
	store := openSQLite(t)
	acct := strings.Repeat("a", 32)
	c := lateCarrier(t, ld, store, acct)
	res, err := c.Order(ctx, OrderRequest{GroupID: 5116, Quantity: 3, Country: "US", AssignTo: acct})
	if err != nil || res.State != StatePartial || len(res.Numbers) != 2 {
		t.Fatalf("order: %+v, %v", res, err)
	}
	returned := res.Numbers[0]
	n, err := store.GetNumber(ctx, returned)
	if err != nil {
		t.Fatal(err)
	}
	next := n.Clone()
	next.State, next.AssignedTo = knm.StateAvailable, ""
	if err := store.UpdateNumber(ctx, next); err != nil {
		t.Fatal(err)
	}
	ld.deliver.Store(true)
	if rep, err := c.Reconcile(ctx, true); err != nil || rep.Imported != 1 {
		t.Fatalf("reconcile --import: %+v, %v", rep, err)
	}
	if n, err := store.GetNumber(ctx, returned); err != nil || n.State != knm.StateAvailable || n.AssignedTo != "" {
		t.Errorf("number returned to the pool was moved: %+v, %v", n, err)
	}
	if n, err := store.GetNumber(ctx, ld.late); err != nil || n.State != knm.StateInService || n.AssignedTo != acct {
		t.Errorf("late DID %+v, %v", n, err)
	}
	if got, err := c.GetOrder(ctx, res.OrderID); err != nil || got.State != StateImported || len(got.Numbers) != 3 {
		t.Errorf("order %+v, %v", got, err)
	}
}

// TestCancelRefusedRow: a cancel Voxbone refuses (a 4xx, 429/509, numberCancelled 0)
// leaves its row refused, so that a later release finding the DID gone (cancelled by
// someone else) is refused; an unknown outcome (no answer, a 5xx) leaves it sent; a
// numberCancelled 0 whose DID is gone is a cancel; a refused row is written sent again by
// the next cancel.
func TestCancelRefusedRow(t *testing.T) {
	t.Parallel()
	zero := func(e *emulator.Emulator) http.Handler { // numberCancelled 0, nothing cancelled
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if endpointOf(r) == "cancel" {
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprint(w, `{"numberCancelled":0}`)
				return
			}
			e.ServeHTTP(w, r)
		})
	}
	zeroDone := func(e *emulator.Emulator) http.Handler { // numberCancelled 0, cancelled
		return &rewriter{e: e, endpoint: "cancel", edit: func(_ *http.Request, m map[string]any) { m["numberCancelled"] = 0 }}
	}
	for _, tc := range []struct {
		name    string
		fault   *emulator.Fault
		handler func(*emulator.Emulator) http.Handler
		state   string // of the cancel row after the failed release
		gone    bool   // the cancel happened
	}{
		{name: "414", fault: &emulator.Fault{Status: 414}, state: cancelRefusedState},
		{name: "400", fault: &emulator.Fault{Status: 400}, state: cancelRefusedState},
		{name: "429", fault: &emulator.Fault{Status: 429}, state: cancelRefusedState},
		{name: "509", fault: &emulator.Fault{Status: 509}, state: cancelRefusedState},
		{name: "zero", handler: zero, state: cancelRefusedState},
		{name: "500", fault: &emulator.Fault{Status: 500}, state: cancelSent},
		{name: "drop", fault: &emulator.Fault{Drop: true}, state: cancelSent},
		{name: "timeout", fault: &emulator.Fault{Latency: 450 * time.Millisecond}, state: cancelSent},
		{name: "zero-but-cancelled", handler: zeroDone, state: cancelDone, gone: true},
		{name: "414-after-effect", fault: &emulator.Fault{Status: 414, AfterEffect: true}, state: cancelDone, gone: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			e := emulator.New(emulator.Config{})
			threeGroups(t, e)
			var h http.Handler = e
			if tc.handler != nil {
				h = tc.handler(e)
			}
			srv := httptest.NewServer(h)
			t.Cleanup(srv.Close)
			store := openSQLite(t)
			c := newTestCarrier(t, testSettings(srv.URL), store, nil)
			rows, err := search256(ctx, c, 2)
			if err != nil || len(rows) != 2 {
				t.Fatal(rows, err)
			}
			n, _ := store.GetNumber(ctx, rows[0].Number)
			var did struct {
				DIDID int `json:"didId"`
			}
			if err := json.Unmarshal(n.CarrierData, &did); err != nil || did.DIDID == 0 {
				t.Fatal(err)
			}
			if tc.fault != nil {
				f := *tc.fault
				f.Endpoint, f.Nth = "cancel", 1
				e.AddFault(f)
			}
			err = c.DisconnectNumber(ctx, n)
			listed := slices.ContainsFunc(e.DIDs(), func(d emulator.DID) bool { return d.DIDID == did.DIDID })
			if tc.gone != (err == nil) || tc.gone == listed {
				t.Fatalf("release: %v; DID listed %v", err, listed)
			}
			row, gerr := store.GetJournal(ctx, fmt.Sprintf("%s%d", cancelPrefix, did.DIDID))
			if gerr != nil || row.State != tc.state {
				t.Fatalf("cancel row %+v, %v; want state %s", row, gerr, tc.state)
			}
			if tc.gone {
				return
			}
			if tc.state == cancelRefusedState {
				// Cancelled elsewhere (not by knm): the release must not take the refused
				// cancel for knm's own.
				direct := httptest.NewServer(e)
				t.Cleanup(direct.Close)
				other, err := voxbone.New(voxbone.WithBaseURL(direct.URL + emulator.BasePath))
				if err != nil {
					t.Fatal(err)
				}
				if n, err := other.CancelDIDs(ctx, []int{did.DIDID}); err != nil || n != 1 {
					t.Fatal(n, err)
				}
				if err := c.DisconnectNumber(ctx, n); !knm.IsErrorName(err, knm.ErrCarrier) || !strings.Contains(err.Error(), "knm did not cancel it") {
					t.Fatalf("release after a refused cancel and a cancel elsewhere: %v", err)
				}
				return
			}
			// Unknown outcome, then released again: the row is reused and ends done.
			if err := c.DisconnectNumber(ctx, n); err != nil {
				t.Fatalf("release again: %v", err)
			}
			if row, err := store.GetJournal(ctx, row.ID); err != nil || row.State != cancelDone {
				t.Fatalf("cancel row after the release %+v, %v", row, err)
			}
		})
	}

	// A refused row is written sent (by this account) before the next cancel goes out.
	t.Run("retry-after-refusal", func(t *testing.T) {
		t.Parallel()
		ctx := context.Background()
		f := newFixture(t, nil, emulator.Config{})
		rows, err := search256(ctx, f.c, 1)
		if err != nil || len(rows) != 1 {
			t.Fatal(rows, err)
		}
		n, _ := f.store.GetNumber(ctx, rows[0].Number)
		f.e.AddFault(emulator.Fault{Endpoint: "cancel", Nth: 1, Status: 414})
		if err := f.c.DisconnectNumber(ctx, n); err == nil {
			t.Fatal("refused cancel released the number")
		}
		var did struct {
			DIDID int `json:"didId"`
		}
		_ = json.Unmarshal(n.CarrierData, &did)
		id := fmt.Sprintf("%s%d", cancelPrefix, did.DIDID)
		rec, err := f.c.recordCancel(ctx, did.DIDID, n.Number)
		if err != nil || rec.State != cancelSent {
			t.Fatalf("cancel row reused as %+v, %v", rec, err)
		}
		if own, err := f.c.ownCancel(ctx, did.DIDID); err != nil || !own {
			t.Fatalf("rewritten row not own: %v, %v", own, err)
		}
		if err := f.c.DisconnectNumber(ctx, n); err != nil {
			t.Fatal(err)
		}
		if row, err := f.store.GetJournal(ctx, id); err != nil || row.State != cancelDone {
			t.Fatalf("cancel row %+v, %v", row, err)
		}
		if c := f.e.Calls("cancel"); c != 2 {
			t.Errorf("%d cancels, want 2", c)
		}
	})
}

// TestLegacyFailedRowReplays: rows written before CheckoutAt existed that failed after
// their checkout was sent are replayed by a retry of their idempotency key, never bought
// again; a row that failed before its checkout lets the retry buy.
func TestLegacyFailedRowReplays(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		errMsg string
		refs   []string
		buys   bool
	}{
		{name: "settled by recover", errMsg: "checkout did not happen: checkout interrupted (found by recover)"},
		{name: "settled at once", errMsg: `checkout did not happen: checkout of cart 7 returned no DID order (status "")`},
		{name: "order references", errMsg: "something else", refs: []string{"ORDER-1"}},
		{name: "abandoned before checkout", errMsg: "abandoned in state items_added before checkout; cart deleted by recover", buys: true},
		{name: "out of stock", errMsg: "insufficient inventory: wanted 1, 0 in stock", buys: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			f := newFixture(t, nil, emulator.Config{})
			id := OrderPrefix + "legacy" + strings.Repeat("0", 18)
			raw, err := json.Marshal(orderPayload{OrderID: id, IdempotencyKey: "k", Group: 5116, Quantity: 1,
				Plan: []PlanLine{{GroupID: 5116, Quantity: 1, UnitCents: 100}}, CartID: 7,
				OrderReferences: tc.refs, Error: tc.errMsg})
			if err != nil {
				t.Fatal(err)
			}
			at := time.Now().Add(-time.Hour)
			if err := f.store.CreateJournal(ctx, &knm.JournalEntry{ID: id, Carrier: ModuleName, State: string(StateFailed),
				Payload: raw, Created: at, Updated: at}); err != nil {
				t.Fatal(err)
			}
			if _, claimed, err := f.store.ClaimIdempotencyKey(ctx, "voxbone.order:k", id); err != nil || !claimed {
				t.Fatal(claimed, err)
			}
			res, err := f.c.Order(ctx, OrderRequest{GroupID: 5116, Quantity: 1, Country: "US", IdempotencyKey: "k"})
			if tc.buys {
				if err != nil || res.Replayed || res.State != StateImported || len(f.e.Orders()) != 1 {
					t.Fatalf("retry of an order failed before its checkout: %+v, %v, %d orders", res, err, len(f.e.Orders()))
				}
				return
			}
			if err != nil || !res.Replayed || res.OrderID != id || len(f.e.Orders()) != 0 {
				t.Fatalf("retry of an order failed after its checkout: %+v, %v, %d orders", res, err, len(f.e.Orders()))
			}
		})
	}
}

// TestConcurrentRetriesOfFailedKey: concurrent retries, on two carriers, of a key whose
// first order failed before its checkout buy once between them.
func TestConcurrentRetriesOfFailedKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, nil, emulator.Config{})
	c2 := newTestCarrier(t, f.s, f.store, nil)
	if err := f.e.SetStock(5116, 0); err != nil {
		t.Fatal(err)
	}
	req := OrderRequest{GroupID: 5116, Quantity: 1, Country: "US", IdempotencyKey: "k"}
	if _, err := f.c.Order(ctx, req); err == nil {
		t.Fatal("out of stock order succeeded")
	}
	if err := f.e.SetStock(5116, 5); err != nil {
		t.Fatal(err)
	}
	done := make(chan *OrderResult, 16)
	for i := range 16 {
		c := f.c
		if i%2 == 1 {
			c = c2
		}
		go func() {
			r, err := c.Order(ctx, req)
			if err != nil {
				t.Log(err)
			}
			done <- r
		}()
	}
	ids := map[string]int{}
	for range 16 {
		if r := <-done; r != nil {
			ids[r.OrderID]++
		}
	}
	if len(ids) != 1 || len(f.e.Orders()) != 1 {
		t.Fatalf("order ids %v, %d orders placed", ids, len(f.e.Orders()))
	}
	checkInvariants(t, f.e, f.store, 1)
}
