package manager

import (
	"context"
	"strings"
	"testing"

	"github.com/knmproject/knm"
)

// TestAccounts covers CreateAccount and ListAccounts.
func TestAccounts(t *testing.T) {
	forEachStore(t, func(t *testing.T, s knm.Store) {
		ctx := context.Background()
		e := newEnv(t, s, Policy{})
		sub, err := e.m.CreateAccount(ctx, accR, "customer", accS, false)
		if err != nil {
			t.Fatal(err)
		}
		if sub.ResellerID != accR || len(sub.Tree) != 3 || sub.Tree[2] != accS || sub.ParentID != accS {
			t.Fatalf("account %+v", sub)
		}
		res, err := e.m.CreateAccount(ctx, accM, "new reseller", accM, true)
		if err != nil || res.ResellerID != res.ID {
			t.Fatalf("reseller %+v %v", res, err)
		}
		_, err = e.m.CreateAccount(ctx, accT, "x", accS, false)
		wantErr(t, err, knm.ErrForbidden, "")
		_, err = e.m.CreateAccount(ctx, accS, "root", "", false)
		wantErr(t, err, knm.ErrForbidden, "")
		_, err = e.m.CreateAccount(ctx, accM, "", accS, false)
		wantErr(t, err, knm.ErrInvalid, "name")
		list, err := e.m.ListAccounts(ctx, accS)
		if err != nil || len(list) != 3 { // S, G and the new customer
			t.Fatalf("ListAccounts(S) = %d, %v", len(list), err)
		}
		all, _ := e.m.ListAccounts(ctx, knm.SystemAccountID)
		if len(all) != 9 {
			t.Fatalf("ListAccounts(system) = %d", len(all))
		}
	})
}

// TestAccountCreationRules: knm is stricter than Kazoo's letter where following it would
// let one account act on another's numbers or money: only admins create resellers (a
// reseller may buy from carriers for its tree), and a missing parent looks like a foreign
// one to a non-admin.
func TestAccountCreationRules(t *testing.T) {
	forEachStore(t, func(t *testing.T, s knm.Store) {
		ctx := context.Background()
		e := newEnv(t, s, Policy{})
		_, err := e.m.CreateAccount(ctx, accS, "self-made reseller", accS, true)
		if !knm.IsErrorName(err, knm.ErrForbidden) {
			t.Errorf("sub-account created a reseller: %v", err)
		}
		if _, err := e.m.CreateAccount(ctx, accM, "real reseller", accR, true); err != nil {
			t.Errorf("admin could not create a reseller: %v", err)
		}
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
	})
}
