package manager

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/knmproject/knm"
)

func row(num, module string, st knm.State) knm.SearchRow {
	return knm.SearchRow{Number: num, Module: module, State: st}
}

func numbersOf(ns []NumberState) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = n.Number
	}
	return out
}

func reportOf(t *testing.T, res *SearchResult, module string) CarrierReport {
	t.Helper()
	for _, r := range res.Carriers {
		if r.Module == module {
			return r
		}
	}
	t.Fatalf("no report for %s in %+v", module, res.Carriers)
	return CarrierReport{}
}

// TestSearchDeadline: a slow carrier is cut off at the one overall deadline, named as
// "timeout", and its context is cancelled; the fast carrier's numbers come back.
func TestSearchDeadline(t *testing.T) {
	forEachStore(t, func(t *testing.T, s knm.Store) {
		fast := newFake("knm_fast", row("+14155550001", "knm_fast", knm.StateDiscovery))
		slow := newFake("knm_slow", row("+14155550002", "knm_slow", knm.StateDiscovery))
		slow.delay = 10 * time.Second
		const deadline = 300 * time.Millisecond
		e := newEnv(t, s, Policy{CarrierModules: []string{"knm_fast", "knm_slow"}, SearchTimeout: deadline}, fast, slow)
		start := time.Now()
		res, err := e.m.Search(context.Background(), SearchRequest{Prefix: "415", Quantity: 10, AccountID: accS,
			ResellerID: accR})
		took := time.Since(start)
		if err != nil {
			t.Fatal(err)
		}
		if took > deadline+100*time.Millisecond {
			t.Fatalf("search took %v, deadline %v", took, deadline)
		}
		if got := numbersOf(res.Numbers); !slices.Equal(got, []string{"+14155550001"}) {
			t.Fatalf("numbers = %v", got)
		}
		if r := reportOf(t, res, "knm_slow"); r.Status != CarrierTimeout {
			t.Fatalf("slow report = %+v", r)
		}
		if r := reportOf(t, res, "knm_fast"); r.Status != CarrierOK || r.Count != 1 {
			t.Fatalf("fast report = %+v", r)
		}
		select {
		case <-slow.cancelled:
		case <-time.After(time.Second):
			t.Fatal("the slow carrier's context was not cancelled")
		}
	})
}

// TestSearchMergeAndCache: a failing carrier is reported; rows are de-duplicated (the
// first carrier in selection order wins) and sorted; later pages come from the cache
// without calling carriers; an unknown query id gives an empty page.
func TestSearchMergeAndCache(t *testing.T) {
	forEachStore(t, func(t *testing.T, s knm.Store) {
		ctx := context.Background()
		a := newFake("knm_a", row("+14155550003", "knm_a", knm.StateDiscovery), row("+14155550001", "knm_a",
			knm.StateDiscovery))
		b := newFake("knm_b", row("+14155550002", "knm_b", knm.StateDiscovery), row("+14155550009", "knm_b",
			knm.StateDiscovery))
		bad := newFake("knm_bad")
		bad.err = errors.New("HTTP 500")
		e := newEnv(t, s, Policy{CarrierModules: []string{"knm_a", "knm_b", "knm_bad", "knm_missing"}}, a, b, bad)
		// A local number that knm_b also offers: knm_local (selected first) must win.
		e.put(t, &knm.Number{Number: "+14155550002", State: knm.StateAvailable, ModuleName: "knm_local"})
		req := SearchRequest{Country: "us", Prefix: " 4 15", Quantity: 2, AccountID: accS, ResellerID: accR,
			AuthToken: "tok"}
		res, err := e.m.Search(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if res.QueryID != QueryID("US", "415", accS, "tok") {
			t.Fatalf("query id %s", res.QueryID)
		}
		if got := numbersOf(res.Numbers); !slices.Equal(got, []string{"+14155550001", "+14155550002"}) {
			t.Fatalf("page 1 = %v", got)
		}
		if res.Numbers[1].State != knm.StateAvailable {
			t.Fatalf("duplicate kept the remote row: %+v", res.Numbers[1])
		}
		if r := reportOf(t, res, "knm_bad"); r.Status != CarrierError || r.Error != "HTTP 500" {
			t.Fatalf("bad report %+v", r)
		}
		// knm_missing is not a module knm has: reported as such, after the carriers that ran.
		wantMods := []string{"knm_reserved", "knm_reserved_reseller", "knm_local", "knm_a", "knm_b", "knm_bad",
			"knm_missing"}
		var mods []string
		for _, r := range res.Carriers {
			mods = append(mods, r.Module)
		}
		if !slices.Equal(mods, wantMods) {
			t.Fatalf("carriers %v, want %v", mods, wantMods)
		}
		finds := a.finds.Load()
		req.Offset = 2
		res, err = e.m.Search(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if got := numbersOf(res.Numbers); !slices.Equal(got, []string{"+14155550003", "+14155550009"}) {
			t.Fatalf("page 2 = %v", got)
		}
		if a.finds.Load() != finds || len(res.Carriers) != 0 {
			t.Fatal("offset > 0 called the carriers")
		}
		req.AuthToken = "other"
		if res, _ := e.m.Search(ctx, req); len(res.Numbers) != 0 {
			t.Fatalf("unknown query id served %v", res.Numbers)
		}
	})
}

// TestSearchValidation: bad input is ErrInvalid naming the field.
func TestSearchValidation(t *testing.T) {
	forEachStore(t, func(t *testing.T, s knm.Store) {
		e := newEnv(t, s, Policy{MaxSearchQuantity: 3}, newFake("knm_a",
			row("+14155550001", "knm_a", knm.StateDiscovery), row("+14155550002", "knm_a", knm.StateDiscovery),
			row("+14155550003", "knm_a", knm.StateDiscovery), row("+14155550004", "knm_a", knm.StateDiscovery)))
		e.pol.CarrierModules = []string{"knm_a"}
		for _, tt := range []struct {
			req   SearchRequest
			field string
		}{
			{SearchRequest{Prefix: ""}, "prefix"},
			{SearchRequest{Prefix: "41a"}, "prefix"},
			{SearchRequest{Prefix: "1234567890123456"}, "prefix"},
			{SearchRequest{Prefix: "*"}, "prefix"},
			{SearchRequest{Prefix: "415", Country: "ZZ"}, "country"},
			{SearchRequest{Prefix: "415", Country: "USA"}, "country"},
			{SearchRequest{Prefix: "415", Quantity: -1}, "quantity"},
			{SearchRequest{Prefix: "415", Offset: -1}, "offset"},
		} {
			_, err := e.m.Search(context.Background(), tt.req)
			wantErr(t, err, knm.ErrInvalid, tt.field)
		}
		res, err := e.m.Search(context.Background(), SearchRequest{Prefix: "80*", Quantity: 100})
		if err != nil || len(res.Numbers) != 3 {
			t.Fatalf("capped search = %v, %v", res, err)
		}
		res, err = e.m.Search(context.Background(), SearchRequest{Country: "GB", Prefix: "20"})
		if err != nil || len(res.Numbers) != 1 {
			t.Fatalf("GB search = %v, %v", res, err)
		}
	})
}

// TestSelectCarriers covers kazoo-knm §2.1.
func TestSelectCarriers(t *testing.T) {
	forEachStore(t, func(t *testing.T, s knm.Store) {
		e := newEnv(t, s, Policy{CarrierModules: []string{"knm_voxbone", "knm_local"}})
		reseller := map[string][]string{accR: {"knm_local", "knm_telnyx", "knm_reserved"}, accO: {""}}
		e.m.resellerCarriers = func(_ context.Context, id string) ([]string, bool, error) {
			v, ok := reseller[id]
			return v, ok, nil
		}
		ctx := context.Background()
		for _, tt := range []struct {
			acc, res string
			want     []string
		}{
			{"", "", []string{"knm_voxbone", "knm_local"}},
			{accS, "", []string{"knm_voxbone", "knm_local"}},
			{accS, accR, []string{"knm_reserved", "knm_reserved_reseller", "knm_local", "knm_telnyx"}},
			{accO, accO, []string{"knm_reserved", "knm_reserved_reseller", "knm_local", "knm_voxbone"}},
			{accM, accM, []string{"knm_reserved", "knm_reserved_reseller", "knm_local", "knm_voxbone"}},
		} {
			got, err := e.m.SelectCarriers(ctx, tt.acc, tt.res)
			if err != nil || !slices.Equal(got, tt.want) {
				t.Errorf("SelectCarriers(%q, %q) = %v, %v; want %v", tt.acc, tt.res, got, err, tt.want)
			}
		}
		e.pol.CarrierModules = nil
		e.pol.AvailableModuleName = "knm_inventory"
		if got, _ := e.m.SelectCarriers(ctx, "", ""); !slices.Equal(got, []string{"knm_inventory"}) {
			t.Errorf("empty system list = %v", got)
		}
	})
}

// TestLocalCarriersSearch: the real local modules find available, reserved and
// reseller-reserved numbers under the prefix only.
func TestLocalCarriersSearch(t *testing.T) {
	forEachStore(t, func(t *testing.T, s knm.Store) {
		e := newEnv(t, s, Policy{CarrierModules: []string{"knm_inventory"}})
		put := func(num string, st knm.State, mod, owner string) {
			n := &knm.Number{Number: num, State: st, AssignedTo: owner}
			n.SetModule(mod)
			e.put(t, n)
		}
		put("+14155550001", knm.StateAvailable, "knm_local", "")
		put("+14155550002", knm.StateAvailable, "knm_inventory", "")
		put("+14155550003", knm.StateReserved, "knm_voxbone", accS)
		put("+14155550004", knm.StateReserved, "knm_voxbone", accR)
		put("+14155550005", knm.StateReserved, "knm_voxbone", accT)    // a sibling's: hidden
		put("+14155550006", knm.StateInService, "knm_inventory", accS) // not available
		put("+14165550007", knm.StateAvailable, "knm_local", "")       // outside the prefix
		put("+14155550008", knm.StateAvailable, "knm_other", "")       // no carrier for it
		res, err := e.m.Search(context.Background(), SearchRequest{Prefix: "415", Quantity: 20, AccountID: accS,
			ResellerID: accR})
		if err != nil {
			t.Fatal(err)
		}
		want := []NumberState{{"+14155550001", knm.StateAvailable}, {"+14155550002", knm.StateAvailable},
			{"+14155550003", knm.StateReserved}, {"+14155550004", knm.StateReserved}}
		if !slices.Equal(res.Numbers, want) {
			t.Fatalf("numbers = %v\nwant %v", res.Numbers, want)
		}
		// Taking the reseller's reservation: is_reserved_from_parent.
		if _, err := e.m.Activate(context.Background(), accS, "+14155550004", accS); err != nil {
			t.Fatal(err)
		}
	})
}

// TestSearchCacheSkip: a search whose rows all fit on page 1 and are stored numbers
// writes no cache, unless an earlier search left rows under the same query id.
func TestSearchCacheSkip(t *testing.T) {
	forEachStore(t, func(t *testing.T, s knm.Store) {
		ctx := context.Background()
		e := newEnv(t, s, Policy{CarrierModules: []string{"knm_inventory"}})
		for i, mod := range []string{"knm_local", "knm_inventory", "knm_inventory"} {
			e.put(t, &knm.Number{Number: fmt.Sprintf("+1415555000%d", i), State: knm.StateAvailable, ModuleName: mod})
		}
		req := SearchRequest{Prefix: "415", Quantity: 5, AccountID: accS, ResellerID: accR}
		res, err := e.m.Search(ctx, req)
		if err != nil || len(res.Numbers) != 3 {
			t.Fatalf("search %v %v", res, err)
		}
		if _, found, _ := s.GetSearch(ctx, res.QueryID, 0, 10); found {
			t.Fatal("a one-page search of stored numbers was cached")
		}
		// Each carrier is asked for 2: knm_local and knm_inventory give 3, so there is a
		// page 2 and the rows are cached.
		req.Quantity = 2
		if _, err := e.m.Search(ctx, req); err != nil {
			t.Fatal(err)
		}
		req.Offset = 2
		if res, _ := e.m.Search(ctx, req); len(res.Numbers) != 1 {
			t.Fatalf("page 2 = %v", res.Numbers)
		}
		// The pool shrinks to one page: the stale rows must be replaced, not left behind.
		e.m.Delete(ctx, accM, "+14155550000")
		e.m.Delete(ctx, accM, "+14155550001")
		req.Offset = 0
		if _, err := e.m.Search(ctx, req); err != nil {
			t.Fatal(err)
		}
		req.Offset = 2
		if res, _ := e.m.Search(ctx, req); len(res.Numbers) != 0 {
			t.Fatalf("stale page 2 = %v", res.Numbers)
		}
	})
}

// TestSearchPagesAreComplete: paging through a search with offset > 0 returns every
// matching number exactly once, in order, although each page asks for few.
func TestSearchPagesAreComplete(t *testing.T) {
	forEachStore(t, func(t *testing.T, s knm.Store) {
		ctx := context.Background()
		e := newEnv(t, s, Policy{CarrierModules: []string{"knm_inventory"}})
		var want []string
		for i := range 7 {
			num := fmt.Sprintf("+1415555010%d", i)
			e.put(t, &knm.Number{Number: num, State: knm.StateAvailable, ModuleName: "knm_inventory"})
			want = append(want, num)
		}
		e.put(t, &knm.Number{Number: "+14165550100", State: knm.StateAvailable, ModuleName: "knm_inventory"})
		var got []string
		for offset := 0; offset < 10; offset += 3 {
			res, err := e.m.Search(ctx, SearchRequest{Prefix: "415", Quantity: 3, Offset: offset, AccountID: accS,
				ResellerID: accR})
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range res.Numbers {
				got = append(got, n.Number)
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("pages gave %v, want %v", got, want)
		}
	})
}

// TestSearchNamesUnknownModules: a module in carrier_modules that knm does not have is
// reported beside the rows, not silently dropped.
func TestSearchNamesUnknownModules(t *testing.T) {
	forEachStore(t, func(t *testing.T, s knm.Store) {
		e := newEnv(t, s, Policy{CarrierModules: []string{"knm_inventory", "knm_bogus"}})
		e.put(t, &knm.Number{Number: "+14155550700", State: knm.StateAvailable, ModuleName: "knm_inventory"})
		res, err := e.m.Search(context.Background(), SearchRequest{Prefix: "415", Quantity: 5, AccountID: accS,
			ResellerID: accR})
		if err != nil || len(res.Numbers) != 1 {
			t.Fatalf("search: %v %v", res, err)
		}
		var found bool
		for _, c := range res.Carriers {
			if c.Module == "knm_bogus" {
				found = c.Status == CarrierError && strings.Contains(c.Error, "unknown carrier module")
			}
		}
		if !found {
			t.Fatalf("knm_bogus not reported: %+v", res.Carriers)
		}
	})
}
