package knmvoxbone

import (
	"context"
	"testing"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/voxbone/emulator"
)

// TestBudgetAcrossOrders: money planned by an order in progress is not planned again by
// another order of the same process before its checkout.
func TestBudgetAcrossOrders(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, emulator.Config{})
	g, _ := f.e.DIDGroup(5116)
	unit := g.Setup100 + g.Monthly100
	f.e.SetBalance(float64(3*unit) / 100)
	cat, err := f.c.fetchCatalogue(ctx, groupQuery{CountryA3: "USA", AreaCode: "256"})
	if err != nil {
		t.Fatal(err)
	}
	a := f.c.plan(cat, 3, 1)
	if a.qty != 3 || a.short != nil {
		t.Fatalf("first plan %+v", a)
	}
	b := f.c.plan(cat, 3, 1)
	if b.qty != 0 || !knm.IsErrorName(b.short, knm.ErrNotEnoughCredit) {
		t.Fatalf("second plan while the first is in progress: %+v", b)
	}
	f.c.unreserve(a.lines)
	if c := f.c.plan(cat, 3, 1); c.qty != 3 {
		t.Fatalf("plan after the first released: %+v", c)
	}
}

// TestSharedReservations: a carrier rebuilt for the same account (sharing the old one's
// Reservations, as knm serve's holder does) does not plan the stock or money the old one is
// still buying; carriers with their own Reservations would.
func TestSharedReservations(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, emulator.Config{})
	cat, err := f.c.fetchCatalogue(ctx, groupQuery{CountryA3: "USA", AreaCode: "256"})
	if err != nil {
		t.Fatal(err)
	}
	build := func(r *Reservations) *Carrier { return newTestCarrier(t, f.s, Deps{Store: f.store, Reservations: r}) }
	shared := NewReservations()
	old, rebuilt := build(shared), build(shared)
	a := old.plan(cat, 12, 1)
	b := rebuilt.plan(cat, 12, 1)
	if a.qty != 12 || b.qty != 3 || b.short == nil {
		t.Fatalf("stock: old planned %d, rebuilt %d (%v); want 12 and the 3 left", a.qty, b.qty, b.short)
	}
	old.unreserve(a.lines)
	if c := rebuilt.plan(cat, 12, 1); c.qty != 12 {
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
	if a := old.plan(cat, 3, 1); a.qty != 3 {
		t.Fatalf("old planned %d", a.qty)
	}
	if b := rebuilt.plan(cat, 3, 1); b.qty != 0 || !knm.IsErrorName(b.short, knm.ErrNotEnoughCredit) {
		t.Errorf("money: rebuilt planned %d (%v) of a balance the old carrier holds", b.qty, b.short)
	}
	if c := build(nil).plan(cat, 3, 1); c.qty != 3 {
		t.Errorf("a carrier with its own reservations planned %d, want 3", c.qty)
	}
}
