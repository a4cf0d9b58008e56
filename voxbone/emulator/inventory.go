package emulator

import (
	"cmp"
	"slices"
	"strings"
)

// Handlers of the inventory module (voxbone-api.md §3). They run with e.mu held.

func (e *Emulator) listCountries(q *request) (any, error) {
	number, size, err := q.query.page()
	if err != nil {
		return nil, err
	}
	a3 := strings.ToUpper(q.query.str("countryCodeA3"))
	didType := strings.ToUpper(q.query.str("didType"))
	var out []Country
	for _, c := range e.countries {
		if a3 != "" && c.CountryCodeA3 != a3 {
			continue
		}
		if didType != "" && !e.countryOffers(c.CountryCodeA3, didType) {
			continue
		}
		out = append(out, c)
	}
	page, err := paginate(out, number, size)
	if err != nil {
		return nil, err
	}
	return map[string]any{"countries": page, "resultCount": len(out)}, nil
}

func (e *Emulator) countryOffers(a3, didType string) bool {
	for _, g := range e.groups {
		if g.CountryCodeA3 == a3 && g.DIDType == didType {
			return true
		}
	}
	return false
}

// getCountry answers with the list shape, as EX get_country decodes ListCountryResponse.
func (e *Emulator) getCountry(q *request) (any, error) {
	c, err := e.country(q.segs[2])
	if err != nil {
		return nil, err
	}
	return map[string]any{"countries": []Country{*c}, "resultCount": 1}, nil
}

func (e *Emulator) country(a3 string) (*Country, error) {
	for i := range e.countries {
		if strings.EqualFold(e.countries[i].CountryCodeA3, a3) {
			return &e.countries[i], nil
		}
	}
	return nil, invalid(14, "ILLEGAL_ARGUMENT: unknown country '", a3, "'.")
}

func (e *Emulator) listStates(q *request) (any, error) {
	c, err := e.country(q.segs[2])
	if err != nil {
		return nil, err
	}
	states := e.states[c.CountryCodeA3]
	if states == nil {
		states = []State{}
	}
	return map[string]any{"states": states}, nil
}

func (e *Emulator) listRestrictions(q *request) (any, error) {
	c, err := e.country(q.segs[2])
	if err != nil {
		return nil, err
	}
	out := []Restriction{}
	for _, r := range defaultRestrictions {
		if r.CountryCodeA3 == c.CountryCodeA3 {
			out = append(out, r)
		}
	}
	return map[string]any{"restrictions": out}, nil
}

func (e *Emulator) listFeatures(*request) (any, error) {
	return map[string]any{"features": e.features}, nil
}

func (e *Emulator) listCreditPackages(*request) (any, error) {
	return map[string]any{"creditPackages": defaultCreditPackages}, nil
}

func (e *Emulator) listTrunks(*request) (any, error) {
	trunks := slices.Clone(defaultTrunks)
	for i := range trunks {
		for _, d := range e.dids {
			if !d.cancelled && d.TrunkID != nil && *d.TrunkID == trunks[i].TrunkID {
				trunks[i].CountDIDsOnTrunk++
			}
		}
	}
	return map[string]any{"trunks": trunks}, nil
}

// listZones answers {"zone": [...]}: the key is singular in the API.
func (e *Emulator) listZones(*request) (any, error) {
	return map[string]any{"zone": defaultZones}, nil
}

// groupFilter is a parsed inventory/didgroup query (voxbone-api.md §7.3).
type groupFilter struct {
	a3, didType, rateCenter, areaCode, cityPattern string
	stateID                                        int
	hasState, showEmpty                            bool
	ids, features                                  []int
}

func parseGroupFilter(q query) (groupFilter, error) {
	f := groupFilter{
		a3:          strings.ToUpper(q.str("countryCodeA3")),
		didType:     strings.ToUpper(q.str("didType")),
		rateCenter:  q.str("rateCenter"),
		areaCode:    q.str("areaCode"),
		cityPattern: q.str("cityNamePattern"),
	}
	if f.a3 == "" {
		return f, invalid(16, "FIELD_REQUIRED: countryCodeA3 is required.")
	}
	var err error
	if f.stateID, f.hasState, err = q.integer("stateId"); err != nil {
		return f, err
	}
	if f.showEmpty, err = q.boolean("showEmpty", false); err != nil {
		return f, err
	}
	if f.ids, err = q.ints("didGroupIds"); err != nil {
		return f, err
	}
	if f.features, err = q.ints("featureIds"); err != nil {
		return f, err
	}
	return f, nil
}

func (f groupFilter) match(g *DIDGroup) bool {
	switch {
	case g.CountryCodeA3 != f.a3,
		f.didType != "" && g.DIDType != f.didType,
		f.hasState && (g.StateID == nil || *g.StateID != f.stateID),
		f.rateCenter != "" && (g.RateCenter == nil || !strings.EqualFold(*g.RateCenter, f.rateCenter)),
		len(f.ids) > 0 && !slices.Contains(f.ids, g.DIDGroupID),
		!f.showEmpty && g.Stock == 0,
		f.areaCode != "" && !matchAreaCode(g.AreaCode, f.areaCode),
		f.cityPattern != "" && (g.CityName == nil || !like(strings.ToUpper(*g.CityName), strings.ToUpper(f.cityPattern)+"%")):
		return false
	}
	for _, id := range f.features {
		if !slices.ContainsFunc(g.Features, func(ft Feature) bool { return ft.FeatureID == id }) {
			return false
		}
	}
	return true
}

// matchAreaCode is an exact match, or a prefix match when the filter ends in "*" or "%":
// Kazoo passes user prefixes such as "88*" through verbatim.
func matchAreaCode(areaCode, filter string) bool {
	if p, ok := strings.CutSuffix(filter, "*"); ok {
		return strings.HasPrefix(areaCode, p)
	}
	if p, ok := strings.CutSuffix(filter, "%"); ok {
		return strings.HasPrefix(areaCode, p)
	}
	return areaCode == filter
}

func (e *Emulator) listDIDGroups(q *request) (any, error) {
	number, size, err := q.query.page()
	if err != nil {
		return nil, err
	}
	f, err := parseGroupFilter(q.query)
	if err != nil {
		return nil, err
	}
	var out []DIDGroup
	for _, g := range e.sortedGroups() {
		if f.match(g) {
			out = append(out, cloneGroup(g))
		}
	}
	page, err := paginate(out, number, size)
	if err != nil {
		return nil, err
	}
	return map[string]any{"didGroups": page, "resultCount": len(out)}, nil
}

// sortedGroups orders groups by city name like the recorded responses (then area code and
// id, so that city-less toll-free groups have a stable order too).
func (e *Emulator) sortedGroups() []*DIDGroup {
	out := make([]*DIDGroup, 0, len(e.groups))
	for _, g := range e.groups {
		out = append(out, g)
	}
	slices.SortFunc(out, func(a, b *DIDGroup) int {
		return cmp.Or(
			cmp.Compare(deref(a.CityName), deref(b.CityName)),
			cmp.Compare(a.AreaCode, b.AreaCode),
			cmp.Compare(a.DIDGroupID, b.DIDGroupID))
	})
	return out
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func cloneGroup(g *DIDGroup) DIDGroup {
	c := *g
	c.StateID = clonePtr(g.StateID)
	c.CityName = clonePtr(g.CityName)
	c.RateCenter = clonePtr(g.RateCenter)
	c.RegulationRequirement = clonePtr(g.RegulationRequirement)
	c.Features = slices.Clone(g.Features)
	if c.Features == nil {
		c.Features = []Feature{}
	}
	return c
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// like is SQL LIKE with "%" as the only wildcard, anchored at both ends.
func like(s, pattern string) bool {
	parts := strings.Split(pattern, "%")
	if len(parts) == 1 {
		return s == pattern
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return strings.HasSuffix(s, last)
}

// matchE164 applies voxbone-api.md §7.4: strip a leading "+" (or the space an unescaped "+"
// decodes to) from both sides, then LIKE if the pattern has "%", else substring.
func matchE164(e164, pattern string) bool {
	norm := func(s string) string { return strings.TrimLeft(strings.TrimSpace(s), "+ ") }
	e164, pattern = norm(e164), norm(pattern)
	if strings.Contains(pattern, "%") {
		return like(e164, pattern)
	}
	return strings.Contains(e164, pattern)
}

func (e *Emulator) listDIDs(q *request) (any, error) {
	number, size, err := q.query.page()
	if err != nil {
		return nil, err
	}
	keep, err := e.didFilter(q.query)
	if err != nil {
		return nil, err
	}
	var out []DID
	for _, d := range e.dids {
		if !d.cancelled && keep(d) {
			out = append(out, cloneDID(&d.DID))
		}
	}
	slices.SortFunc(out, func(a, b DID) int { return cmp.Compare(a.DIDID, b.DIDID) })
	page, err := paginate(out, number, size)
	if err != nil {
		return nil, err
	}
	return map[string]any{"dids": page, "resultCount": len(out)}, nil
}

// didFilter builds the predicate of an inventory/did query; unknown parameters (Kazoo's
// showEmpty, DVP's dateFrom) are ignored.
func (e *Emulator) didFilter(q query) (func(*didState) bool, error) {
	ids, err := q.ints("didIds")
	if err != nil {
		return nil, err
	}
	groupIDs, err := q.ints("didGroupIds")
	if err != nil {
		return nil, err
	}
	voiceURI, hasVoiceURI, err := q.integer("voiceUriId")
	if err != nil {
		return nil, err
	}
	needLink, err := q.boolean("needAddressLink", false)
	if err != nil {
		return nil, err
	}
	hasNeedLink := q.has("needAddressLink")
	ref := q.str("orderReference")
	a3 := strings.ToUpper(q.str("countryCodeA3"))
	service := strings.ToUpper(q.str("serviceType"))
	// Not trimmed: a leading space is an unescaped "+".
	var pattern string
	if v := q["e164Pattern"]; len(v) > 0 {
		pattern = v[0]
	}
	return func(d *didState) bool {
		switch {
		case len(ids) > 0 && !slices.Contains(ids, d.DIDID),
			len(groupIDs) > 0 && !slices.Contains(groupIDs, d.DIDGroupID),
			ref != "" && deref(d.OrderReference) != ref,
			a3 != "" && d.CountryCodeA3 != a3,
			service != "" && serviceType(d.Type) != service,
			pattern != "" && !matchE164(d.E164, pattern),
			hasVoiceURI && (d.VoiceURIID == nil || *d.VoiceURIID != voiceURI),
			hasNeedLink && needLink != (d.needsAddress && d.RegulationAddressID == nil):
			return false
		}
		return true
	}, nil
}

// serviceType maps a DID type to the serviceType filter: VOX800 for toll-free, VOXDID for
// everything else (voxbone-api.md §7.2).
func serviceType(didType string) string {
	if didType == "TOLL_FREE" {
		return "VOX800"
	}
	return "VOXDID"
}
