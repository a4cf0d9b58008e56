package e164

import (
	"testing"

	"github.com/nyaruka/phonenumbers"
)

func TestCallingCodeAndDialcode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a2   string
		cc   int
		dial string
	}{
		{"US", 1, "+1"}, {"us", 1, "+1"}, {"GB", 44, "+44"}, {"BE", 32, "+32"},
		{"JM", 1, "+1"}, {"ZZ", 0, ""}, {"XX", 0, ""}, {"", 0, ""},
	}
	for _, tt := range tests {
		cc, ok := CallingCode(tt.a2)
		if cc != tt.cc || ok != (tt.cc > 0) {
			t.Errorf("CallingCode(%q) = %d, %v; want %d", tt.a2, cc, ok, tt.cc)
		}
		if got := Dialcode(tt.a2); got != tt.dial {
			t.Errorf("Dialcode(%q) = %q, want %q", tt.a2, got, tt.dial)
		}
	}
}

func TestAlphaRoundTrip(t *testing.T) {
	t.Parallel()
	codes := Alpha2Codes()
	// 249 ISO 3166-1 codes, Kosovo's user-assigned XK and the iNum special case.
	if len(codes) != 251 || len(alpha3to2) != 251 {
		t.Fatalf("got %d alpha-2 and %d alpha-3 codes, want 251 each", len(codes), len(alpha3to2))
	}
	for _, a2 := range codes {
		a3, ok := Alpha3(a2)
		if !ok || len(a3) != 3 {
			t.Errorf("Alpha3(%q) = %q, %v", a2, a3, ok)
			continue
		}
		if back, ok := Alpha2(a3); !ok || back != a2 {
			t.Errorf("Alpha2(Alpha3(%q)) = %q, %v", a2, back, ok)
		}
	}
	for a2, a3 := range map[string]string{"us": "USA", "GB": "GBR", "BE": "BEL", "001": "WLD", "XK": "XKX"} {
		if got, _ := Alpha3(a2); got != a3 {
			t.Errorf("Alpha3(%q) = %q, want %q", a2, got, a3)
		}
	}
	if a2, ok := Alpha2("wld"); !ok || a2 != INumRegion {
		t.Errorf("Alpha2(wld) = %q, %v", a2, ok)
	}
	if _, ok := Alpha3("ZZ"); ok {
		t.Error("Alpha3(ZZ) found")
	}
	if _, ok := Alpha2("ZZZ"); ok {
		t.Error("Alpha2(ZZZ) found")
	}
}

// TestEveryPhonenumbersRegionHasAlpha3 keeps the table complete: a country Voxbone can
// sell must have an alpha-3 code. Ascension (AC) and Tristan da Cunha (TA) are only
// exceptionally reserved in ISO 3166-1 and have no alpha-3.
func TestEveryPhonenumbersRegionHasAlpha3(t *testing.T) {
	t.Parallel()
	for region := range phonenumbers.GetSupportedRegions() {
		if region == "AC" || region == "TA" {
			continue
		}
		if _, ok := Alpha3(region); !ok {
			t.Errorf("region %s has no alpha-3 code", region)
		}
		if _, ok := CallingCode(region); !ok {
			t.Errorf("region %s has no calling code", region)
		}
	}
}

func TestValidityAndRegion(t *testing.T) {
	t.Parallel()
	for _, region := range []string{"US", "GB", "BE", "FR", "JP"} {
		ex := phonenumbers.Format(phonenumbers.GetExampleNumber(region), phonenumbers.E164)
		if !IsValid(ex) {
			t.Errorf("IsValid(%s) = false for %s's example number", ex, region)
		}
		if got, ok := Region(ex); !ok || got != region {
			t.Errorf("Region(%s) = %q, %v; want %s", ex, got, ok, region)
		}
	}
	for _, bad := range []string{"", "4155550100", "+1", "+999123", "+1415555010099999"} {
		if IsValid(bad) {
			t.Errorf("IsValid(%q) = true", bad)
		}
	}
	if _, ok := Region("14155550100"); ok {
		t.Error("Region of a number without + found")
	}
	if cc, ok := CountryCallingCode("+88351000123"); !ok || cc != 883 {
		t.Errorf("CountryCallingCode(+883…) = %d, %v", cc, ok)
	}
	if r, ok := Region("+88351000123"); ok && r != INumRegion {
		t.Errorf("Region(+883…) = %q", r)
	}
}
