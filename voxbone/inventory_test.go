package voxbone_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/knmproject/knm/voxbone"
)

// normalise drops null members and turns "true"/"false" strings into booleans, so that a
// fixture and the re-encoding of what the client decoded can be compared member by member.
func normalise(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			if e == nil {
				continue
			}
			out[k] = normalise(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalise(e)
		}
		return out
	case string:
		if x == "true" || x == "false" {
			return x == "true"
		}
	}
	return v
}

// roundTrip checks that decoded, encoded again, carries exactly the members of fixture:
// nothing dropped, renamed or mis-typed by the wire types.
func roundTrip(t *testing.T, fixture []byte, decoded any) {
	t.Helper()
	enc, err := json.Marshal(decoded)
	if err != nil {
		t.Fatal(err)
	}
	var want, got any
	if err := json.Unmarshal(fixture, &want); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(enc, &got); err != nil {
		t.Fatal(err)
	}
	if w, g := normalise(want), normalise(got); !reflect.DeepEqual(w, g) {
		t.Errorf("round trip differs:\n got %v\nwant %v", g, w)
	}
}

func TestListDIDGroupsFixture(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	mux.HandleFunc("GET /inventory/didgroup", func(w http.ResponseWriter, r *http.Request) {
		testQuery(t, r, url.Values{"countryCodeA3": {"USA"}, "areaCode": {"205"}, "pageNumber": {"0"}, "pageSize": {"50"}})
		serveFixture(t, "voxbone_inventory_search_results.json")(w, r)
	})
	groups, total, err := c.ListDIDGroups(t.Context(), voxbone.ListDIDGroupsOptions{
		ListOptions: voxbone.ListOptions{PageSize: 50}, CountryCodeA3: "USA", AreaCode: "205",
	})
	if err != nil {
		t.Fatal(err)
	}
	if total != 23 || len(groups) != 23 {
		t.Fatalf("got %d groups of %d, want 23 of 23", len(groups), total)
	}
	want := voxbone.DIDGroup{
		DIDGroupID: 1196, CountryCodeA3: "USA", StateID: voxbone.Ptr(1), DIDType: "GEOGRAPHIC",
		CityName: voxbone.Ptr("ALABASTER"), AreaCode: "205", RateCenter: voxbone.Ptr("ALABASTER"),
		Stock: 17, Setup100: 0, Monthly100: 100, Available: true, RegulationRequirement: nil,
		Features: []voxbone.Feature{
			{FeatureID: 6, Name: "VoxFax", Description: "VoxFax"},
			{FeatureID: 50, Name: "Voice", Description: "Voice"},
			{FeatureID: 51, Name: "VoxOUT International", Description: "Used to build the coverage pages in the public website"},
			{FeatureID: 5, Name: "T.38", Description: "T.38"},
			{FeatureID: 29, Name: "VoxOUT Emergency", Description: "Feature that allows the VoxDID to access emergency services"},
			{FeatureID: 52, Name: "VoxOUT National", Description: "Used to build the coverage pages in the public website"},
			{FeatureID: 25, Name: "VoxSMS", Description: "VoxSMS"},
		},
	}
	if !reflect.DeepEqual(groups[0], want) {
		t.Errorf("group 0 = %+v\nwant %+v", groups[0], want)
	}
	last := groups[22]
	if last.DIDGroupID != 1679 || *last.CityName != "YORK" || last.Stock != 10 {
		t.Errorf("last group = %+v", last)
	}
	if g := groups[21]; *g.RateCenter != "W BLOCTON" || *g.CityName != "WEST BLOCTON" {
		t.Errorf("rate center differs from city: %+v", g)
	}
	var page struct {
		DIDGroups   []voxbone.DIDGroup `json:"didGroups"`
		ResultCount int                `json:"resultCount"`
	}
	page.DIDGroups, page.ResultCount = groups, total
	roundTrip(t, fixture(t, "voxbone_inventory_search_results.json"), page)
}

func TestListDIDsFixture(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	mux.HandleFunc("GET /inventory/did", func(w http.ResponseWriter, r *http.Request) {
		testQuery(t, r, url.Values{"orderReference": {"50898DS3919643"}, "pageNumber": {"0"}, "pageSize": {"20"}})
		serveFixture(t, "voxbone_order_reference.json")(w, r)
	})
	dids, total, err := c.ListDIDs(t.Context(), voxbone.ListDIDsOptions{OrderReference: "50898DS3919643"})
	if err != nil {
		t.Fatal(err)
	}
	if total != 15 || len(dids) != 15 {
		t.Fatalf("got %d DIDs of %d, want 15 of 15", len(dids), total)
	}
	want := voxbone.DID{
		DIDID: 5666963, E164: "+12562795733", Type: "GEOGRAPHIC", CountryCodeA3: "USA",
		CityName: voxbone.Ptr("ALBERTVILLE"), AreaCode: "256", OrderReference: voxbone.Ptr("50898DS3919643"),
		Channels: -1, Delivery: "BE", TrunkID: voxbone.Ptr(12735), DIDGroupID: 5116,
		CallerID: &voxbone.CallerID{CLIFormat: "E164", CLIValue: ""}, CLIPrivacy: "DISABLED",
		OtherOptions: &voxbone.OtherOptions{T38Enabled: false, DTMF: "RFC2833", DTMFInbandMute: false, Codecs: []string{"G711A", "G711U", "G729"}},
		Ringback:     "STANDARD", DNISEnabled: false, VoxoutNational: "NOT_SUPPORTED",
	}
	got := dids[0]
	if !json.Valid(got.Raw) || !bytes.Contains(got.Raw, []byte(`"e164": "+12562795733"`)) {
		t.Errorf("Raw = %s", got.Raw)
	}
	got.Raw = nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("DID 0 = %+v\nwant %+v", got, want)
	}
	groups := map[int]int{}
	for _, d := range dids {
		groups[d.DIDGroupID]++
		if !strings.HasPrefix(d.E164, "+1256") || *d.OrderReference != "50898DS3919643" {
			t.Errorf("DID %+v", d)
		}
		// Raw is the DID exactly as sent; decoding it again gives the same DID.
		var again voxbone.DID
		if err := json.Unmarshal(d.Raw, &again); err != nil || again.DIDID != d.DIDID {
			t.Errorf("Raw of %d does not decode: %v", d.DIDID, err)
		}
	}
	if len(groups) != 3 || groups[5116] == 0 || groups[5117] == 0 || groups[12518] == 0 {
		t.Errorf("DID groups = %v, want 5116, 5117 and 12518", groups)
	}
	var page struct {
		DIDs        []voxbone.DID `json:"dids"`
		ResultCount int           `json:"resultCount"`
	}
	page.DIDs, page.ResultCount = dids, total
	roundTrip(t, fixture(t, "voxbone_order_reference.json"), page)
}

func TestFlexBool(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]bool{`true`: true, `false`: false, `"true"`: true, `"false"`: false, `"TRUE"`: true, `""`: false, `null`: false} {
		var b voxbone.FlexBool
		if err := json.Unmarshal([]byte(in), &b); err != nil || bool(b) != want {
			t.Errorf("%s -> %v, %v; want %v", in, b, err, want)
		}
	}
	var b voxbone.FlexBool
	if err := json.Unmarshal([]byte(`"maybe"`), &b); err == nil {
		t.Error(`"maybe" decoded`)
	}
	var d voxbone.DID
	if err := json.Unmarshal([]byte(`{"dnisEnabled":true,"otherOptions":{"t38Enabled":"true","dtmfInbandMute":true}}`), &d); err != nil {
		t.Fatal(err)
	}
	if !d.DNISEnabled || !d.OtherOptions.T38Enabled || !d.OtherOptions.DTMFInbandMute {
		t.Errorf("decoded %+v %+v", d, d.OtherOptions)
	}
}

func TestListDIDGroupsQuery(t *testing.T) {
	t.Parallel()
	c, mux := setup(t, voxbone.WithPageSize(900))
	mux.HandleFunc("GET /inventory/didgroup", func(w http.ResponseWriter, r *http.Request) {
		testMethod(t, r, "GET")
		testBody(t, r, "")
		testQuery(t, r, url.Values{
			"countryCodeA3": {"USA"}, "pageNumber": {"2"}, "pageSize": {"900"},
			"didGroupIds": {"1", "1000"}, "stateId": {"0"}, "cityNamePattern": {"NEW YORK%"},
			"rateCenter": {"NWYRCYZN01"}, "areaCode": {"88*"}, "didType": {"TOLL_FREE"},
			"showEmpty": {"false"}, "featureIds": {"6", "25"},
		})
		// Encoded exactly once: % as %25, never %2525; * reaches the server as *.
		if raw := r.URL.RawQuery; !strings.Contains(raw, "cityNamePattern=NEW+YORK%25") || strings.Contains(raw, "%25%") || strings.Contains(raw, "%252") {
			t.Errorf("raw query = %s", raw)
		}
		serveJSON(w, `{"didGroups":[],"resultCount":0}`)
	})
	_, _, err := c.ListDIDGroups(t.Context(), voxbone.ListDIDGroupsOptions{
		ListOptions: voxbone.ListOptions{PageNumber: 2}, CountryCodeA3: "USA",
		DIDGroupIDs: []int{1, 1000}, StateID: voxbone.Ptr(0), CityNamePattern: "NEW YORK%",
		RateCenter: "NWYRCYZN01", AreaCode: "88*", DIDType: "TOLL_FREE", ShowEmpty: voxbone.Ptr(false),
		FeatureIDs: []int{6, 25},
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestListDIDsQuery(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	mux.HandleFunc("GET /inventory/did", func(w http.ResponseWriter, r *http.Request) {
		testQuery(t, r, url.Values{
			"pageNumber": {"0"}, "pageSize": {"20"}, "didIds": {"5", "6"}, "didGroupIds": {"7"},
			"e164Pattern": {"+1256%"}, "regulationAddressId": {"1"}, "voiceUriId": {"2"}, "faxUriId": {"3"},
			"smsLinkGroupId": {"4"}, "deliveryId": {"5"}, "needAddressLink": {"true"}, "serviceType": {"VOXDID"},
			"countryCodeA3": {"USA"}, "orderReference": {"R1"}, "portingReference": {"P1"}, "smsOutbound": {"false"},
			"webRtcEnabled": {"true"}, "voxoutNationalEnabled": {"false"}, "voxoutInternationalEnabled": {"true"},
		})
		if !strings.Contains(r.URL.RawQuery, "e164Pattern=%2B1256%25") {
			t.Errorf("raw query = %s, want e164Pattern=%%2B1256%%25", r.URL.RawQuery)
		}
		serveJSON(w, `{"dids":[],"resultCount":0}`)
	})
	_, _, err := c.ListDIDs(t.Context(), voxbone.ListDIDsOptions{
		DIDIDs: []int{5, 6}, DIDGroupIDs: []int{7}, E164Pattern: "+1256%", RegulationAddressID: voxbone.Ptr(1),
		VoiceURIID: voxbone.Ptr(2), FaxURIID: voxbone.Ptr(3), SMSLinkGroupID: voxbone.Ptr(4), DeliveryID: voxbone.Ptr(5),
		NeedAddressLink: voxbone.Ptr(true), ServiceType: "VOXDID", CountryCodeA3: "USA", OrderReference: "R1",
		PortingReference: "P1", SMSOutbound: voxbone.Ptr(false), WebRTCEnabled: voxbone.Ptr(true),
		VoxoutNationalEnabled: voxbone.Ptr(false), VoxoutInternationalEnabled: voxbone.Ptr(true),
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestCountries(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	const aus = `{"countries":[{"countryCodeA3":"AUS","countryName":"AUSTRALIA","phoneCode":61,"hasStates":false,"hasRegulationRequirement":true}],"resultCount":60}`
	mux.HandleFunc("GET /inventory/country", func(w http.ResponseWriter, r *http.Request) {
		testQuery(t, r, url.Values{"pageNumber": {"1"}, "pageSize": {"1"}, "countryCodeA3": {"AUS"}, "didType": {"GEOGRAPHIC"}})
		serveJSON(w, aus)
	})
	mux.HandleFunc("GET /inventory/country/{a3}", func(w http.ResponseWriter, r *http.Request) {
		testQuery(t, r, nil)
		if r.PathValue("a3") == "AUS" {
			serveJSON(w, aus)
			return
		}
		serveJSON(w, `{"countries":[],"resultCount":0}`)
	})
	list, total, err := c.ListCountries(t.Context(), voxbone.ListCountriesOptions{
		ListOptions: voxbone.ListOptions{PageNumber: 1, PageSize: 1}, CountryCodeA3: "AUS", DIDType: "GEOGRAPHIC",
	})
	want := voxbone.Country{CountryCodeA3: "AUS", CountryName: "AUSTRALIA", PhoneCode: 61, HasRegulationRequirement: true}
	if err != nil || total != 60 || len(list) != 1 || list[0] != want {
		t.Fatalf("ListCountries = %+v, %d, %v", list, total, err)
	}
	got, err := c.GetCountry(t.Context(), "AUS")
	if err != nil || *got != want {
		t.Fatalf("GetCountry = %+v, %v", got, err)
	}
	if _, err := c.GetCountry(t.Context(), "XYZ"); !voxbone.IsNotFound(err) {
		t.Errorf("GetCountry(XYZ) = %v, want not found", err)
	}
}

func TestSmallInventoryLists(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	for pattern, body := range map[string]string{
		"GET /inventory/country/USA/state":       `{"states":[{"stateId":1,"stateName":"ALABAMA","stateCode":"AL","countryCodeA3":"USA"}]}`,
		"GET /inventory/country/DEU/restriction": `{"restrictions":[{"countryCodeA3":"DEU","restrictionType":"LEGAL","restrictionMessage":"address"}]}`,
		"GET /inventory/feature":                 `{"features":[{"featureId":25,"name":"VoxSMS","description":"VoxSMS"}]}`,
		"GET /inventory/creditpackage":           `{"creditPackages":[{"creditPackageId":3,"name":"$100","price100":10000}]}`,
		"GET /inventory/trunk":                   `{"trunks":[{"trunkId":12735,"zone":"WORLD","capacity":10,"description":"main","countDidsOnTrunk":15}]}`,
		"GET /inventory/zone":                    `{"zone":["WORLD","EUROPE"]}`,
	} {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			testBody(t, r, "")
			serveJSON(w, body)
		})
	}
	ctx := t.Context()
	states, err := c.ListStates(ctx, "USA")
	if err != nil || !reflect.DeepEqual(states, []voxbone.State{{StateID: 1, StateName: "ALABAMA", StateCode: "AL", CountryCodeA3: "USA"}}) {
		t.Errorf("ListStates = %+v, %v", states, err)
	}
	rs, err := c.ListRestrictions(ctx, "DEU")
	if err != nil || !reflect.DeepEqual(rs, []voxbone.Restriction{{CountryCodeA3: "DEU", RestrictionType: "LEGAL", RestrictionMessage: "address"}}) {
		t.Errorf("ListRestrictions = %+v, %v", rs, err)
	}
	fs, err := c.ListFeatures(ctx)
	if err != nil || !reflect.DeepEqual(fs, []voxbone.Feature{{FeatureID: 25, Name: "VoxSMS", Description: "VoxSMS"}}) {
		t.Errorf("ListFeatures = %+v, %v", fs, err)
	}
	cps, err := c.ListCreditPackages(ctx)
	if err != nil || !reflect.DeepEqual(cps, []voxbone.CreditPackage{{CreditPackageID: 3, Name: "$100", Price100: 10000}}) {
		t.Errorf("ListCreditPackages = %+v, %v", cps, err)
	}
	ts, err := c.ListTrunks(ctx)
	if err != nil || !reflect.DeepEqual(ts, []voxbone.Trunk{{TrunkID: 12735, Zone: "WORLD", Capacity: 10, Description: "main", CountDIDsOnTrunk: 15}}) {
		t.Errorf("ListTrunks = %+v, %v", ts, err)
	}
	zs, err := c.ListZones(ctx)
	if err != nil || !reflect.DeepEqual(zs, []string{"WORLD", "EUROPE"}) {
		t.Errorf("ListZones = %+v, %v", zs, err)
	}
}
