package storetest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/knmproject/knm"
)

func searchRows(state knm.State, nums ...string) []knm.SearchRow {
	var rows []knm.SearchRow
	for _, n := range nums {
		rows = append(rows, knm.SearchRow{Number: n, Module: "knm_voxbone", State: state,
			CarrierData: json.RawMessage(`{"didId": "` + n + `", "a": 1}`)})
	}
	return rows
}

func testSearchCache(t *testing.T, s knm.Store) {
	ctx := context.Background()
	expires := Clock(t).Now().Add(5 * time.Minute)
	rows := searchRows(knm.StateDiscovery, "+14155550103", "+14155550101", "+14155550102", "+14155550100")
	must(t, s.PutSearch(ctx, "q1", rows, expires), "put")

	want := searchRows(knm.StateDiscovery, "+14155550100", "+14155550101", "+14155550102", "+14155550103")
	page, found, err := s.GetSearch(ctx, "q1", 0, 2)
	must(t, err, "get page 1")
	if !found {
		t.Fatal("q1 not found")
	}
	equal(t, "page 1", page, want[:2])
	page, _, err = s.GetSearch(ctx, "q1", 2, 2)
	must(t, err, "get page 2")
	equal(t, "page 2", page, want[2:])
	page, found, err = s.GetSearch(ctx, "q1", 10, 2)
	must(t, err, "get past the end")
	if !found || len(page) != 0 {
		t.Fatalf("past the end: %d rows, found %v; want none, true", len(page), found)
	}
	page, found, err = s.GetSearch(ctx, "unknown", 0, 10)
	must(t, err, "get unknown")
	if found || len(page) != 0 {
		t.Fatalf("unknown query: %d rows, found %v", len(page), found)
	}

	// Put replaces every row of the query id.
	must(t, s.PutSearch(ctx, "q1", searchRows(knm.StateDiscovery, "+14155550109"), expires), "replace")
	page, _, err = s.GetSearch(ctx, "q1", 0, 10)
	must(t, err, "get replaced")
	equal(t, "replaced", page, searchRows(knm.StateDiscovery, "+14155550109"))
	wantErr(t, s.PutSearch(ctx, "q2", searchRows(knm.StateDiscovery, "+1", "+1"), expires), knm.ErrInvalid,
		"repeated number")

	r, err := s.FindDiscoveryRow(ctx, "+14155550109")
	must(t, err, "find row")
	equal(t, "row", *r, searchRows(knm.StateDiscovery, "+14155550109")[0])
	_, err = s.FindDiscoveryRow(ctx, "+14155550100")
	wantErr(t, err, knm.ErrNotFound, "find replaced row")

	// Rows in other states are served by GetSearch but not indexed for activation.
	mixed := append(searchRows(knm.StateAvailable, "+14155550201"), searchRows(knm.StateDiscovery, "+14155550202")...)
	must(t, s.PutSearch(ctx, "q3", mixed, expires), "put mixed")
	page, _, err = s.GetSearch(ctx, "q3", 0, 0)
	must(t, err, "get mixed")
	equal(t, "mixed", page, mixed)
	_, err = s.FindDiscoveryRow(ctx, "+14155550201")
	wantErr(t, err, knm.ErrNotFound, "find a row that is not discovery")
	if _, err := s.FindDiscoveryRow(ctx, "+14155550202"); err != nil {
		t.Fatalf("discovery row of a mixed search: %v", err)
	}
}

func testSearchCacheExpiry(t *testing.T, s knm.Store) {
	ctx := context.Background()
	clock := Clock(t)
	must(t, s.PutSearch(ctx, "short", searchRows(knm.StateDiscovery, "+14155550100", "+14155550101"),
		clock.Now().Add(time.Minute)), "put short")
	must(t, s.PutSearch(ctx, "long", searchRows(knm.StateDiscovery, "+14155550101"), clock.Now().Add(time.Hour)),
		"put long")

	clock.Advance(2 * time.Minute)
	page, found, err := s.GetSearch(ctx, "short", 0, 10)
	must(t, err, "get expired")
	if found || len(page) != 0 {
		t.Fatalf("expired query: %d rows, found %v", len(page), found)
	}
	_, err = s.FindDiscoveryRow(ctx, "+14155550100")
	wantErr(t, err, knm.ErrNotFound, "find expired row")
	r, err := s.FindDiscoveryRow(ctx, "+14155550101")
	must(t, err, "row alive under another query id")
	if r.Number != "+14155550101" {
		t.Fatalf("found %v", r)
	}

	n, err := s.PurgeSearches(ctx)
	must(t, err, "purge")
	if n != 1 {
		t.Fatalf("purged %d searches, want 1", n)
	}
	n, err = s.PurgeSearches(ctx)
	must(t, err, "purge again")
	if n != 0 {
		t.Fatalf("second purge deleted %d rows", n)
	}
	_, found, err = s.GetSearch(ctx, "long", 0, 0)
	must(t, err, "get long")
	if !found {
		t.Fatal("unexpired query purged")
	}
}
