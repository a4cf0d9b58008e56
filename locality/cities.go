package locality

import (
	"context"
	"iter"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"

	"github.com/nyaruka/phonenumbers"
	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"

	"github.com/knmproject/knm"
)

// cityIndexes caches each country's cities once built (tens of milliseconds for the
// United States).
var (
	cityMu      sync.Mutex
	cityIndexes = map[string][]cityEntry{}
)

// cityEntry is one city of an index with its name folded for matching.
type cityEntry struct {
	name, folded string
	city         City
}

// Cities returns the cities of country whose name starts with pattern (case and accents
// ignored). In North America the prefixes are area codes; elsewhere they are the shortest
// national prefixes libphonenumber places in the city. An unknown country or an empty
// pattern is an invalid error; no match is an empty map.
func (Offline) Cities(_ context.Context, country, pattern string) (map[string]City, error) {
	country = strings.ToUpper(strings.TrimSpace(country))
	if phonenumbers.GetCountryCodeForRegion(country) == 0 {
		return nil, knm.Errorf(knm.ErrInvalid, "unknown country %q: give an ISO 3166 alpha-2 code such as US", country)
	}
	want := fold(strings.TrimSpace(pattern))
	if want == "" {
		return nil, knm.Errorf(knm.ErrInvalid, "a city name (or its first letters) is required")
	}
	idx, err := citiesOf(country)
	if err != nil {
		return nil, err
	}
	out := map[string]City{}
	for _, e := range idx {
		if strings.HasPrefix(e.folded, want) {
			out[e.name] = e.city
		}
	}
	return out, nil
}

// citiesOf returns the city index of a country, building it on first use.
func citiesOf(country string) ([]cityEntry, error) {
	cityMu.Lock()
	defer cityMu.Unlock()
	if idx, ok := cityIndexes[country]; ok {
		return idx, nil
	}
	var ts []*table
	for _, lang := range languages(country) {
		t, err := geocoding(lang)
		if err != nil {
			return nil, err
		}
		ts = append(ts, t)
	}
	idx := buildCities(ts, country)
	cityIndexes[country] = idx
	return idx, nil
}

// buildCities gathers the places of the tables that lie in country; a prefix the first
// table places is not looked for in the next.
func buildCities(ts []*table, country string) []cityEntry {
	cc := phonenumbers.GetCountryCodeForRegion(country)
	ccDigits := strconv.Itoa(cc)
	nanp := cc == 1
	regions := &regionCache{cc: cc, byKey: map[string]string{}}
	prefixes := map[string][]string{}
	states := map[string]string{}
	var buf []byte
	for p, desc := range places(ts) {
		buf = strconv.AppendInt(buf[:0], int64(p), 10)
		if len(buf) <= len(ccDigits) || string(buf[:len(ccDigits)]) != ccDigits {
			continue
		}
		national := string(buf[len(ccDigits):])
		city, state := desc, ""
		if nanp {
			// North American entries are "City, ST" per exchange; state-wide entries
			// ("California") are not cities.
			i := strings.LastIndex(desc, ", ")
			if i <= 0 || len(national) < 3 {
				continue
			}
			city, state, national = desc[:i], desc[i+2:], national[:3]
		}
		if regions.of(national, nanp) != country {
			continue
		}
		prefixes[city] = append(prefixes[city], national)
		states[city] = state
	}
	out := make([]cityEntry, 0, len(prefixes))
	for city, ps := range prefixes {
		out = append(out, cityEntry{name: city, folded: fold(city),
			city: City{State: states[city], Country: country, Prefixes: shortest(ps)}})
	}
	return out
}

// places iterates over the entries of the tables, each prefix once, the first table's
// place winning.
func places(ts []*table) iter.Seq2[int, string] {
	return func(yield func(int, string) bool) {
		for i, t := range ts {
			if t == nil {
				continue
			}
			for p, desc := range t.places {
				if slices.ContainsFunc(ts[:i], func(o *table) bool { _, dup := o.places[p]; return o != nil && dup }) {
					continue
				}
				if !yield(p, desc) {
					return
				}
			}
		}
	}
}

// shortest sorts prefixes and drops each one that a shorter prefix of the list covers.
func shortest(ps []string) []string {
	slices.Sort(ps)
	ps = slices.Compact(ps)
	out := ps[:0]
	for _, p := range ps {
		if len(out) > 0 && strings.HasPrefix(p, out[len(out)-1]) {
			continue
		}
		out = append(out, p)
	}
	return out
}

// regionCache finds which region of a shared calling code (+1, +44, +7…) a national
// prefix belongs to: by area code in North America, else by the prefix itself.
type regionCache struct {
	cc    int
	byKey map[string]string
}

func (r *regionCache) of(national string, nanp bool) string {
	regions := phonenumbers.GetRegionCodesForCountryCode(r.cc)
	if len(regions) == 1 {
		return regions[0]
	}
	key := national
	if nanp {
		key = national[:3]
	}
	if region, ok := r.byKey[key]; ok {
		return region
	}
	// A whole number in the range: the prefix padded to ten digits.
	nn, err := strconv.ParseUint((key + "2000000000")[:10], 10, 64)
	region := ""
	if err == nil {
		cc := int32(r.cc)
		region = phonenumbers.GetRegionCodeForNumber(&phonenumbers.PhoneNumber{CountryCode: &cc, NationalNumber: &nn})
	}
	if region == "" {
		region = phonenumbers.GetRegionCodeForCountryCode(r.cc)
	}
	r.byKey[key] = region
	return region
}

// fold lower-cases s and strips its accents, so "sao" finds "São Paulo".
func fold(s string) string {
	t := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	out, _, err := transform.String(t, s)
	if err != nil {
		out = s
	}
	return strings.ToLower(out)
}
