package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/knmproject/knm"
)

// fullNumber returns a number with every field set. Raw JSON inside Features and Public
// is compact, as stores may re-encode it; CarrierData is not, as stores keep it exactly.
func fullNumber(num string) *knm.Number {
	return &knm.Number{
		Number:               num,
		State:                knm.StateInService,
		AssignedTo:           accountID(1),
		PreviouslyAssignedTo: accountID(2),
		ReserveHistory:       []string{accountID(1), accountID(3), accountID(2)},
		ModuleName:           "knm_voxbone",
		CarrierData:          json.RawMessage(`{"zeta": 1, "alpha": {"didId": 42, "tags": ["b", "a"]}}`),
		UsedBy:               "callflow",
		Features: map[string]json.RawMessage{"cnam": json.RawMessage(`{"inbound_lookup":true}`),
			"e911": json.RawMessage(`{"street":"1 Main"}`)},
		FeaturesAllowed: []string{"cnam", "e911"},
		FeaturesDenied:  []string{"port"},
		PortedIn:        true,
		Region:          "us-west",
		Created:         time.Date(2020, 1, 2, 3, 4, 5, 999, time.UTC),
		Public: map[string]json.RawMessage{"cnam": json.RawMessage(`{"display_name":"Zed"}`),
			"z": json.RawMessage(`[3,1,2]`)},
	}
}

func testNumberRoundTrip(t *testing.T, s knm.Store) {
	ctx := context.Background()
	n := fullNumber("+14155550100")
	must(t, s.CreateNumber(ctx, n), "create")
	if n.Rev != 1 {
		t.Fatalf("Rev after create = %d, want 1", n.Rev)
	}
	if want := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC); !n.Created.Equal(want) {
		t.Fatalf("Created = %v, want the given time at second precision %v", n.Created, want)
	}
	if want := Clock(t).Now().Truncate(time.Second); !n.Modified.Equal(want) {
		t.Fatalf("Modified = %v, want the store clock %v", n.Modified, want)
	}
	got, err := s.GetNumber(ctx, n.Number)
	must(t, err, "get")
	equal(t, "read back", got, n)
	if string(got.CarrierData) != `{"zeta": 1, "alpha": {"didId": 42, "tags": ["b", "a"]}}` {
		t.Fatalf("CarrierData not kept byte for byte: %s", got.CarrierData)
	}

	// Update every field and read it back.
	Clock(t).Advance(90 * time.Second)
	got.State = knm.StateReserved
	got.AssignedTo = accountID(7)
	got.ReserveHistory = append([]string{accountID(7)}, got.ReserveHistory...)
	got.CarrierData = json.RawMessage(`[1, 2]`)
	got.Features = map[string]json.RawMessage{"local": json.RawMessage(`{}`)}
	got.PortedIn = false
	got.Public = nil
	got.ModuleName = "knm_local"
	must(t, s.UpdateNumber(ctx, got), "update")
	if got.Rev != 2 {
		t.Fatalf("Rev after update = %d, want 2", got.Rev)
	}
	if want := Clock(t).Now().Truncate(time.Second); !got.Modified.Equal(want) {
		t.Fatalf("Modified after update = %v, want %v", got.Modified, want)
	}
	again, err := s.GetNumber(ctx, n.Number)
	must(t, err, "get after update")
	equal(t, "read back after update", again, got)
}

func testNumberMinimal(t *testing.T, s knm.Store) {
	ctx := context.Background()
	n := &knm.Number{Number: "+3225550100", State: knm.StateAvailable, ModuleName: "knm_local"}
	must(t, s.CreateNumber(ctx, n), "create")
	if n.Created.IsZero() || !n.Created.Equal(n.Modified) {
		t.Fatalf("Created/Modified = %v/%v, want both set to now", n.Created, n.Modified)
	}
	got, err := s.GetNumber(ctx, n.Number)
	must(t, err, "get")
	// Nil slices, maps and raw messages stay nil rather than becoming empty.
	equal(t, "read back", got, n)
	// A zero Created on update keeps the stored one.
	got.Created = time.Time{}
	must(t, s.UpdateNumber(ctx, got), "update")
	if !got.Created.Equal(n.Created) {
		t.Fatalf("Created after update with zero Created = %v, want %v", got.Created, n.Created)
	}
}

func testNumberExists(t *testing.T, s knm.Store) {
	ctx := context.Background()
	must(t, s.CreateNumber(ctx, fullNumber("+14155550100")), "create")
	other := &knm.Number{Number: "+14155550100", State: knm.StateAvailable}
	wantErr(t, s.CreateNumber(ctx, other), knm.ErrNumberExists, "second create")
	got, err := s.GetNumber(ctx, "+14155550100")
	must(t, err, "get")
	if got.State != knm.StateInService || got.Rev != 1 {
		t.Fatalf("failed create changed the number: %v rev %d", got, got.Rev)
	}
}

func testNumberNotFound(t *testing.T, s knm.Store) {
	ctx := context.Background()
	_, err := s.GetNumber(ctx, "+14155550199")
	wantErr(t, err, knm.ErrNotFound, "get")
	wantErr(t, s.UpdateNumber(ctx, &knm.Number{Number: "+14155550199", Rev: 1, State: knm.StateAvailable}),
		knm.ErrNotFound, "update")
	wantErr(t, s.DeleteNumber(ctx, "+14155550199", 1), knm.ErrNotFound, "delete")
	n := &knm.Number{Number: "+14155550199", State: knm.StateAvailable}
	must(t, s.CreateNumber(ctx, n), "create")
	must(t, s.DeleteNumber(ctx, n.Number, n.Rev), "delete")
	_, err = s.GetNumber(ctx, n.Number)
	wantErr(t, err, knm.ErrNotFound, "get after delete")
}

func testNumberRevisionConflict(t *testing.T, s knm.Store) {
	ctx := context.Background()
	must(t, s.CreateNumber(ctx, &knm.Number{Number: "+14155550100", State: knm.StateAvailable}), "create")
	a, err := s.GetNumber(ctx, "+14155550100")
	must(t, err, "get a")
	b, err := s.GetNumber(ctx, "+14155550100")
	must(t, err, "get b")
	a.State, a.AssignedTo = knm.StateReserved, accountID(1)
	must(t, s.UpdateNumber(ctx, a), "update a")

	b.State, b.AssignedTo = knm.StateInService, accountID(2)
	wantErr(t, s.UpdateNumber(ctx, b), knm.ErrConflict, "stale update")
	if b.Rev != 1 {
		t.Fatalf("stale update changed the caller's Rev to %d", b.Rev)
	}
	wantErr(t, s.DeleteNumber(ctx, b.Number, 1), knm.ErrConflict, "stale delete")
	got, err := s.GetNumber(ctx, a.Number)
	must(t, err, "get")
	equal(t, "stored after stale writes", got, a)
	must(t, s.DeleteNumber(ctx, a.Number, a.Rev), "delete at current rev")
}

func testNumberInvalid(t *testing.T, s knm.Store) {
	ctx := context.Background()
	wantErr(t, s.CreateNumber(ctx, &knm.Number{State: knm.StateAvailable}), knm.ErrInvalid, "empty number")
	wantErr(t, s.CreateNumber(ctx, &knm.Number{Number: "+1", State: "bogus"}), knm.ErrInvalid, "bad state")
	wantErr(t, s.CreateNumber(ctx, &knm.Number{Number: "+1", CarrierData: json.RawMessage(`{`)}), knm.ErrInvalid,
		"bad carrier data")
}

// findFixture stores numbers across prefixes, states, modules and owners. The +14150…
// and +1416… numbers sit right next to the +1415 range to catch unbounded scans.
func findFixture(t *testing.T, s knm.Store) {
	t.Helper()
	ctx := context.Background()
	owner := accountID(1)
	ns := []*knm.Number{
		{Number: "+14150000001", State: knm.StateAvailable, ModuleName: "knm_local"},
		{Number: "+14155550100", State: knm.StateAvailable, ModuleName: "knm_local"},
		{Number: "+14155550101", State: knm.StateAvailable, ModuleName: "knm_voxbone"},
		{Number: "+14155550102", State: knm.StateInService, ModuleName: "knm_voxbone", AssignedTo: owner},
		{Number: "+14155550103", State: knm.StateReserved, ModuleName: "knm_local", AssignedTo: owner},
		{Number: "+1415", State: knm.StateAvailable, ModuleName: "knm_local"},
		{Number: "+14159999999", State: knm.StateAging, ModuleName: "knm_local"},
		{Number: "+1416", State: knm.StateAvailable, ModuleName: "knm_local"},
		{Number: "+14160000000", State: knm.StateAvailable, ModuleName: "knm_local"},
		{Number: "+14140000000", State: knm.StateAvailable, ModuleName: "knm_local"},
		{Number: "+3225550100", State: knm.StateInService, ModuleName: "knm_voxbone", AssignedTo: accountID(2)},
	}
	for _, n := range ns {
		must(t, s.CreateNumber(ctx, n), "create "+n.Number)
	}
}

func testFindNumbers(t *testing.T, s knm.Store) {
	findFixture(t, s)
	ctx := context.Background()
	tests := []struct {
		name string
		f    knm.NumberFilter
		want []string
	}{
		{"All", knm.NumberFilter{}, []string{"+1415", "+14150000001", "+14155550100", "+14155550101", "+14155550102",
			"+14155550103", "+14159999999", "+1416", "+14160000000", "+14140000000", "+3225550100"}},
		{"AssignedTo", knm.NumberFilter{AssignedTo: ptr(accountID(1))}, []string{"+14155550102", "+14155550103"}},
		{"Unassigned", knm.NumberFilter{AssignedTo: ptr(""), Prefix: "+1415"}, []string{"+1415", "+14150000001",
			"+14155550100", "+14155550101", "+14159999999"}},
		{"OneState", knm.NumberFilter{States: []knm.State{knm.StateInService}}, []string{"+14155550102",
			"+3225550100"}},
		{"States", knm.NumberFilter{States: []knm.State{knm.StateReserved, knm.StateAging}}, []string{"+14155550103",
			"+14159999999"}},
		{"Module", knm.NumberFilter{Module: "knm_voxbone"}, []string{"+14155550101", "+14155550102", "+3225550100"}},
		{"Prefix", knm.NumberFilter{Prefix: "+1415"}, []string{"+1415", "+14150000001", "+14155550100", "+14155550101",
			"+14155550102", "+14155550103", "+14159999999"}},
		{"LongPrefix", knm.NumberFilter{Prefix: "+141555501"}, []string{"+14155550100", "+14155550101", "+14155550102",
			"+14155550103"}},
		{"PrefixNoMatch", knm.NumberFilter{Prefix: "+1417"}, nil},
		{"StateModulePrefix", knm.NumberFilter{States: []knm.State{knm.StateAvailable}, Module: "knm_local",
			Prefix: "+1415"},
			[]string{"+1415", "+14150000001", "+14155550100"}},
		{"After", knm.NumberFilter{Prefix: "+1415", After: "+14155550101"}, []string{"+14155550102", "+14155550103",
			"+14159999999"}},
		{"Limit", knm.NumberFilter{Prefix: "+1415", Limit: 2}, []string{"+1415", "+14150000001"}},
		{"Offset", knm.NumberFilter{Prefix: "+1415", Offset: 5}, []string{"+14155550103", "+14159999999"}},
		{"LimitOffset", knm.NumberFilter{Prefix: "+1415", Offset: 2, Limit: 2}, []string{"+14155550100",
			"+14155550101"}},
		{"KeysOnly", knm.NumberFilter{States: []knm.State{knm.StateAvailable}, Module: "knm_local", Prefix: "+1415",
			KeysOnly: true},
			[]string{"+1415", "+14150000001", "+14155550100"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.FindNumbers(ctx, tt.f)
			must(t, err, "find")
			want := tt.want
			if tt.name == "All" {
				want = slices.Clone(want)
				slices.Sort(want) // byte order, whatever the database's collation
			}
			equal(t, "numbers", numbersOf(got), want)
			if tt.f.KeysOnly {
				for _, n := range got {
					full, err := s.GetNumber(ctx, n.Number)
					must(t, err, "get")
					if n.State != full.State || n.ModuleName != full.ModuleName || n.Rev != 0 || n.CarrierData != nil {
						t.Fatalf("keys-only %+v; stored %+v", n, full)
					}
				}
			}
			n, err := s.CountNumbers(ctx, tt.f)
			must(t, err, "count")
			all := tt.f
			all.After, all.Offset, all.Limit = "", 0, 0
			everything, err := s.FindNumbers(ctx, all)
			must(t, err, "find without paging")
			if n != len(everything) {
				t.Fatalf("CountNumbers = %d, want %d (After, Offset and Limit ignored)", n, len(everything))
			}
		})
	}
}

func testFindNumbersPaging(t *testing.T, s knm.Store) {
	ctx := context.Background()
	var want []string
	batch := make([]*knm.Number, 0, 250)
	for i := range 250 {
		num := fmt.Sprintf("+1628555%04d", i*7)
		want = append(want, num)
		batch = append(batch, &knm.Number{Number: num, State: knm.StateAvailable, ModuleName: "knm_local"})
	}
	// Imported out of order, read in order.
	slices.Reverse(batch)
	_, err := s.ImportNumbers(ctx, batch)
	must(t, err, "import")
	var byKeyset, byOffset []string
	for after := ""; ; {
		page, err := s.FindNumbers(ctx, knm.NumberFilter{Prefix: "+1628", After: after, Limit: 40})
		must(t, err, "keyset page")
		if len(page) == 0 {
			break
		}
		byKeyset = append(byKeyset, numbersOf(page)...)
		after = page[len(page)-1].Number
	}
	for off := 0; ; off += 40 {
		page, err := s.FindNumbers(ctx, knm.NumberFilter{Prefix: "+1628", Offset: off, Limit: 40})
		must(t, err, "offset page")
		if len(page) == 0 {
			break
		}
		byOffset = append(byOffset, numbersOf(page)...)
	}
	equal(t, "keyset paging", byKeyset, want)
	equal(t, "offset paging", byOffset, want)
}

func testImportNumbers(t *testing.T, s knm.Store) {
	ctx := context.Background()
	mk := func(from, to int) []*knm.Number {
		var ns []*knm.Number
		for i := from; i < to; i++ {
			ns = append(ns, &knm.Number{Number: fmt.Sprintf("+1206555%04d", i), State: knm.StateAvailable,
				ModuleName: "knm_inventory", CarrierData: json.RawMessage(fmt.Sprintf(`{"i": %d}`, i))})
		}
		return ns
	}
	// A number stored before the import keeps its own state.
	must(t, s.CreateNumber(ctx, &knm.Number{Number: "+12065550005", State: knm.StateInService,
		AssignedTo: accountID(1)}), "create")
	first := mk(0, 1000)
	skipped, err := s.ImportNumbers(ctx, first)
	must(t, err, "import")
	equal(t, "skipped", skipped, []string{"+12065550005"})
	if first[0].Rev != 1 || first[0].Created.IsZero() {
		t.Fatalf("imported number has Rev %d Created %v, want 1 and now", first[0].Rev, first[0].Created)
	}
	n, err := s.CountNumbers(ctx, knm.NumberFilter{Prefix: "+1206"})
	must(t, err, "count")
	if n != 1000 {
		t.Fatalf("count after import = %d, want 1000", n)
	}
	got, err := s.GetNumber(ctx, "+12065550005")
	must(t, err, "get")
	if got.State != knm.StateInService {
		t.Fatalf("import overwrote an existing number: %v", got)
	}
	got, err = s.GetNumber(ctx, "+12065550999")
	must(t, err, "get")
	equal(t, "imported number", got, first[999])

	// Running the same import again skips everything and changes nothing.
	skipped, err = s.ImportNumbers(ctx, mk(0, 1000))
	must(t, err, "re-import")
	if len(skipped) != 1000 {
		t.Fatalf("re-import skipped %d numbers, want 1000", len(skipped))
	}
	// Overlapping batch, with a number repeated inside it.
	batch := append(mk(990, 1010), mk(1005, 1006)...)
	skipped, err = s.ImportNumbers(ctx, batch)
	must(t, err, "overlapping import")
	want := numbersOf(mk(990, 1000))
	want = append(want, "+12065551005")
	equal(t, "skipped in overlapping import", skipped, want)

	// A bad number anywhere in the batch writes nothing.
	bad := mk(2000, 2010)
	bad[5].Number = ""
	_, err = s.ImportNumbers(ctx, bad)
	wantErr(t, err, knm.ErrInvalid, "import with an empty number")
	n, err = s.CountNumbers(ctx, knm.NumberFilter{Prefix: "+12065552"})
	must(t, err, "count")
	if n != 0 {
		t.Fatalf("failed import wrote %d numbers", n)
	}
	skipped, err = s.ImportNumbers(ctx, nil)
	if err != nil || len(skipped) != 0 {
		t.Fatalf("empty import = %v, %v", skipped, err)
	}
}

func testContextCancelled(t *testing.T, s knm.Store) {
	must(t, s.CreateNumber(context.Background(), &knm.Number{Number: "+14155550100", State: knm.StateAvailable}),
		"create")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	calls := map[string]func() error{
		"GetNumber":    func() error { _, err := s.GetNumber(ctx, "+14155550100"); return err },
		"CreateNumber": func() error { return s.CreateNumber(ctx, &knm.Number{Number: "+14155550101"}) },
		"UpdateNumber": func() error {
			return s.UpdateNumber(ctx, &knm.Number{Number: "+14155550100", Rev: 1, State: knm.StateReserved})
		},
		"FindNumbers": func() error { _, err := s.FindNumbers(ctx, knm.NumberFilter{}); return err },
		"ImportNumbers": func() error {
			_, err := s.ImportNumbers(ctx,
				[]*knm.Number{{Number: "+14155550102"}})
			return err
		},
		"ClaimIdempotencyKey": func() error {
			_, _, err := s.ClaimIdempotencyKey(ctx, "k", "r")
			return err
		},
	}
	for name, call := range calls {
		done := make(chan error, 1)
		go func() { done <- call() }()
		select {
		case err := <-done:
			if err == nil {
				t.Errorf("%s with a cancelled context succeeded", name)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s with a cancelled context hangs", name)
		}
	}
	got, err := s.GetNumber(context.Background(), "+14155550100")
	must(t, err, "get")
	if got.Rev != 1 {
		t.Fatalf("cancelled update changed the number: rev %d", got.Rev)
	}
	// The store still works after cancelled calls.
	must(t, s.CreateNumber(context.Background(), &knm.Number{Number: "+14155550101", State: knm.StateAvailable}),
		"create after cancel")
}
