package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/knmproject/knm"
)

func testAccounts(t *testing.T, s knm.Store) {
	ctx := context.Background()
	root := &knm.Account{ID: accountID(1), Name: "Root", Reseller: true, ResellerID: accountID(1),
		SuperduperAdmin: true, AllowNumberAdditions: true, Enabled: true}
	must(t, s.CreateAccount(ctx, root), "create root")
	if root.Rev != 1 || root.Created.IsZero() {
		t.Fatalf("after create: rev %d created %v", root.Rev, root.Created)
	}
	got, err := s.GetAccount(ctx, root.ID)
	must(t, err, "get")
	equal(t, "root", got, root)

	child := &knm.Account{ID: accountID(2), Name: "Child", ParentID: root.ID, Tree: []string{root.ID},
		ResellerID: root.ID, Enabled: true, Created: time.Date(2021, 5, 6, 7, 8, 9, 10, time.UTC)}
	must(t, s.CreateAccount(ctx, child), "create child")
	got, err = s.GetAccount(ctx, child.ID)
	must(t, err, "get child")
	equal(t, "child", got, child)

	wantErr(t, s.CreateAccount(ctx, &knm.Account{ID: root.ID, Name: "Again"}), knm.ErrConflict, "create existing")
	_, err = s.GetAccount(ctx, accountID(99))
	wantErr(t, err, knm.ErrNotFound, "get missing")
	wantErr(t, s.UpdateAccount(ctx, &knm.Account{ID: accountID(99), Rev: 1}), knm.ErrNotFound, "update missing")

	stale := *got
	Clock(t).Advance(time.Minute)
	got.Name, got.Enabled = "Child renamed", false
	must(t, s.UpdateAccount(ctx, got), "update")
	if got.Rev != 2 || !got.Modified.Equal(Clock(t).Now().Truncate(time.Second)) {
		t.Fatalf("after update: rev %d modified %v", got.Rev, got.Modified)
	}
	stale.Name = "lost"
	wantErr(t, s.UpdateAccount(ctx, &stale), knm.ErrConflict, "stale update")
	again, err := s.GetAccount(ctx, child.ID)
	must(t, err, "get after update")
	equal(t, "after update", again, got)
}

func testFindAccounts(t *testing.T, s knm.Store) {
	ctx := context.Background()
	// root(1) -> reseller(2) -> customer(3) -> sub(4); root(1) -> other(5); lone root(6)
	tree := map[int][]int{1: nil, 2: {1}, 3: {1, 2}, 4: {1, 2, 3}, 5: {1}, 6: nil}
	for i := 1; i <= 6; i++ {
		a := &knm.Account{ID: accountID(i), Name: fmt.Sprint("account ", i)}
		for _, anc := range tree[i] {
			a.Tree = append(a.Tree, accountID(anc))
		}
		if len(a.Tree) > 0 {
			a.ParentID = a.Tree[len(a.Tree)-1]
		}
		must(t, s.CreateAccount(ctx, a), "create")
	}
	tests := []struct {
		name string
		f    knm.AccountFilter
		want []string
	}{
		{"All", knm.AccountFilter{}, []string{accountID(1), accountID(2), accountID(3), accountID(4), accountID(5),
			accountID(6)}},
		{"Roots", knm.AccountFilter{ParentID: ptr("")}, []string{accountID(1), accountID(6)}},
		{"Children", knm.AccountFilter{ParentID: ptr(accountID(1))}, []string{accountID(2), accountID(5)}},
		{"Descendants", knm.AccountFilter{Ancestor: accountID(2)}, []string{accountID(3), accountID(4)}},
		{"AllDescendants", knm.AccountFilter{Ancestor: accountID(1)}, []string{accountID(2), accountID(3),
			accountID(4), accountID(5)}},
		{"Paged", knm.AccountFilter{Ancestor: accountID(1), Offset: 1, Limit: 2}, []string{accountID(3), accountID(4)}},
		{"NoKey", knm.AccountFilter{APIKeyHash: "nobody"}, nil},
	}
	for _, tt := range tests {
		got, err := s.FindAccounts(ctx, tt.f)
		must(t, err, tt.name)
		equal(t, tt.name, accountIDs(got), tt.want)
	}

	setter, ok := s.(APIKeyHashSetter)
	if !ok {
		t.Log("store has no SetAccountAPIKeyHash; APIKeyHash filter not tested")
		return
	}
	must(t, setter.SetAccountAPIKeyHash(ctx, accountID(3), "hash-3"), "set key")
	wantErr(t, setter.SetAccountAPIKeyHash(ctx, accountID(99), "hash-99"), knm.ErrNotFound,
		"set key of missing account")
	wantErr(t, setter.SetAccountAPIKeyHash(ctx, accountID(4), "hash-3"), knm.ErrConflict, "same hash twice")
	got, err := s.FindAccounts(ctx, knm.AccountFilter{APIKeyHash: "hash-3"})
	must(t, err, "find by key")
	equal(t, "by key", accountIDs(got), []string{accountID(3)})
	// Updating the account keeps its key.
	must(t, s.UpdateAccount(ctx, got[0]), "update")
	got, err = s.FindAccounts(ctx, knm.AccountFilter{APIKeyHash: "hash-3"})
	must(t, err, "find by key after update")
	equal(t, "by key after update", accountIDs(got), []string{accountID(3)})
}

func testConfigs(t *testing.T, s knm.Store) {
	ctx := context.Background()
	body := `{"_id": "number_manager",  "default": {"b": 1, "a": 2, "classifiers": {"z": {}, "a": {}}}}`
	d := &knm.ConfigDoc{ID: "number_manager", Body: json.RawMessage(body)}
	must(t, s.PutConfig(ctx, d), "create")
	if d.Rev != 1 {
		t.Fatalf("rev after create = %d", d.Rev)
	}
	got, err := s.GetConfig(ctx, "", "number_manager")
	must(t, err, "get")
	if string(got.Body) != body {
		t.Fatalf("body not kept byte for byte:\n got %s\nwant %s", got.Body, body)
	}
	equal(t, "doc", got, d)

	wantErr(t, s.PutConfig(ctx, &knm.ConfigDoc{ID: "number_manager", Body: json.RawMessage(`{}`)}), knm.ErrConflict,
		"create existing")
	stale := *got
	got.Body = json.RawMessage(`{"b":1,"a":2}`)
	must(t, s.PutConfig(ctx, got), "update")
	if got.Rev != 2 {
		t.Fatalf("rev after update = %d", got.Rev)
	}
	stale.Body = json.RawMessage(`{"lost":true}`)
	wantErr(t, s.PutConfig(ctx, &stale), knm.ErrConflict, "stale update")
	again, err := s.GetConfig(ctx, "", "number_manager")
	must(t, err, "get after update")
	if string(again.Body) != `{"b":1,"a":2}` || again.Rev != 2 {
		t.Fatalf("after stale update: %s rev %d", again.Body, again.Rev)
	}

	_, err = s.GetConfig(ctx, accountID(1), "number_manager")
	wantErr(t, err, knm.ErrNotFound, "same id in another scope")
	wantErr(t, s.PutConfig(ctx, &knm.ConfigDoc{ID: "missing", Rev: 3, Body: json.RawMessage(`{}`)}), knm.ErrNotFound,
		"update missing")
	wantErr(t, s.PutConfig(ctx, &knm.ConfigDoc{ID: "", Body: json.RawMessage(`{}`)}), knm.ErrInvalid, "empty id")
	wantErr(t, s.PutConfig(ctx, &knm.ConfigDoc{ID: "x", Body: json.RawMessage(`[1]`)}), knm.ErrInvalid, "not an object")
}

func testImportConfigs(t *testing.T, s knm.Store) {
	ctx := context.Background()
	acct := accountID(1)
	must(t, s.PutConfig(ctx, &knm.ConfigDoc{ID: "number_manager", Body: json.RawMessage(`{"old":true}`)}), "seed")
	docs := []*knm.ConfigDoc{
		{ID: "number_manager.voxbone", Body: json.RawMessage(`{"default": {"z": 1, "a": 2}}`)},
		{ID: "number_manager", Body: json.RawMessage(`{"default": {"new": true}}`)},
		{Scope: acct, ID: "number_manager", Body: json.RawMessage(`{"account": 1}`)},
	}
	must(t, s.ImportConfigs(ctx, docs), "import")
	if docs[1].Rev != 2 || docs[0].Rev != 1 {
		t.Fatalf("revs after import = %d, %d; want 1 (new) and 2 (replaced)", docs[0].Rev, docs[1].Rev)
	}
	list, err := s.ListConfigs(ctx, "")
	must(t, err, "list system")
	equal(t, "system configs", list, []*knm.ConfigDoc{docs[1], docs[0]})
	list, err = s.ListConfigs(ctx, acct)
	must(t, err, "list account")
	equal(t, "account configs", list, []*knm.ConfigDoc{docs[2]})

	// One invalid document: nothing is written.
	bad := []*knm.ConfigDoc{
		{ID: "number_manager", Body: json.RawMessage(`{"overwritten": true}`)},
		{ID: "brand_new", Body: json.RawMessage(`{}`)},
		{ID: "", Body: json.RawMessage(`{}`)},
	}
	wantErr(t, s.ImportConfigs(ctx, bad), knm.ErrInvalid, "import with an empty id")
	list, err = s.ListConfigs(ctx, "")
	must(t, err, "list after failed import")
	equal(t, "system configs after failed import", list, []*knm.ConfigDoc{docs[1], docs[0]})
	list, err = s.ListConfigs(ctx, accountID(9))
	must(t, err, "list empty scope")
	if len(list) != 0 {
		t.Fatalf("empty scope listed %d docs", len(list))
	}
}

func testJournals(t *testing.T, s knm.Store) {
	ctx := context.Background()
	clock := Clock(t)
	mk := func(id, carrier, state string) *knm.JournalEntry {
		clock.Advance(time.Second) // distinct creation times: results are ordered by them
		return &knm.JournalEntry{ID: id, Carrier: carrier, State: state,
			Payload: json.RawMessage(`{"cart": 7, "a": [1]}`)}
	}
	entries := []*knm.JournalEntry{
		mk("order-c", "knm_voxbone", "cart_created"),
		mk("order-a", "knm_voxbone", "checkout_sent"),
		mk("order-b", "knm_other", "cart_created"),
		mk("order-d", "knm_voxbone", "imported"),
	}
	for _, e := range entries {
		clock.Advance(time.Second)
		must(t, s.CreateJournal(ctx, e), "create "+e.ID)
	}
	if entries[0].Rev != 1 || entries[0].Created.IsZero() || !entries[0].Created.Equal(entries[0].Updated) {
		t.Fatalf("after create: %+v", entries[0])
	}
	got, err := s.GetJournal(ctx, "order-a")
	must(t, err, "get")
	equal(t, "entry", got, entries[1])
	wantErr(t, s.CreateJournal(ctx, &knm.JournalEntry{ID: "order-a"}), knm.ErrConflict, "create existing")
	_, err = s.GetJournal(ctx, "nope")
	wantErr(t, err, knm.ErrNotFound, "get missing")
	wantErr(t, s.UpdateJournal(ctx, &knm.JournalEntry{ID: "nope", Rev: 1}), knm.ErrNotFound, "update missing")

	stale := *got
	clock.Advance(time.Minute)
	got.State, got.Payload = "checked_out", json.RawMessage(`{"order_reference": "X1"}`)
	must(t, s.UpdateJournal(ctx, got), "update")
	if got.Rev != 2 || !got.Updated.Equal(clock.Now().Truncate(time.Second)) || !got.Created.Equal(entries[1].Created) {
		t.Fatalf("after update: %+v", got)
	}
	wantErr(t, s.UpdateJournal(ctx, &stale), knm.ErrConflict, "stale update")
	again, err := s.GetJournal(ctx, "order-a")
	must(t, err, "get after update")
	equal(t, "after update", again, got)

	tests := []struct {
		name string
		f    knm.JournalFilter
		want []string
	}{
		{"All", knm.JournalFilter{}, []string{"order-c", "order-a", "order-b", "order-d"}},
		{"Carrier", knm.JournalFilter{Carrier: "knm_voxbone"}, []string{"order-c", "order-a", "order-d"}},
		{"States", knm.JournalFilter{Carrier: "knm_voxbone", States: []string{"cart_created", "checked_out"}},
			[]string{"order-c", "order-a"}},
		{"Paged", knm.JournalFilter{Offset: 1, Limit: 2}, []string{"order-a", "order-b"}},
	}
	for _, tt := range tests {
		es, err := s.FindJournals(ctx, tt.f)
		must(t, err, tt.name)
		equal(t, tt.name, journalIDs(es), tt.want)
	}
}
