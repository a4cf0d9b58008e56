package manager

import (
	"context"
	"strings"
	"testing"

	"github.com/knmproject/knm"
)

// Rules where knm is stricter than Kazoo's letter, because following it would let one
// account act on another's numbers or money.
func TestHardening(t *testing.T) {
	forEachStore(t, func(t *testing.T, s knm.Store) {
		ctx := context.Background()
		e := newEnv(t, s, Policy{})

		// Only admins create resellers: a reseller may buy from carriers for its tree.
		if _, err := e.m.CreateAccount(ctx, accS, "self-made reseller", accS, true); !knm.IsErrorName(err, knm.ErrForbidden) {
			t.Errorf("sub-account created a reseller: %v", err)
		}
		if _, err := e.m.CreateAccount(ctx, accM, "real reseller", accR, true); err != nil {
			t.Errorf("admin could not create a reseller: %v", err)
		}
		// A missing parent and a foreign one look alike to a non-admin.
		missing := strings.Repeat("9", 32)
		if _, err := e.m.CreateAccount(ctx, accS, "x", missing, false); !knm.IsErrorName(err, knm.ErrForbidden) {
			t.Errorf("missing parent: %v, want forbidden", err)
		}
		if _, err := e.m.CreateAccount(ctx, accS, "x", accT, false); !knm.IsErrorName(err, knm.ErrForbidden) {
			t.Errorf("foreign parent: %v, want forbidden", err)
		}
		if _, err := e.m.CreateAccount(ctx, accM, "x", missing, false); !knm.IsErrorName(err, knm.ErrNotFound) {
			t.Errorf("admin, missing parent: %v, want not_found", err)
		}

		// A sibling cannot take over a number another account is porting in by creating it
		// again in port_in; the owner (or its ancestors) still can.
		num := "+16175550100"
		if _, err := e.m.Create(ctx, accS, num, CreateOptions{AssignTo: accS, State: knm.StatePortIn}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.m.Create(ctx, accT, num, CreateOptions{AssignTo: accT, State: knm.StatePortIn}); !knm.IsErrorName(err, knm.ErrForbidden) {
			t.Errorf("sibling took over a port_in number: %v", err)
		}
		if n := e.get(t, num); n.AssignedTo != accS {
			t.Fatalf("owner changed to %s", n.AssignedTo)
		}
		if _, err := e.m.Create(ctx, accR, num, CreateOptions{AssignTo: accS, State: knm.StatePortIn}); err != nil {
			t.Errorf("the owner's reseller re-created it: %v", err)
		}
	})
}
