package knmvoxbone

import (
	"context"
	"encoding/json"
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
	c := newTestCarrier(t, testSettings(srv.URL), Deps{Store: store})
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

// TestAssignToFromPool: DIDs of an assign_to order already stored available (by an older
// reconcile --import, say) are moved in service to the account by Recover; one stored for
// another account is left alone and reported as the order's conflict, and the order finishes.
func TestAssignToFromPool(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e, store, acct, s := diedAfterCheckout(t)
	var pool []*knm.Number
	for _, d := range e.DIDs() {
		n, _ := didNumber(voxbone.DID{E164: d.E164}, "")
		pool = append(pool, n)
	}
	if skipped, err := store.ImportNumbers(ctx, pool); err != nil || len(skipped) != 0 {
		t.Fatal(skipped, err)
	}
	c := newTestCarrier(t, s, Deps{Store: store})
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
	taken, _ := didNumber(voxbone.DID{E164: e2.DIDs()[0].E164}, other)
	if _, err := store2.ImportNumbers(ctx, []*knm.Number{taken}); err != nil {
		t.Fatal(err)
	}
	c2 := newTestCarrier(t, s2, Deps{Store: store2})
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
	if len(os) != 1 || os[0].State != StateImported || len(os[0].Numbers) != 2 ||
		slices.Contains(os[0].Numbers, taken.Number) || len(os[0].Conflicts) != 1 ||
		os[0].Conflicts[0].Number != taken.Number || !strings.Contains(os[0].Conflicts[0].Why, other) ||
		!strings.Contains(os[0].Error, taken.Number) {
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

// TestConflictImportedLater: a DID of a partial order that another module held (the
// order's conflict) and that reconcile --import brings in through its order once released
// is delivered once: imported, no longer a conflict, the order still short, no money
// counted again.
func TestConflictImportedLater(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, emulator.Config{})
	f.c.deliveryDeadline = -time.Hour
	var spent atomic.Int64
	f.c.metrics.Spent = func(c int) { spent.Add(int64(c)) }
	res, err := f.c.Order(ctx, OrderRequest{GroupID: 5116, Quantity: 2, Country: "US"})
	if err != nil || res.State != StateImported {
		t.Fatal(res, err)
	}
	paid := spent.Load()
	d1 := res.Numbers[0]
	// Voxbone delivered 2 of 3, and d1 was stored by another module when the order imported
	// (a conflict, never in Imported: a number the order imported never becomes a conflict).
	rewriteOrder(t, f.store, res.OrderID, StatePartial, func(p *orderPayload) {
		p.Plan[0].Quantity = 3
		p.Imported = slices.DeleteFunc(p.Imported, func(n string) bool { return n == d1 })
		p.Conflicts = []Conflict{{Number: d1, Why: "bought from voxbone but stored with module knm_local"}}
	})
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
	if got.State != StatePartial || len(got.Conflicts) != 0 || len(got.Numbers) != 2 ||
		!slices.Contains(got.Numbers, d1) {
		t.Errorf("after the import: %+v (Voxbone delivered 2 of 3)", got)
	}
	if spent.Load() != paid {
		t.Errorf("spent %d cents, want %d: no new DID was delivered", spent.Load(), paid)
	}
	// delivered counts a number once even when a row lists it as imported and conflict.
	both := orderPayload{Imported: []string{"+1", "+2"},
		Conflicts: []Conflict{{Number: "+2", Why: "held"}, {Number: "+3", Why: "held"}}}
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
	acct := strings.Repeat("a", 32)
	lo := newLateOrder(t, acct)
	c, store, ld, res := lo.c, lo.store, lo.ld, lo.res
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

// TestLateSettledNumbers: a number a partial order imported that an operator deleted since
// is never re-created, by Recover's late pass nor by reconcile --import, and one an admin
// reassigned to another account stays there and is no conflict of the order.
func TestLateSettledNumbers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	acct, other := strings.Repeat("c", 32), strings.Repeat("d", 32)
	lo := newLateOrder(t, acct)
	c, store, ld, res := lo.c, lo.store, lo.ld, lo.res
	if err := store.CreateAccount(ctx, &knm.Account{ID: other, Name: "d", Enabled: true}); err != nil {
		t.Fatal(err)
	}
	deleted, moved := res.Numbers[0], res.Numbers[1]
	n, err := store.GetNumber(ctx, deleted)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.DeleteNumber(ctx, deleted, n.Rev); err != nil {
		t.Fatal(err)
	}
	n, err = store.GetNumber(ctx, moved)
	if err != nil {
		t.Fatal(err)
	}
	n.AssignedTo = other
	if err := store.UpdateNumber(ctx, n); err != nil {
		t.Fatal(err)
	}
	check := func(what string) {
		t.Helper()
		if n, err := store.GetNumber(ctx, deleted); !knm.IsErrorName(err, knm.ErrNotFound) {
			t.Errorf("%s: deleted number re-created: %+v, %v", what, n, err)
		}
		if n, err := store.GetNumber(ctx, moved); err != nil || n.AssignedTo != other {
			t.Errorf("%s: reassigned number moved: %+v, %v", what, n, err)
		}
		got, err := c.GetOrder(ctx, res.OrderID)
		if err != nil || got.State != StatePartial || len(got.Conflicts) != 0 || len(got.Numbers) != 2 {
			t.Errorf("%s: order %+v, %v", what, got, err)
		}
	}

	rep, err := c.Recover(ctx)
	if err != nil || rep.LateChecked != 1 || rep.LateImported != 0 || len(rep.Unsettled) != 0 {
		t.Fatalf("recover: %+v, %v", rep, err)
	}
	check("recover")
	if rep, err := c.Recover(ctx); err != nil || rep.LateChecked != 1 || rep.LateImported != 0 {
		t.Fatalf("recover again: %+v, %v", rep, err)
	}
	check("recover again")

	rrep, err := c.Reconcile(ctx, true)
	if err != nil || rrep.Imported != 0 || len(rrep.LateDeliveries) != 0 || len(rrep.OrderConflicts) != 0 ||
		!slices.ContainsFunc(rrep.UnknownToKnm, func(s DIDSummary) bool { return s.E164 == deleted }) {
		t.Fatalf("reconcile --import: %+v, %v", rrep, err)
	}
	check("reconcile --import")

	// A DID delivered late is still imported, and completes the order.
	ld.deliver.Store(true)
	if rep, err := c.Recover(ctx); err != nil || rep.LateImported != 1 || rep.LateCompleted != 1 {
		t.Fatalf("recover after the late delivery: %+v, %v", rep, err)
	}
	if n, err := store.GetNumber(ctx, ld.late); err != nil || n.AssignedTo != acct {
		t.Errorf("late DID %+v, %v", n, err)
	}
	if _, err := store.GetNumber(ctx, deleted); !knm.IsErrorName(err, knm.ErrNotFound) {
		t.Errorf("deleted number re-created with the late DID: %v", err)
	}
}

// TestLateReleasedDID: a DID of a partial order that knm journalled a cancel of (sent or
// done) is not imported by Recover's late pass nor by reconcile --import.
func TestLateReleasedDID(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, state := range []string{cancelSent, cancelDone} {
		lo := newLateOrder(t, strings.Repeat("e", 32))
		c, store, ld, res := lo.c, lo.store, lo.ld, lo.res
		raw, _ := json.Marshal(cancelPayload{DIDID: 999999, Number: ld.late, Account: c.account})
		now := time.Now()
		if err := store.CreateJournal(ctx, &knm.JournalEntry{ID: "cancel-999999", Carrier: ModuleName, State: state,
			Payload: raw, Created: now, Updated: now}); err != nil {
			t.Fatal(err)
		}
		ld.deliver.Store(true)
		if rep, err := c.Recover(ctx); err != nil || rep.LateChecked != 1 || rep.LateImported != 0 ||
			len(rep.Unsettled) != 0 {
			t.Errorf("%s: recover %+v, %v", state, rep, err)
		}
		if rep, err := c.Reconcile(ctx, true); err != nil || rep.Imported != 0 {
			t.Errorf("%s: reconcile --import %+v, %v", state, rep, err)
		}
		if n, err := store.GetNumber(ctx, ld.late); !knm.IsErrorName(err, knm.ErrNotFound) {
			t.Errorf("%s: released DID imported: %+v, %v", state, n, err)
		}
		if got, err := c.GetOrder(ctx, res.OrderID); err != nil || got.State != StatePartial || len(got.Numbers) != 2 {
			t.Errorf("%s: order %+v, %v", state, got, err)
		}
	}
}
