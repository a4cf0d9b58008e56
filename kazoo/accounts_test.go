package kazoo

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/knmproject/knm"
)

// deleteKazooDoc deletes a document as Kazoo's account deletion does (a tombstone in the
// _changes feed).
func deleteKazooDoc(t *testing.T, c *Couch, db, id string) {
	t.Helper()
	if ok, err := c.deleteDoc(context.Background(), db, id); err != nil || !ok {
		t.Fatalf("delete %s/%s: %v %v", db, id, ok, err)
	}
}

// TestImportKazooAccounts imports Kazoo's accounts database: ids, names, tree, reseller and
// superduper flags and enabled state arrive as Kazoo has them; documents that are not
// accounts are skipped with a reason; an account Kazoo deleted is disabled, never deleted
// (its numbers stay); accounts knm made itself are left alone; a second run changes nothing.
func TestImportKazooAccounts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, s := kazooAndKnm(t)
	own := &knm.Account{ID: strings.Repeat("9", 32), Name: "knm's own", Enabled: true}
	if err := s.CreateAccount(ctx, own); err != nil {
		t.Fatal(err)
	}
	putJSON(t, c, AccountsDB, accGone, kazooAccountDoc(accGone, "Gone", []string{accMaster}, nil))
	putJSON(t, c, AccountsDB, "account0000000000000000000000002", kazooAccountDoc("account0000000000000000000000002",
		"Fixture", nil, nil))
	putJSON(t, c, AccountsDB, "_design/accounts", map[string]any{"language": "javascript"})
	im := &AccountImporter{Store: s, Couch: c}
	rep, err := im.Import(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Created != 5 || len(rep.Skipped) != 1 || !strings.Contains(rep.Skipped[0], "not a 32-hex account id") {
		t.Fatalf("first import: %+v", rep)
	}
	want := map[string]knm.Account{
		accMaster: {Name: "Master", SuperduperAdmin: true, Enabled: true},
		accReseller: {Name: "Reseller", ParentID: accMaster, Tree: []string{accMaster}, Reseller: true,
			ResellerID: accReseller, Enabled: true},
		accSubA: {Name: "Sub A", ParentID: accReseller, Tree: []string{accMaster, accReseller}, ResellerID: accReseller,
			Enabled: true},
		accSubB: {Name: "Sub B", ParentID: accReseller, Tree: []string{accMaster, accReseller}, ResellerID: accReseller,
			AllowNumberAdditions: true, Enabled: true},
		accGone: {Name: "Gone", ParentID: accMaster, Tree: []string{accMaster}, ResellerID: accMaster, Enabled: true},
	}
	checkAccounts(t, s, want)
	if a, _ := s.GetAccount(ctx, accMaster); a.Created != knm.FromGregorian(63636183145) {
		t.Errorf("created %v, want Kazoo's pvt_created", a.Created)
	}
	// A number of the account Kazoo is about to delete.
	if err := s.CreateNumber(ctx, &knm.Number{Number: "+12565550199", State: knm.StateInService, AssignedTo: accGone,
		ModuleName: "knm_local"}); err != nil {
		t.Fatal(err)
	}
	deleteKazooDoc(t, c, AccountsDB, accGone)
	putJSON(t, c, AccountsDB, accSubA, kazooAccountDoc(accSubA, "Sub A renamed", []string{accMaster, accReseller},
		map[string]any{"pvt_enabled": false}))
	rep, err = im.Import(ctx)
	if err != nil || rep.Created != 0 || rep.Updated != 1 || rep.Disabled != 1 || rep.Unchanged != 3 {
		t.Fatalf("second import: %+v %v", rep, err)
	}
	a := want[accSubA]
	a.Name, a.Enabled = "Sub A renamed", false
	want[accSubA] = a
	g := want[accGone]
	g.Enabled = false
	want[accGone] = g
	checkAccounts(t, s, want)
	if n, err := s.GetNumber(ctx, "+12565550199"); err != nil || n.AssignedTo != accGone {
		t.Errorf("the deleted account's number: %v %v", n, err)
	}
	if got, _ := s.GetAccount(ctx, own.ID); !got.Enabled || got.Rev != 1 {
		t.Errorf("knm's own account was touched: %+v", got)
	}
	if rep, err := im.Import(ctx); err != nil || rep.Created+rep.Updated+rep.Disabled != 0 {
		t.Errorf("third import changed something: %+v %v", rep, err)
	}
}

// checkAccounts compares knm's accounts with want, field by field.
func checkAccounts(t *testing.T, s knm.AccountStore, want map[string]knm.Account) {
	t.Helper()
	for id, w := range want {
		a, err := s.GetAccount(context.Background(), id)
		if err != nil {
			t.Errorf("account %s: %v", id, err)
			continue
		}
		if a.Name != w.Name || a.ParentID != w.ParentID || !slices.Equal(a.Tree, w.Tree) || a.Reseller != w.Reseller ||
			a.ResellerID != w.ResellerID || a.SuperduperAdmin != w.SuperduperAdmin || a.Enabled != w.Enabled ||
			a.AllowNumberAdditions != w.AllowNumberAdditions {
			t.Errorf("account %s:\n got %+v\nwant %+v", id, *a, w)
		}
	}
}

// TestFollowKazooAccounts follows the accounts database's _changes feed: a new account
// appears in knm, a deleted one is disabled.
func TestFollowKazooAccounts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, s := kazooAndKnm(t)
	im := &AccountImporter{Store: s, Couch: c}
	rep, err := im.Import(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fctx, stop := context.WithCancel(ctx)
	var mu sync.Mutex
	var rounds []*AccountReport
	done := make(chan error)
	go func() {
		done <- im.Follow(fctx, rep.LastSeq, 200*time.Millisecond, time.Second, func(r *AccountReport) {
			mu.Lock()
			rounds = append(rounds, r)
			mu.Unlock()
		})
	}()
	putJSON(t, c, AccountsDB, accGone, kazooAccountDoc(accGone, "Late", []string{accMaster, accReseller}, nil))
	waitFor(t, "the new account", 20*time.Second, func() bool {
		a, err := s.GetAccount(ctx, accGone)
		return err == nil && a.Name == "Late" && a.ResellerID == accReseller
	})
	deleteKazooDoc(t, c, AccountsDB, accSubB)
	waitFor(t, "Sub B to be disabled", 20*time.Second, func() bool {
		a, err := s.GetAccount(ctx, accSubB)
		return err == nil && !a.Enabled
	})
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	var created, disabled int
	for _, r := range rounds {
		created += r.Created
		disabled += r.Disabled
	}
	if created != 1 || disabled != 1 {
		t.Errorf("follow reported %d created, %d disabled", created, disabled)
	}
}
