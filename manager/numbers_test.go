package manager

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/knmproject/knm"
)

// TestUpdatePatchDelete covers public-field edits and hard delete.
func TestUpdatePatchDelete(t *testing.T) {
	forEachStore(t, func(t *testing.T, s knm.Store) {
		ctx := context.Background()
		e := newEnv(t, s, Policy{})
		e.put(t, &knm.Number{Number: tnum, State: knm.StateInService, AssignedTo: accS})
		raw := func(v string) json.RawMessage { return json.RawMessage(v) }
		if _, err := e.m.Update(ctx, accS, tnum, map[string]json.RawMessage{"a": raw(`1`), "b": raw(`2`),
			"id": raw(`"x"`)}); err != nil {
			t.Fatal(err)
		}
		n, err := e.m.Patch(ctx, accS, tnum, map[string]json.RawMessage{"b": raw(`null`), "c": raw(`3`)})
		if err != nil {
			t.Fatal(err)
		}
		if len(n.Public) != 2 || string(e.get(t, tnum).Public["c"]) != "3" || e.get(t, tnum).Public["b"] != nil {
			t.Fatalf("public = %v", e.get(t, tnum).Public)
		}
		_, err = e.m.Update(ctx, accT, tnum, nil)
		wantErr(t, err, knm.ErrForbidden, "")
		if _, err := e.m.Update(ctx, accS, tnum, map[string]json.RawMessage{"z": raw(`0`)}); err != nil {
			t.Fatal(err)
		}
		if p := e.get(t, tnum).Public; len(p) != 1 || p["z"] == nil {
			t.Fatalf("update did not replace: %v", p)
		}
		wantErr(t, e.m.Delete(ctx, accR, tnum), knm.ErrForbidden, "")
		wantErr(t, e.m.Delete(ctx, accM, tnum), "", "")
		wantErr(t, e.m.Delete(ctx, accM, tnum), knm.ErrNotFound, "")
	})
}

// TestList covers listing by owner and its permissions.
func TestList(t *testing.T) {
	forEachStore(t, func(t *testing.T, s knm.Store) {
		ctx := context.Background()
		e := newEnv(t, s, Policy{})
		for i := range 5 {
			e.put(t, &knm.Number{Number: fmt.Sprintf("+1415555010%d", i), State: knm.StateInService, AssignedTo: accS})
		}
		e.put(t, &knm.Number{Number: "+14155550200", State: knm.StateInService, AssignedTo: accT})
		ns, total, err := e.m.List(ctx, accR, accS, ListFilter{Limit: 2})
		if err != nil || total != 5 || len(ns) != 2 {
			t.Fatalf("List = %d of %d, %v", len(ns), total, err)
		}
		_, _, err = e.m.List(ctx, accT, accS, ListFilter{})
		wantErr(t, err, knm.ErrForbidden, "")
		_, _, err = e.m.List(ctx, accS, "", ListFilter{})
		wantErr(t, err, knm.ErrForbidden, "")
		if _, total, _ := e.m.List(ctx, accM, "", ListFilter{}); total != 6 {
			t.Fatalf("admin total = %d", total)
		}
		// Keyset pages: After continues where a page ended; the total ignores it.
		ns, total, err = e.m.List(ctx, accR, accS, ListFilter{After: ns[1].Number, Limit: 2})
		if err != nil || total != 5 || len(ns) != 2 || ns[0].Number != "+14155550102" {
			t.Fatalf("List after the 2nd = %v of %d, %v", ns, total, err)
		}
		page, err := e.m.Page(ctx, accR, accS, ListFilter{After: ns[1].Number})
		if err != nil || len(page) != 1 || page[0].Number != "+14155550104" {
			t.Fatalf("Page after the 4th = %v, %v", page, err)
		}
		_, err = e.m.Page(ctx, accT, accS, ListFilter{})
		wantErr(t, err, knm.ErrForbidden, "")
		// The store's keyset pages, both ways.
		lp, err := e.m.ListPage(ctx, accR, accS, ListFilter{}, knm.ListOptions{Sort: knm.SortByNumberDesc, Limit: 2})
		if err != nil || len(lp.Numbers) != 2 || lp.Numbers[0].Number != "+14155550104" || lp.Next != "+14155550103" {
			t.Fatalf("ListPage descending = %+v, %v", lp, err)
		}
		_, err = e.m.ListPage(ctx, accT, accS, ListFilter{}, knm.ListOptions{Limit: 2})
		wantErr(t, err, knm.ErrForbidden, "")
	})
}
