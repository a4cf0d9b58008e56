package locality

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/knmproject/knm"
)

// TestNumbersOfManyCountries answers numbers of nine countries from libphonenumber's data
// alone (Offline has no network client).
func TestNumbersOfManyCountries(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		number, country, geocode, city, province, kind, carrier, timezone string
	}{
		{"+14155550100", "US", "San Francisco, CA", "San Francisco", "CA", "LANDLINE_OR_WIRELESS", "", "America/Los_Angeles"},
		{"+16135550123", "CA", "Ontario", "Ontario", "", "LANDLINE_OR_WIRELESS", "", "America/Toronto"},
		{"+442079460000", "GB", "London", "London", "", "LANDLINE", "", "Europe/London"},
		{"+4930123456", "DE", "Berlin", "Berlin", "", "LANDLINE", "", "Europe/Berlin"},
		{"+81312345678", "JP", "Tokyo", "Tokyo", "", "LANDLINE", "", "Asia/Tokyo"},
		{"+5511987654321", "BR", "São Paulo", "São Paulo", "", "WIRELESS", "TIM", "America/Sao_Paulo"},
		{"+919812345678", "IN", "", "", "", "WIRELESS", "Idea", "Asia/Calcutta"},
		{"+390612345678", "IT", "Rome", "Rome", "", "LANDLINE", "", "Europe/Rome"},
		{"+34912345678", "ES", "Madrid", "Madrid", "", "LANDLINE", "", "Europe/Madrid"},
	} {
		got, err := Offline{}.Numbers(context.Background(), []string{tc.number})
		if err != nil {
			t.Fatal(err)
		}
		n := got[tc.number]
		ok := n.Status == "success" && n.Number == tc.number && n.E164 == tc.number && n.Country == tc.country &&
			n.Locality != nil && n.Locality.Country == tc.country && n.Locality.Type == tc.kind &&
			n.Locality.Locality == tc.city && n.Locality.Province == tc.province &&
			slices.Contains(n.Locality.Timezones, tc.timezone)
		if tc.geocode != "" {
			ok = ok && n.Geocode != nil && n.Geocode.Locality == tc.geocode && strings.HasPrefix(tc.number, n.Locality.Prefix)
		} else {
			ok = ok && n.Geocode == nil
		}
		if tc.carrier != "" {
			ok = ok && n.Carrier != nil && n.Carrier.Company == tc.carrier && n.Carrier.Type == tc.kind
		} else {
			ok = ok && n.Carrier == nil
		}
		if !ok {
			raw, _ := json.Marshal(n)
			t.Errorf("%s: %s", tc.number, raw)
		}
	}
}

// TestNumbersThatCannotBeDescribed get status error with a reason, keyed as given, while
// the others in the same call are answered.
func TestNumbersThatCannotBeDescribed(t *testing.T) {
	t.Parallel()
	in := []string{"bogus", "14155550100", "+1555", "+999123", "+442079460000"}
	got, err := Offline{}.Numbers(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(in) || got["+442079460000"].Status != "success" {
		t.Fatalf("answers: %v", got)
	}
	for _, n := range in[:4] {
		if got[n].Status != "error" || got[n].Message == "" || got[n].Number != n || got[n].Locality != nil {
			t.Errorf("%s: %+v", n, got[n])
		}
	}
}

func TestCities(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		country, pattern, city, state string
		prefix                        string // one of the prefixes
		fewest                        int    // at least this many cities match
	}{
		{"US", "san fr", "San Francisco", "CA", "415", 1},
		{"us", "SACRAMENTO", "Sacramento", "CA", "916", 1},
		{"US", "Sa", "Saco", "ME", "207", 100},
		{"CA", "toro", "Toronto", "ON", "416", 1},
		{"GB", "Lond", "London", "", "20", 2},
		{"DE", "berl", "Berlin", "", "30", 1},
		{"BR", "sao paulo", "São Paulo - SP", "", "11", 2},
		{"IT", "rom", "Rome", "", "06", 1},
	} {
		got, err := Offline{}.Cities(context.Background(), tc.country, tc.pattern)
		if err != nil {
			t.Fatal(err)
		}
		c, ok := got[tc.city]
		if len(got) < tc.fewest || !ok || c.State != tc.state || c.Country != strings.ToUpper(tc.country) ||
			!slices.ContainsFunc(c.Prefixes, func(p string) bool { return strings.HasPrefix(p, tc.prefix) }) {
			raw, _ := json.Marshal(got)
			t.Errorf("%s %q: %d cities, %.400s", tc.country, tc.pattern, len(got), raw)
		}
		for name := range got {
			if !strings.HasPrefix(fold(name), fold(tc.pattern)) {
				t.Errorf("%s %q matched %q", tc.country, tc.pattern, name)
			}
		}
	}
	if got, err := (Offline{}).Cities(context.Background(), "US", "Zzyzxq"); err != nil || len(got) != 0 {
		t.Errorf("no match: %v %v", got, err)
	}
	for _, bad := range [][2]string{{"XX", "Paris"}, {"", "Paris"}, {"US", "  "}} {
		if _, err := (Offline{}).Cities(context.Background(), bad[0], bad[1]); !knm.IsErrorName(err, knm.ErrInvalid) {
			t.Errorf("Cities(%q, %q) = %v, want invalid", bad[0], bad[1], err)
		}
	}
}

// TestGeocodingTable guards the reading of libphonenumber's embedded table: a new version
// of the library that moves or reshapes it fails here.
func TestGeocodingTable(t *testing.T) {
	t.Parallel()
	en, err := geocoding("en")
	if err != nil || en == nil || len(en.places) < 100000 {
		t.Fatalf("English table: %v entries, %v", en, err)
	}
	known := map[string]string{"14155550100": "San Francisco, CA", "442079460000": "London", "4930123": "Berlin"}
	for digits, want := range known {
		if got, _ := en.lookup(digits); got != want {
			t.Errorf("lookup(%s) = %q, want %q", digits, got, want)
		}
	}
	if got, _ := en.lookup("99999"); got != "" {
		t.Errorf("lookup of a prefix nobody has = %q", got)
	}
	if none, err := geocoding("xx"); none != nil || err != nil {
		t.Errorf("a language without a table: %v %v", none, err)
	}
	if _, err := readTable([]byte("not gzip")); err == nil {
		t.Error("readTable accepted garbage")
	}
}
