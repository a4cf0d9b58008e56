// Package locality answers where a phone number is and which prefixes serve a city, the
// questions of crossbar's POST …/phone_numbers/locality and GET …/phone_numbers/prefix?city=.
// Kazoo asks an external "phonebook" service; knm answers offline from libphonenumber's
// geocoding, carrier and time-zone data (nyaruka/phonenumbers), in Kazoo's reply shapes.
//
// Source is what the API calls, so an upstream phonebook speaking Kazoo's protocol
// (POST {url}/locality/metadata, GET {url}/{country}/city?pattern=) can stand in for
// Offline where an operator has one.
package locality

import (
	"context"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// Source answers locality questions.
type Source interface {
	// Numbers describes each E.164 number, keyed by the number as given; a number that
	// cannot be described gets status "error" and a message, not an error of the call.
	Numbers(ctx context.Context, numbers []string) (map[string]Number, error)
	// Cities returns the cities of a country (ISO 3166 alpha-2) whose name starts with
	// pattern, ignoring case and accents, keyed by city name.
	Cities(ctx context.Context, country, pattern string) (map[string]City, error)
}

// Number is what is known of one number: Kazoo's phonebook reply for it.
type Number struct {
	Number   string   `json:"number"`
	E164     string   `json:"e164_number,omitempty"`
	Status   string   `json:"status"` // "success" or "error"
	Message  string   `json:"message,omitempty"`
	Country  string   `json:"country,omitempty"` // ISO 3166 alpha-2
	Geocode  *Geocode `json:"geocode,omitempty"`
	Locality *Place   `json:"locality,omitempty"`
	Carrier  *Carrier `json:"carrier,omitempty"`
}

// Geocode is the place as libphonenumber writes it, e.g. "San Francisco, CA".
type Geocode struct {
	Locality string `json:"locality"`
}

// Place is where the number is and what kind of line it is.
type Place struct {
	Locality  string   `json:"locality,omitempty"` // city, or region when that is all that is known
	Province  string   `json:"province,omitempty"` // state or province code (North America)
	Country   string   `json:"country"`
	Prefix    string   `json:"prefix,omitempty"` // the E.164 prefix the place is known by
	Type      string   `json:"type"`             // LANDLINE, WIRELESS, LANDLINE_OR_WIRELESS, TOLL_FREE, …
	LineType  string   `json:"line_type"`        // libphonenumber's type: fixed_line, mobile, …
	Timezones []string `json:"timezones,omitempty"`
}

// Carrier is the operator that was given the number's range (numbers may have been
// ported since).
type Carrier struct {
	Company string `json:"company"`
	DBA     string `json:"dba"`
	Type    string `json:"type"`
}

// City is one city of a prefix search: Monster UI's buyNumbers shows "City, state
// (prefixes)" and searches the prefix chosen.
type City struct {
	State    string   `json:"state"`
	Country  string   `json:"country"`
	Prefixes []string `json:"prefixes"` // national prefixes: area codes in North America
}

// Offline answers from libphonenumber's data, without network access.
type Offline struct{}

var _ Source = Offline{}

// Numbers describes each number from libphonenumber's data.
func (Offline) Numbers(_ context.Context, numbers []string) (map[string]Number, error) {
	out := make(map[string]Number, len(numbers))
	for _, n := range numbers {
		d, err := describe(n)
		if err != nil {
			return nil, err
		}
		out[n] = d
	}
	return out, nil
}

// describe looks one number up; the error is libphonenumber's data failing to load.
func describe(number string) (Number, error) {
	fail := func(msg string) (Number, error) { return Number{Number: number, Status: "error", Message: msg}, nil }
	if !strings.HasPrefix(number, "+") {
		return fail("not an E.164 number: it must start with +")
	}
	pn, err := phonenumbers.Parse(number, "")
	if err != nil {
		return fail("not a phone number: " + err.Error())
	}
	if !phonenumbers.IsValidNumber(pn) {
		return fail("not a number in use in its country's numbering plan")
	}
	e164 := phonenumbers.Format(pn, phonenumbers.E164)
	region := phonenumbers.GetRegionCodeForNumber(pn)
	kind := phonenumbers.GetNumberType(pn)
	place := &Place{Country: region, Type: lineTypes[kind].kazoo, LineType: lineTypes[kind].name}
	place.Timezones, _ = phonenumbers.GetTimezonesForNumber(pn)
	if len(place.Timezones) == 1 && place.Timezones[0] == "Etc/Unknown" {
		place.Timezones = nil
	}
	out := Number{Number: number, E164: e164, Status: "success", Country: region, Locality: place}
	desc, prefix, err := placeOf(e164[1:], region)
	if err != nil {
		return Number{}, err
	}
	if desc != "" {
		out.Geocode = &Geocode{Locality: desc}
		place.Locality, place.Province = splitPlace(desc, region)
		place.Prefix = "+" + prefix
	}
	if name, _ := phonenumbers.GetCarrierForNumber(pn, "en"); name != "" {
		out.Carrier = &Carrier{Company: name, DBA: name, Type: place.Type}
	}
	return out, nil
}

// splitPlace splits a North American "City, ST" into city and state code; elsewhere the
// description is the locality.
func splitPlace(desc, region string) (city, province string) {
	if phonenumbers.GetCountryCodeForRegion(region) == 1 {
		if i := strings.LastIndex(desc, ", "); i > 0 {
			return desc[:i], desc[i+2:]
		}
	}
	return desc, ""
}

// lineTypes names libphonenumber's number types in Kazoo's phonebook words and in
// libphonenumber's own: deliberately a table, one row per type.
var lineTypes = map[phonenumbers.PhoneNumberType]struct{ kazoo, name string }{
	phonenumbers.FIXED_LINE:           {"LANDLINE", "fixed_line"},
	phonenumbers.MOBILE:               {"WIRELESS", "mobile"},
	phonenumbers.FIXED_LINE_OR_MOBILE: {"LANDLINE_OR_WIRELESS", "fixed_line_or_mobile"},
	phonenumbers.TOLL_FREE:            {"TOLL_FREE", "toll_free"},
	phonenumbers.PREMIUM_RATE:         {"PREMIUM_RATE", "premium_rate"},
	phonenumbers.SHARED_COST:          {"SHARED_COST", "shared_cost"},
	phonenumbers.VOIP:                 {"VOIP", "voip"},
	phonenumbers.PERSONAL_NUMBER:      {"PERSONAL", "personal_number"},
	phonenumbers.PAGER:                {"PAGER", "pager"},
	phonenumbers.UAN:                  {"UAN", "uan"},
	phonenumbers.VOICEMAIL:            {"VOICEMAIL", "voicemail"},
	phonenumbers.UNKNOWN:              {"UNKNOWN", "unknown"},
}
