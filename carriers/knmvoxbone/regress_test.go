package knmvoxbone

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/voxbone/emulator"
)

// TestFailedKeyRetryBuys: an idempotent order that failed before its checkout (out of
// stock) bought nothing, so a retry with the same key buys once stock is back, and a
// further repeat replays that second order instead of buying again.
func TestFailedKeyRetryBuys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, nil, emulator.Config{})
	if err := f.e.SetStock(5116, 0); err != nil {
		t.Fatal(err)
	}
	req := OrderRequest{GroupID: 5116, Quantity: 1, Country: "US", IdempotencyKey: "retry-me"}
	if res, err := f.c.Order(ctx, req); err == nil {
		t.Fatalf("out of stock order succeeded: %+v", res)
	}
	// Twice failed, so the key hops over more than one failed order.
	if _, err := f.c.Order(ctx, req); err == nil {
		t.Fatal("second out of stock order succeeded")
	}
	if err := f.e.SetStock(5116, 5); err != nil {
		t.Fatal(err)
	}
	res, err := f.c.Order(ctx, req)
	if err != nil || res.State != StateImported || res.Replayed || len(res.Numbers) != 1 {
		t.Fatalf("retry after restock: %+v, %v", res, err)
	}
	again, err := f.c.Order(ctx, req)
	if err != nil || !again.Replayed || again.OrderID != res.OrderID {
		t.Fatalf("repeat of the bought order: %+v, %v", again, err)
	}
	// A different request under the same key is still refused.
	other := req
	other.Quantity = 2
	if _, err := f.c.Order(ctx, other); !knm.IsErrorName(err, knm.ErrInvalid) {
		t.Errorf("different request under the key: %v", err)
	}
	if n := len(f.e.Orders()); n != 1 {
		t.Errorf("%d orders placed, want 1", n)
	}
	checkInvariants(t, f.e, f.store, 1)
}

// TestRecoverLeavesOtherAccountsOrders: a row left checkout_sent on account A (the process
// died as the checkout went through) is not settled by a carrier rebuilt for account B,
// where the order's cart and DIDs are invisible: it stays unsettled, with the reason, until
// a carrier of account A imports its DIDs.
func TestRecoverLeavesOtherAccountsOrders(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	store := openSQLite(t)
	eA := emulator.New(emulator.Config{})
	threeGroups(t, eA)
	sctx, scancel := context.WithCancel(ctx)
	defer scancel()
	sw := &crashSwitch{e: eA, endpoint: "cart.checkout", nth: 1, effect: true, cancel: scancel}
	dying := httptest.NewServer(sw)
	defer dying.Close()
	old := newTestCarrier(t, testSettings(dying.URL), crashStore{Store: store, crashed: &sw.crashed}, nil)
	_, _ = search256(sctx, old, 2)
	if len(eA.DIDs()) != 2 {
		t.Fatalf("account A holds %d DIDs, want 2", len(eA.DIDs()))
	}

	eB := emulator.New(emulator.Config{})
	threeGroups(t, eB)
	srvB := httptest.NewServer(eB)
	defer srvB.Close()
	onB := newTestCarrier(t, testSettings(srvB.URL), store, nil)
	onB.account = testSettings(srvB.URL).AccountFingerprint()
	rep, err := onB.Recover(ctx)
	if err != nil || rep.Failed != 0 || len(rep.Unsettled) != 1 || !strings.Contains(rep.Unsettled[0], "another Voxbone account") {
		t.Fatalf("recover on account B: %+v, %v", rep, err)
	}
	es, _ := store.FindJournals(ctx, knm.JournalFilter{Carrier: ModuleName})
	if len(es) != 1 || OrderState(es[0].State) != StateCheckoutSent {
		t.Fatalf("journal after recover on B: %+v", es)
	}
	if n := eB.Calls("cart.delete") + eB.Calls("order.list"); n != 0 {
		t.Errorf("recover on B touched account B %d times for A's order", n)
	}

	srvA := httptest.NewServer(eA)
	defer srvA.Close()
	onA := newTestCarrier(t, testSettings(srvA.URL), store, nil) // the same test account again
	rep, err = onA.Recover(ctx)
	if err != nil || rep.Imported != 1 || len(rep.Unsettled) != 0 {
		t.Fatalf("recover on account A: %+v, %v", rep, err)
	}
	checkInvariants(t, eA, store, 1)
}

// TestReleaseOnOtherAccountRefused: a release that finds neither the number nor its DID id
// in the account finishes only when knm itself cancelled that DID before; a carrier talking
// to another account refuses it, so a number Voxbone still bills stays in knm.
func TestReleaseOnOtherAccountRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a := newFixture(t, nil, emulator.Config{})
	rows, err := search256(ctx, a.c, 2)
	if err != nil || len(rows) != 2 {
		t.Fatal(rows, err)
	}
	n, err := a.store.GetNumber(ctx, rows[0].Number)
	if err != nil {
		t.Fatal(err)
	}
	eB := emulator.New(emulator.Config{})
	srvB := httptest.NewServer(eB)
	defer srvB.Close()
	onB := newTestCarrier(t, testSettings(srvB.URL), a.store, nil)
	onB.account = "account-b"

	err = onB.DisconnectNumber(ctx, n)
	if !knm.IsErrorName(err, knm.ErrCarrier) || !strings.Contains(err.Error(), "not in this Voxbone account") {
		t.Fatalf("release on another account: %v", err)
	}
	if a.e.Calls("cancel")+eB.Calls("cancel") != 0 || len(a.e.DIDs()) != 2 {
		t.Fatal("a cancel was sent")
	}

	// A cancel journalled (sent) on account A whose outcome is unknown does not let B finish.
	var did struct {
		DIDID int `json:"didId"`
	}
	if err := json.Unmarshal(n.CarrierData, &did); err != nil || did.DIDID == 0 {
		t.Fatal(err)
	}
	rec, err := a.c.recordCancel(ctx, did.DIDID, n.Number)
	if err != nil {
		t.Fatal(err)
	}
	if err := onB.DisconnectNumber(ctx, n); !knm.IsErrorName(err, knm.ErrCarrier) {
		t.Fatalf("release on B with A's unconfirmed cancel: %v", err)
	}

	// Released on A: the cancel row is written before and done after.
	if err := a.c.DisconnectNumber(ctx, n); err != nil {
		t.Fatal(err)
	}
	e, err := a.store.GetJournal(ctx, rec.ID)
	if err != nil || e.State != cancelDone || e.Carrier != ModuleName {
		t.Fatalf("cancel row %+v, %v", e, err)
	}
	var p cancelPayload
	if err := json.Unmarshal(e.Payload, &p); err != nil || p.DIDID != did.DIDID || p.Number != n.Number || p.Account != a.c.AccountFingerprint() {
		t.Fatalf("cancel payload %+v, %v", p, err)
	}
	// Released again, from either account: knm cancelled it, so it may finish, without
	// another cancel.
	if err := onB.DisconnectNumber(ctx, n); err != nil {
		t.Errorf("release after knm's own cancel: %v", err)
	}
	if err := a.c.DisconnectNumber(ctx, n); err != nil {
		t.Errorf("release again on A: %v", err)
	}
	if c := a.e.Calls("cancel"); c != 1 {
		t.Errorf("%d cancels, want 1", c)
	}
	// Cancel rows are no orders.
	if os, err := a.c.ListOrders(ctx); err != nil || len(os) != 1 {
		t.Errorf("orders %d, %v; want 1 (the purchase)", len(os), err)
	}
	if _, err := a.c.GetOrder(ctx, rec.ID); !knm.IsErrorName(err, knm.ErrNotFound) {
		t.Errorf("cancel row served as an order: %v", err)
	}
}

// TestAccountFingerprint: the fingerprint tells accounts apart and holds no secret.
func TestAccountFingerprint(t *testing.T) {
	t.Parallel()
	base := Settings{Username: "alice", Password: "s3cret-pass", Environment: "production"}
	fp := base.AccountFingerprint()
	if len(fp) != 12 || strings.Contains(fp, "alice") || strings.Contains(fp, "s3cret") {
		t.Fatalf("fingerprint %q", fp)
	}
	same := base
	same.Password = "rotated"
	same.MaxOrderCost = 5
	if same.AccountFingerprint() != fp {
		t.Error("a new password or limit changed the account")
	}
	for name, s := range map[string]Settings{
		"user": {Username: "bob", Password: "s3cret-pass", Environment: "production"},
		"env":  {Username: "alice", Password: "s3cret-pass", Environment: "sandbox"},
		"url":  {Username: "alice", Password: "s3cret-pass", Environment: "production", BaseURL: "https://example.com/api"},
		"key":  {APIKey: "k1", Environment: "beta"},
	} {
		if s.AccountFingerprint() == fp {
			t.Errorf("%s: same fingerprint", name)
		}
	}
	if (Settings{APIKey: "k1", Environment: "beta"}).AccountFingerprint() == (Settings{APIKey: "k2", Environment: "beta"}).AccountFingerprint() {
		t.Error("two API keys share a fingerprint")
	}
	c, err := New(base, Deps{Store: openSQLite(t)})
	if err != nil || c.AccountFingerprint() != fp {
		t.Errorf("carrier fingerprint %q, %v", c.AccountFingerprint(), err)
	}
}

// TestSharedReservations: a carrier rebuilt for the same account (sharing the old one's
// Reservations, as knm serve's holder does) does not plan the stock or money the old one is
// still buying; carriers with their own Reservations would.
func TestSharedReservations(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, nil, emulator.Config{})
	cat, err := f.c.fetchCatalogue(ctx, groupQuery{CountryA3: "USA", AreaCode: "256"})
	if err != nil {
		t.Fatal(err)
	}
	build := func(r *Reservations) *Carrier {
		c, err := New(f.s, Deps{Store: f.store, Logger: quiet, Reservations: r})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	shared := NewReservations()
	old, rebuilt := build(shared), build(shared)
	a := old.plan(cat, 12)
	b := rebuilt.plan(cat, 12)
	if a.qty != 12 || b.qty != 3 || b.short == nil {
		t.Fatalf("stock: old planned %d, rebuilt %d (%v); want 12 and the 3 left", a.qty, b.qty, b.short)
	}
	old.release(a.lines)
	if c := rebuilt.plan(cat, 12); c.qty != 12 {
		t.Errorf("after the old order's release the rebuilt carrier plans %d, want 12", c.qty)
	}

	// Money: the balance pays for 3 DIDs; the old carrier plans them all.
	g, _ := f.e.DIDGroup(5116)
	f.e.SetBalance(float64(3*(g.Setup100+g.Monthly100)) / 100)
	cat, err = f.c.fetchCatalogue(ctx, groupQuery{CountryA3: "USA", AreaCode: "256"})
	if err != nil {
		t.Fatal(err)
	}
	shared = NewReservations()
	old, rebuilt = build(shared), build(shared)
	if a := old.plan(cat, 3); a.qty != 3 {
		t.Fatalf("old planned %d", a.qty)
	}
	if b := rebuilt.plan(cat, 3); b.qty != 0 || !knm.IsErrorName(b.short, knm.ErrNotEnoughCredit) {
		t.Errorf("money: rebuilt planned %d (%v) of a balance the old carrier holds", b.qty, b.short)
	}
	if c := build(nil).plan(cat, 3); c.qty != 3 {
		t.Errorf("a carrier with its own reservations planned %d, want 3", c.qty)
	}
}

// TestLateDeliveryAfterPartial: a DID Voxbone delivers after the order's delivery deadline
// (the order is partial, final) is listed by Reconcile with its order, and reconcile
// --import brings it in through the order itself: in service for the order's account, the
// order imported, the money counted once.
func TestLateDeliveryAfterPartial(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ld := newLateDelivery(t)
	store := openSQLite(t)
	acct := strings.Repeat("a", 32)
	c := lateCarrier(t, ld, store, acct)
	// Recover's own look at partial orders is off: this is reconcile's test (see
	// TestRecoverLateDelivery for Recover's).
	c.lateHorizon = 0
	var spent, orders atomic.Int64
	c.metrics.Spent = func(cents int) { spent.Add(int64(cents)) }
	c.metrics.Order = func(OrderState, int) { orders.Add(1) }
	res, err := c.Order(ctx, OrderRequest{GroupID: 5116, Quantity: 3, Country: "US", AssignTo: acct})
	if err != nil || res.State != StatePartial || len(res.Numbers) != 2 {
		t.Fatalf("order: %+v, %v", res, err)
	}
	ld.deliver.Store(true)
	if rep, err := c.Recover(ctx); err != nil || rep.Examined != 0 || rep.LateChecked != 0 {
		t.Fatalf("recover: %+v, %v", rep, err)
	}

	rep, err := c.Reconcile(ctx, false)
	if err != nil || len(rep.LateDeliveries) != 1 || rep.LateDeliveries[0].E164 != ld.late || rep.LateDeliveries[0].Order != res.OrderID ||
		len(rep.UnknownToKnm) != 1 || rep.Imported != 0 {
		t.Fatalf("reconcile: %+v, %v", rep, err)
	}
	if _, err := store.GetNumber(ctx, ld.late); !knm.IsErrorName(err, knm.ErrNotFound) {
		t.Fatalf("reconcile without --import stored the late DID: %v", err)
	}

	rep, err = c.Reconcile(ctx, true)
	if err != nil || rep.Imported != 1 || len(rep.UnknownToKnm) != 0 || len(rep.LateDeliveries) != 1 {
		t.Fatalf("reconcile --import: %+v, %v", rep, err)
	}
	n, err := store.GetNumber(ctx, ld.late)
	if err != nil || n.State != knm.StateInService || n.AssignedTo != acct || n.ModuleName != ModuleName {
		t.Fatalf("late DID stored %+v, %v", n, err)
	}
	got, err := c.GetOrder(ctx, res.OrderID)
	if err != nil || got.State != StateImported || len(got.Numbers) != 3 || got.Error != "" {
		t.Fatalf("order after the late delivery: %+v, %v", got, err)
	}
	if want := int64(got.CostCents); spent.Load() != want {
		t.Errorf("spent %d cents, want %d", spent.Load(), want)
	}
	if orders.Load() != 2 { // partial, then imported
		t.Errorf("%d final order events, want 2", orders.Load())
	}
	// Again: nothing left to do, nothing counted twice.
	if rep, err := c.Reconcile(ctx, true); err != nil || rep.Imported != 0 || len(rep.UnknownToKnm) != 0 || len(rep.LateDeliveries) != 0 {
		t.Errorf("reconcile again: %+v, %v", rep, err)
	}
	if want := int64(got.CostCents); spent.Load() != want {
		t.Errorf("spent %d cents after a second reconcile, want %d", spent.Load(), want)
	}
}
