package emulator

import "strings"

// The default catalogue. US area code 205 reproduces the 23 groups of the recorded fixture
// voxbone_inventory_search_results.json (ids, cities, rate centres, stock and prices); 256
// starts with the three groups of voxbone_order_reference.json (5116, 5117, 12518). The rest
// is plausible but invented: enough countries, states and groups to exercise every filter.

const (
	defaultTrunkID  = 12735
	defaultDelivery = "BE"
)

var defaultCountries = []Country{
	{"BEL", "BELGIUM", 32, false, true},
	{"CAN", "CANADA", 1, true, false},
	{"FRA", "FRANCE", 33, false, true},
	{"DEU", "GERMANY", 49, false, true},
	{"NLD", "NETHERLANDS", 31, false, true},
	{"GBR", "UNITED KINGDOM", 44, false, true},
	{"USA", "UNITED STATES", 1, true, false},
}

// nationalLength is the length of a national significant number per country; a generated
// DID gets len-len(areaCode) subscriber digits after its area code.
var nationalLength = map[string]int{
	"USA": 10, "CAN": 10, "GBR": 10, "BEL": 8, "DEU": 10, "FRA": 9, "NLD": 9,
}

var usStates = []string{
	"AL ALABAMA", "AK ALASKA", "AZ ARIZONA", "AR ARKANSAS", "CA CALIFORNIA", "CO COLORADO",
	"CT CONNECTICUT", "DE DELAWARE", "DC DISTRICT OF COLUMBIA", "FL FLORIDA", "GA GEORGIA",
	"HI HAWAII", "ID IDAHO", "IL ILLINOIS", "IN INDIANA", "IA IOWA", "KS KANSAS",
	"KY KENTUCKY", "LA LOUISIANA", "ME MAINE", "MD MARYLAND", "MA MASSACHUSETTS",
	"MI MICHIGAN", "MN MINNESOTA", "MS MISSISSIPPI", "MO MISSOURI", "MT MONTANA",
	"NE NEBRASKA", "NV NEVADA", "NH NEW HAMPSHIRE", "NJ NEW JERSEY", "NM NEW MEXICO",
	"NY NEW YORK", "NC NORTH CAROLINA", "ND NORTH DAKOTA", "OH OHIO", "OK OKLAHOMA",
	"OR OREGON", "PA PENNSYLVANIA", "RI RHODE ISLAND", "SC SOUTH CAROLINA", "SD SOUTH DAKOTA",
	"TN TENNESSEE", "TX TEXAS", "UT UTAH", "VT VERMONT", "VA VIRGINIA", "WA WASHINGTON",
	"WV WEST VIRGINIA", "WI WISCONSIN", "WY WYOMING",
}

var caProvinces = []string{
	"AB ALBERTA", "BC BRITISH COLUMBIA", "MB MANITOBA", "NB NEW BRUNSWICK",
	"NL NEWFOUNDLAND AND LABRADOR", "NT NORTHWEST TERRITORIES", "NS NOVA SCOTIA",
	"NU NUNAVUT", "ON ONTARIO", "PE PRINCE EDWARD ISLAND", "QC QUEBEC", "SK SASKATCHEWAN",
	"YT YUKON",
}

// State ids: US states 1..51 alphabetically (ALABAMA = 1 as in the fixture), then Canadian
// provinces from 52.
const (
	stAlabama    = 1
	stCalifornia = 5
	stNewYork    = 33
	stBC         = 53
	stOntario    = 60
	stQuebec     = 62
)

func defaultStates() map[string][]State {
	out := map[string][]State{}
	id := 1
	for _, list := range []struct {
		a3    string
		names []string
	}{{"USA", usStates}, {"CAN", caProvinces}} {
		for _, s := range list.names {
			code, name, _ := strings.Cut(s, " ")
			out[list.a3] = append(out[list.a3], State{StateID: id, StateName: name, StateCode: code, CountryCodeA3: list.a3})
			id++
		}
	}
	return out
}

var defaultFeatures = []Feature{
	{5, "T.38", "T.38"},
	{6, "VoxFax", "VoxFax"},
	{25, "VoxSMS", "VoxSMS"},
	{29, "VoxOUT Emergency", "Feature that allows the VoxDID to access emergency services"},
	{50, "Voice", "Voice"},
	{51, "VoxOUT International", "Used to build the coverage pages in the public website"},
	{52, "VoxOUT National", "Used to build the coverage pages in the public website"},
}

var defaultRestrictions = []Restriction{
	{"DEU", "LEGAL", "A local address in the area of the number is required, with proof."},
	{"FRA", "LEGAL", "A national address is required, with proof."},
	{"GBR", "SERVICE", "Numbers must not be used for premium-rate services."},
	{"USA", "PURCHASE", "Toll-free numbers cannot be ported out."},
}

var defaultTrunks = []Trunk{{TrunkID: defaultTrunkID, Zone: "WORLD", Capacity: 10, Description: "Default trunk"}}

var defaultZones = []string{"WORLD", "EUROPE", "NORTH AMERICA"}

var defaultCreditPackages = []CreditPackage{
	{1, "$100 Prepaid Credits", 10000},
	{2, "$500 Prepaid Credits", 50000},
	{3, "$1000 Prepaid Credits", 100000},
}

// Feature sets in the order the fixture lists them.
var (
	usGeoFeatures    = []int{6, 50, 51, 5, 29, 52, 25}
	tollFreeFeatures = []int{50, 6, 5}
	euFeatures       = []int{50, 6, 5, 25}
)

// groupSpec is a compact catalogue row: empty city/rate = null, state 0 = null, reg "" = no
// regulation requirement ("LOCAL!" = LOCAL with proof).
type groupSpec struct {
	id               int
	a3, typ          string
	city, rate, area string
	state, stock     int
	setup, monthly   int
	reg              string
	unavailable      bool
	features         []int
}

func geo205(id int, city, rate string, stock int) groupSpec {
	return groupSpec{id: id, a3: "USA", typ: "GEOGRAPHIC", city: city, rate: rate,
		area: "205", state: stAlabama, stock: stock, monthly: 100, features: usGeoFeatures}
}

func usGeo(id int, city, area string, state, stock, monthly int) groupSpec {
	return groupSpec{id: id, a3: "USA", typ: "GEOGRAPHIC", city: city, rate: city,
		area: area, state: state, stock: stock, monthly: monthly, features: usGeoFeatures}
}

func tollFree(id int, a3, area string, stock int) groupSpec {
	return groupSpec{id: id, a3: a3, typ: "TOLL_FREE",
		area: area, stock: stock, setup: 100, monthly: 200, features: tollFreeFeatures}
}

func euGeo(id int, a3, city, area string, stock, setup, monthly int, reg string) groupSpec {
	return groupSpec{id: id, a3: a3, typ: "GEOGRAPHIC", city: city,
		area: area, stock: stock, setup: setup, monthly: monthly, reg: reg, features: euFeatures}
}

var defaultGroups = []groupSpec{
	// US 205: the 23 recorded groups.
	geo205(1196, "ALABASTER", "ALABASTER", 17),
	geo205(10927, "BESSEMER", "BESSEMER", 28),
	geo205(1404, "BIRMINGHAM", "BIRMINGHAM", 527),
	geo205(10003, "CALERA", "CALERA", 20),
	geo205(12431, "CENTREVILLE", "CENTREVL", 33),
	geo205(2142, "CHELSEA", "CHELSEA", 23),
	geo205(2177, "CLANTON", "CLANTON", 25),
	geo205(12432, "COLUMBIANA", "COLUMBIANA", 18),
	geo205(21755, "CORDOVA", "CORDOVA", 21),
	geo205(12433, "DORA", "DORA", 20),
	geo205(21577, "EUTAW", "EUTAW", 21),
	geo205(2616, "GARDENDALE", "GARDENDALE", 20),
	geo205(2677, "GRAYSVILLE", "GRAYSVILLE", 22),
	geo205(10708, "JASPER", "JASPER", 16),
	geo205(21041, "LIVINGSTON (SUMTER)", "LIVINGSTON", 20),
	geo205(12434, "MONTEVALLO", "MONTEVALLO", 23),
	geo205(21828, "PARRISH", "PARRISH", 21),
	geo205(10816, "PINSON", "PINSON", 27),
	geo205(1918, "TUSCALOOSA", "TUSCALOOSA", 31),
	geo205(1967, "VINCENT", "VINCENT", 20),
	geo205(2018, "WARRIOR", "WARRIOR", 11),
	geo205(1981, "WEST BLOCTON", "W BLOCTON", 13),
	geo205(1679, "YORK", "YORK", 10),
	// US 256: the recorded order's groups plus more, 180 DIDs in all.
	usGeo(5116, "ALBERTVILLE", "256", stAlabama, 8, 100),
	usGeo(5117, "ALEXANDER CITY", "256", stAlabama, 12, 100),
	usGeo(12518, "ANNISTON", "256", stAlabama, 10, 100),
	usGeo(5118, "ATHENS", "256", stAlabama, 15, 100),
	usGeo(5119, "CULLMAN", "256", stAlabama, 20, 100),
	usGeo(5120, "DECATUR", "256", stAlabama, 25, 100),
	usGeo(5121, "FLORENCE", "256", stAlabama, 18, 100),
	usGeo(5122, "GADSDEN", "256", stAlabama, 22, 100),
	usGeo(5123, "HUNTSVILLE", "256", stAlabama, 50, 100),
	// New York and San Francisco; SAUSALITO is empty and MILL VALLEY not orderable.
	{id: 20001, a3: "USA", typ: "GEOGRAPHIC", city: "NEW YORK CITY", rate: "NWYRCYZN01",
		area: "212", state: stNewYork, stock: 200, monthly: 150, features: usGeoFeatures},
	{id: 20002, a3: "USA", typ: "GEOGRAPHIC", city: "NEW YORK CITY", rate: "NWYRCYZN01",
		area: "646", state: stNewYork, stock: 150, monthly: 150, features: usGeoFeatures},
	usGeo(20101, "SAN FRANCISCO", "415", stCalifornia, 150, 150),
	usGeo(20102, "SAN RAFAEL", "415", stCalifornia, 20, 150),
	usGeo(20103, "SAUSALITO", "415", stCalifornia, 0, 150),
	{id: 20104, a3: "USA", typ: "GEOGRAPHIC", city: "MILL VALLEY", rate: "MILL VALLEY",
		area: "415", state: stCalifornia, stock: 5, monthly: 150, unavailable: true, features: usGeoFeatures},
	// US toll-free.
	tollFree(30800, "USA", "800", 100),
	tollFree(30833, "USA", "833", 100),
	tollFree(30844, "USA", "844", 100),
	tollFree(30855, "USA", "855", 100),
	tollFree(30866, "USA", "866", 100),
	tollFree(30877, "USA", "877", 100),
	tollFree(30888, "USA", "888", 100),
	// Canada.
	{id: 40416, a3: "CAN", typ: "GEOGRAPHIC", city: "TORONTO", rate: "TORONTO",
		area: "416", state: stOntario, stock: 80, monthly: 100, features: usGeoFeatures},
	{id: 40514, a3: "CAN", typ: "GEOGRAPHIC", city: "MONTREAL", rate: "MONTREAL",
		area: "514", state: stQuebec, stock: 60, monthly: 100, features: usGeoFeatures},
	{id: 40604, a3: "CAN", typ: "GEOGRAPHIC", city: "VANCOUVER", rate: "VANCOUVER",
		area: "604", state: stBC, stock: 40, monthly: 100, features: usGeoFeatures},
	tollFree(40800, "CAN", "800", 30),
	// Europe.
	euGeo(8826, "GBR", "ABERDEEN", "1224", 125, 100, 150, "WORLDWIDE"),
	euGeo(8827, "GBR", "LONDON", "20", 300, 100, 150, "WORLDWIDE"),
	euGeo(8828, "GBR", "MANCHESTER", "161", 90, 100, 150, "WORLDWIDE"),
	{id: 8829, a3: "GBR", typ: "NATIONAL",
		area: "330", stock: 60, setup: 100, monthly: 200, reg: "WORLDWIDE", features: euFeatures},
	euGeo(50201, "BEL", "ANTWERPEN", "3", 40, 0, 200, "NATIONAL"),
	euGeo(50202, "BEL", "BRUXELLES", "2", 70, 0, 200, "NATIONAL"),
	euGeo(50203, "BEL", "GENT", "9", 30, 0, 200, "NATIONAL"),
	euGeo(50301, "DEU", "BERLIN", "30", 90, 200, 300, "LOCAL!"),
	euGeo(50302, "DEU", "FRANKFURT", "69", 40, 200, 300, "LOCAL!"),
	euGeo(50303, "DEU", "HAMBURG", "40", 50, 200, 300, "LOCAL!"),
	euGeo(50304, "DEU", "MUNCHEN", "89", 60, 200, 300, "LOCAL!"),
	euGeo(50401, "FRA", "LYON", "478", 45, 100, 250, "NATIONAL!"),
	euGeo(50402, "FRA", "MARSEILLE", "491", 35, 100, 250, "NATIONAL!"),
	euGeo(50403, "FRA", "PARIS", "1", 120, 100, 250, "NATIONAL!"),
	euGeo(50501, "NLD", "AMSTERDAM", "20", 80, 100, 200, "NATIONAL"),
	euGeo(50502, "NLD", "ROTTERDAM", "10", 50, 100, 200, "NATIONAL"),
	euGeo(50503, "NLD", "UTRECHT", "30", 30, 100, 200, "NATIONAL"),
}

func (s groupSpec) group(features map[int]Feature) DIDGroup {
	g := DIDGroup{
		DIDGroupID: s.id, CountryCodeA3: s.a3, DIDType: s.typ, AreaCode: s.area,
		Stock: s.stock, Setup100: s.setup, Monthly100: s.monthly, Available: !s.unavailable,
		Features: []Feature{},
	}
	if s.state != 0 {
		g.StateID = ptr(s.state)
	}
	if s.city != "" {
		g.CityName = ptr(s.city)
	}
	if s.rate != "" {
		g.RateCenter = ptr(s.rate)
	}
	if s.reg != "" {
		typ, proof := strings.CutSuffix(s.reg, "!")
		g.RegulationRequirement = &RegulationRequirement{AddressType: typ, ProofRequired: proof}
	}
	for _, id := range s.features {
		g.Features = append(g.Features, features[id])
	}
	return g
}
