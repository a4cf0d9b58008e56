package emulator

import (
	"encoding/json"
	"net/http"
	"os"
	"reflect"
	"slices"
	"testing"
)

func TestCountries(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{})
	var all struct {
		Countries   []Country `json:"countries"`
		ResultCount int       `json:"resultCount"`
	}
	h.ok("GET", "inventory/country?pageNumber=0&pageSize=100", nil, &all)
	var names []string
	for _, c := range all.Countries {
		names = append(names, c.CountryName)
	}
	if !slices.IsSorted(names) || all.ResultCount != len(all.Countries) || len(names) < 7 {
		t.Fatalf("countries %v resultCount %d", names, all.ResultCount)
	}
	for _, a3 := range []string{"USA", "CAN", "GBR", "BEL", "DEU", "FRA", "NLD"} {
		if !slices.ContainsFunc(all.Countries, func(c Country) bool { return c.CountryCodeA3 == a3 }) {
			t.Errorf("country %s missing", a3)
		}
	}

	// resultCount is the total, not the page length (EX-VCR evidence).
	h.ok("GET", "inventory/country?pageNumber=1&pageSize=1", nil, &all)
	if len(all.Countries) != 1 || all.ResultCount != len(names) || all.Countries[0].CountryName != names[1] {
		t.Fatalf("page 1 of 1: %+v", all)
	}
	h.ok("GET", "inventory/country?pageNumber=0&pageSize=10&didType=TOLL_FREE", nil, &all)
	if all.ResultCount != 2 || all.Countries[0].CountryCodeA3 != "CAN" || all.Countries[1].CountryCodeA3 != "USA" {
		t.Fatalf("toll-free countries: %+v", all)
	}
	h.ok("GET", "inventory/country/USA", nil, &all)
	if all.ResultCount != 1 || all.Countries[0] != (Country{"USA", "UNITED STATES", 1, true, false}) {
		t.Fatalf("country USA: %+v", all)
	}
	h.fail("GET", "inventory/country/XYZ", nil, 400, "14")
	h.fail("GET", "inventory/country", nil, 400, "16")
}

func TestCatalogueLists(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{})
	var states struct{ States []State }
	h.ok("GET", "inventory/country/USA/state", nil, &states)
	if len(states.States) != 51 || states.States[0] != (State{1, "ALABAMA", "AL", "USA"}) {
		t.Fatalf("US states: %d, first %+v", len(states.States), states.States[0])
	}
	h.ok("GET", "inventory/country/CAN/state/", nil, &states)
	if len(states.States) != 13 || states.States[0].CountryCodeA3 != "CAN" {
		t.Fatalf("CA states: %+v", states.States)
	}
	h.ok("GET", "inventory/country/BEL/state", nil, &states)
	if states.States == nil || len(states.States) != 0 {
		t.Fatalf("BEL states: %+v", states)
	}
	var restr struct{ Restrictions []Restriction }
	h.ok("GET", "inventory/country/DEU/restriction", nil, &restr)
	if len(restr.Restrictions) != 1 || restr.Restrictions[0].RestrictionType != "LEGAL" {
		t.Fatalf("restrictions: %+v", restr)
	}
	var feats struct{ Features []Feature }
	h.ok("GET", "inventory/feature", nil, &feats)
	var ids []int
	for _, f := range feats.Features {
		ids = append(ids, f.FeatureID)
	}
	if !slices.Equal(ids, []int{5, 6, 25, 29, 50, 51, 52}) {
		t.Fatalf("feature ids %v", ids)
	}
	var pk struct {
		CreditPackages []CreditPackage `json:"creditPackages"`
	}
	h.ok("GET", "inventory/creditpackage", nil, &pk)
	if len(pk.CreditPackages) == 0 || pk.CreditPackages[0].Price100 != 10000 {
		t.Fatalf("credit packages %+v", pk)
	}
	h.buy(1404, 3)
	var tr struct{ Trunks []Trunk }
	h.ok("GET", "inventory/trunk", nil, &tr)
	if len(tr.Trunks) != 1 || tr.Trunks[0].TrunkID != 12735 || tr.Trunks[0].CountDIDsOnTrunk != 3 {
		t.Fatalf("trunks %+v", tr)
	}
	var zones map[string][]string
	h.ok("GET", "inventory/zone", nil, &zones)
	if len(zones["zone"]) == 0 {
		t.Fatalf("zones %+v", zones)
	}
}

// TestDIDGroupsMatchFixture: a Kazoo search of US 205 answers exactly the recorded body.
func TestDIDGroupsMatchFixture(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{})
	status, got := h.do("GET", "inventory/didgroup?pageNumber=0&pageSize=100&showEmpty=false&didType=GEOGRAPHIC&countryCodeA3=USA&areaCode=205", nil)
	if status != 200 {
		t.Fatalf("status %d: %s", status, got)
	}
	want, err := os.ReadFile("testdata/voxbone_inventory_search_results.json")
	if err != nil {
		t.Fatal(err)
	}
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("205 search differs from the fixture:\n got %s", got)
	}
}

func TestDIDGroupFilters(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{})
	const base = "inventory/didgroup?pageNumber=0&pageSize=5000&countryCodeA3="
	tests := []struct {
		name  string
		query string
		want  []int // group ids in order; nil = only check count
		count int
	}{
		{"area 205", "USA&areaCode=205", nil, 23},
		{"area 256 all", "usa&areaCode=256", []int{5116, 5117, 12518, 5118, 5119, 5120, 5121, 5122, 5123}, 9},
		{"toll-free wildcard star", "USA&didType=TOLL_FREE&areaCode=8*", nil, 7},
		{"toll-free 88*", "USA&didType=TOLL_FREE&areaCode=88*", []int{30888}, 1},
		{"toll-free 87%", "USA&didType=TOLL_FREE&areaCode=87%25", []int{30877}, 1},
		{"toll-free type", "USA&didType=TOLL_FREE", nil, 7},
		{"area is exact", "USA&areaCode=20", nil, 0},
		{"city prefix case-insensitive", "USA&cityNamePattern=bir", []int{1404}, 1},
		{"city LIKE", "USA&cityNamePattern=New%20York%25", []int{20001, 20002}, 2},
		{"city anchored", "USA&cityNamePattern=w%20York%25", nil, 0},
		{"city inner wildcard", "USA&cityNamePattern=%25BLOCTON", []int{1981}, 1},
		{"state", "USA&stateId=33", []int{20001, 20002}, 2},
		{"rate center", "USA&rateCenter=CENTREVL", []int{12431}, 1},
		{"ids repeated", "USA&didGroupIds=1404&didGroupIds=1196", []int{1196, 1404}, 2},
		{"ids comma", "USA&didGroupIds=1404,1196,8826", []int{1196, 1404}, 2},
		{"features all", "GBR&featureIds=25&featureIds=50", nil, 4},
		{"features all missing one", "USA&didType=TOLL_FREE&featureIds=25,50", nil, 0},
		{"empty hidden", "USA&areaCode=415", []int{20104, 20101, 20102}, 3},
		{"empty shown", "USA&areaCode=415&showEmpty=true", []int{20104, 20101, 20102, 20103}, 4},
		{"empty explicit false", "USA&areaCode=415&showEmpty=false", nil, 3},
		{"other country", "DEU", []int{50301, 50302, 50303, 50304}, 4},
		{"national", "GBR&didType=NATIONAL", []int{8829}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out groupsResp
			h.ok("GET", base+tc.query, nil, &out)
			var ids []int
			for _, g := range out.DIDGroups {
				ids = append(ids, g.DIDGroupID)
			}
			if out.ResultCount != tc.count || len(ids) != tc.count || (tc.want != nil && !slices.Equal(ids, tc.want)) {
				t.Fatalf("got %v (resultCount %d), want %v (%d)", ids, out.ResultCount, tc.want, tc.count)
			}
		})
	}

	var out groupsResp
	h.ok("GET", base+"USA&areaCode=256", nil, &out)
	total := 0
	for _, g := range out.DIDGroups {
		total += g.Stock
	}
	if total < 100 {
		t.Errorf("256 stock %d < 100", total)
	}
	h.ok("GET", base+"USA&areaCode=800", nil, &out)
	if g := out.DIDGroups[0]; g.CityName != nil || g.DIDType != "TOLL_FREE" || g.StateID != nil {
		t.Errorf("toll-free group %+v", g)
	}

	h.fail("GET", "inventory/didgroup?pageNumber=0&pageSize=10", nil, 400, "16")
	h.fail("GET", base+"USA&showEmpty=maybe", nil, 400, "18")
	h.fail("GET", base+"USA&stateId=x", nil, 400, "17")
}

func TestPagination(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{})
	const q = "inventory/didgroup?countryCodeA3=USA&areaCode=205"
	var seen []int
	for page := 0; ; page++ {
		var out groupsResp
		status, data := h.do("GET", path("%s&pageNumber=%d&pageSize=5", q, page), nil)
		if page == 5 {
			if status != 400 || decodeEnvelope(t, data).Errors[0].APIErrorCode != "13" {
				t.Fatalf("page past the end: %d %s", status, data)
			}
			break
		}
		if err := json.Unmarshal(data, &out); err != nil || out.ResultCount != 23 {
			t.Fatalf("page %d: %s", page, data)
		}
		for _, g := range out.DIDGroups {
			seen = append(seen, g.DIDGroupID)
		}
	}
	if len(seen) != 23 || seen[0] != 1196 || seen[22] != 1679 {
		t.Fatalf("pages gave %v", seen)
	}

	// Page 0 of nothing is an empty list, not an error.
	status, data := h.do("GET", "inventory/didgroup?countryCodeA3=USA&areaCode=999&pageNumber=0&pageSize=20", nil)
	if status != 200 || string(data) != `{"didGroups":[],"resultCount":0}` {
		t.Fatalf("empty page 0: %d %s", status, data)
	}
	for _, tc := range []struct{ query, code string }{
		{"pageSize=20", "16"},
		{"pageNumber=0", "16"},
		{"pageNumber=-1&pageSize=20", "11"},
		{"pageNumber=0&pageSize=0", "12"},
		{"pageNumber=0&pageSize=5001", "12"},
		{"pageNumber=0&pageSize=x", "17"},
		{"pageNumber=1&pageSize=5000", "13"},
	} {
		h.fail("GET", q+"&"+tc.query, nil, http.StatusBadRequest, tc.code)
	}
	h.ok("GET", q+"&pageNumber=0&pageSize=5000", nil, nil)
}
