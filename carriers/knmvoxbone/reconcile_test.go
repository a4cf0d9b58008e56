package knmvoxbone

import (
	"context"
	"slices"
	"testing"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/voxbone"
	"github.com/knmproject/knm/voxbone/emulator"
)

func TestReconcileAndCheck(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, emulator.Config{})
	rows, err := search256(ctx, f.c, 5)
	if err != nil || len(rows) != 5 {
		t.Fatal(rows, err)
	}
	// A DID bought outside knm, and a knm number cancelled outside knm.
	vx := f.c.client
	cart, _ := vx.CreateCart(ctx, voxbone.CreateCartRequest{CustomerReference: "portal"})
	_ = vx.AddDIDsToCart(ctx, cart.CartIdentifier, 5117, 1)
	if _, err := vx.Checkout(ctx, cart.CartIdentifier); err != nil {
		t.Fatal(err)
	}
	gone, _ := f.store.GetNumber(ctx, rows[0].Number)
	if err := f.c.DisconnectNumber(ctx, gone); err != nil {
		t.Fatal(err)
	}
	rep, err := f.c.Reconcile(ctx, false)
	if err != nil || len(rep.UnknownToKnm) != 1 || !slices.Equal(rep.MissingAtVoxbone, []string{gone.Number}) ||
		rep.Imported != 0 {
		t.Fatalf("report %+v, %v", rep, err)
	}
	st, err := f.c.CheckNumbers(ctx, []string{gone.Number, rows[1].Number})
	if err != nil || st[gone.Number] != CheckMissing || st[rows[1].Number] != CheckActive {
		t.Errorf("check %v, %v", st, err)
	}
	rep, err = f.c.Reconcile(ctx, true)
	if err != nil || rep.Imported != 1 {
		t.Fatalf("import %+v, %v", rep, err)
	}
	n, err := f.store.GetNumber(ctx, rep.UnknownToKnm[0].E164)
	if err != nil || n.State != knm.StateAvailable || n.ModuleName != ModuleName || len(n.CarrierData) == 0 {
		t.Errorf("imported %+v, %v", n, err)
	}
}

// TestReconcileBeforeRecoverAssignTo: the process buying for an account dies right after
// the checkout. reconcile --import then leaves the order's DIDs alone (they are Recover's),
// and Recover stores them in service for the account.
func TestReconcileBeforeRecoverAssignTo(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e, store, acct, s := diedAfterCheckout(t)
	c := newTestCarrier(t, s, Deps{Store: store})
	rep, err := c.Reconcile(ctx, true)
	if err != nil || rep.Imported != 0 || len(rep.InOrders) != 3 || len(rep.UnknownToKnm) != 0 {
		t.Fatalf("reconcile %+v, %v", rep, err)
	}
	if rr, err := c.Recover(ctx); err != nil || rr.Imported != 1 {
		t.Fatalf("recover %+v, %v", rr, err)
	}
	assertAssigned(t, store, c, acct, 3)
	checkInvariants(t, e, store, 1)
}
