package e164

import (
	"strconv"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// CallingCode returns the ITU calling code of an ISO alpha-2 country code, in any case
// ("us" -> 1, "GB" -> 44), from libphonenumber's metadata.
func CallingCode(alpha2 string) (int, bool) {
	cc := phonenumbers.GetCountryCodeForRegion(strings.ToUpper(alpha2))
	return cc, cc > 0
}

// Dialcode returns "+" and the calling code of an alpha-2 country code ("US" -> "+1"), or
// "" for an unknown code, as Kazoo's knm_util:prefix_for_country does.
func Dialcode(alpha2 string) string {
	cc, ok := CallingCode(alpha2)
	if !ok {
		return ""
	}
	return "+" + strconv.Itoa(cc)
}

// parse reads an E.164 number; it must start with "+".
func parse(e164 string) (*phonenumbers.PhoneNumber, bool) {
	if !strings.HasPrefix(e164, "+") {
		return nil, false
	}
	num, err := phonenumbers.Parse(e164, "")
	if err != nil {
		return nil, false
	}
	return num, true
}

// IsValid reports whether e164 ("+14155550100") is a valid number by libphonenumber's
// per-country plans. Kazoo does not validate numbers this way; knm uses it to warn and
// to classify, never to refuse a number Kazoo would accept.
func IsValid(e164 string) bool {
	num, ok := parse(e164)
	return ok && phonenumbers.IsValidNumber(num)
}

// Region returns the alpha-2 region of an E.164 number ("+442079460000" -> "GB"), "001"
// for non-geographic numbers such as iNum, and false when the number cannot be placed.
func Region(e164 string) (string, bool) {
	num, ok := parse(e164)
	if !ok {
		return "", false
	}
	r := phonenumbers.GetRegionCodeForNumber(num)
	return r, r != "" && r != phonenumbers.UNKNOWN_REGION
}

// CountryCallingCode returns the calling code at the start of an E.164 number
// ("+442079460000" -> 44), whether or not the rest is valid.
func CountryCallingCode(e164 string) (int, bool) {
	num, ok := parse(e164)
	if !ok {
		return 0, false
	}
	return int(num.GetCountryCode()), num.GetCountryCode() > 0
}
