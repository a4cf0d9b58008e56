package knmvoxbone

import (
	"context"
	"slices"
	"strings"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/e164"
)

// Voxbone DID types knm asks for (voxbone-api.md §7.2).
const (
	TypeGeographic = "GEOGRAPHIC"
	TypeTollFree   = "TOLL_FREE"
)

// DIDTypes are every Voxbone DID type (voxbone-api.md §7.2).
var DIDTypes = []string{TypeGeographic, "NATIONAL", "MOBILE", "INUM", TypeTollFree, "SHARED_COST", "SPECIAL"}

// usTollFree and usTollFreeWildcard are Kazoo's IS_US_TOLLFREE and IS_US_TOLLFREE_WILDCARD:
// exact string tests on the raw prefix (kazoo-knm §7).
var (
	usTollFree = []string{"800", "822", "833", "844", "855", "866", "877",
		"880", "881", "882", "883", "884", "885", "886", "887", "888", "889"}
	usTollFreeWildcard = []string{"80*", "84*", "85*", "86*", "87*", "88*"}
)

// DIDType returns the Voxbone didType Kazoo master asks for: TOLL_FREE for +1 with a US
// toll-free prefix or wildcard, or the UIFN prefix 800 for any country; GEOGRAPHIC otherwise.
func DIDType(dialcode, prefix string) string {
	if dialcode == "+1" && (slices.Contains(usTollFree, prefix) || slices.Contains(usTollFreeWildcard, prefix)) {
		return TypeTollFree
	}
	if prefix == "800" { // IS_UIFN_TOLLFREE
		return TypeTollFree
	}
	return TypeGeographic
}

// CountryA3 returns the ISO 3166 alpha-3 code Voxbone wants for an alpha-2 (or already
// alpha-3) country code, or an invalid error.
func CountryA3(country string) (string, error) {
	c := strings.ToUpper(strings.TrimSpace(country))
	switch len(c) {
	case 2:
		if a3, ok := e164.Alpha3(c); ok {
			return a3, nil
		}
	case 3:
		if _, ok := e164.Alpha2(c); ok {
			return c, nil
		}
	}
	return "", knm.Errorf(knm.ErrInvalid, "unknown country %q (use ISO 3166 alpha-3 like USA, or alpha-2 like US)",
		country).WithCause("country")
}

// ValidAreaCode reports whether s is empty or 1 to 10 digits with an optional trailing
// wildcard (* or %).
func ValidAreaCode(s string) bool {
	d := strings.TrimRight(s, "*%")
	if len(s)-len(d) > 1 || len(d) > 10 || (d == "" && s != "") {
		return false
	}
	for _, c := range d {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// QuoteRequest selects DID groups to price.
type QuoteRequest struct {
	Country  string // ISO 3166 alpha-2 or alpha-3, required
	AreaCode string // optional; a trailing "*" is a prefix wildcard
	Type     string // optional didType, e.g. GEOGRAPHIC, TOLL_FREE
}

// GroupQuote is one DID group with its stock and prices, in currency units.
type GroupQuote struct {
	GroupID  int     `json:"group_id"`
	City     string  `json:"city,omitempty"`
	AreaCode string  `json:"area_code"`
	Type     string  `json:"type"`
	Stock    int     `json:"stock"`
	Setup    float64 `json:"setup"`
	Monthly  float64 `json:"monthly"`
	Currency string  `json:"currency"`
}

// Quote lists the DID groups in stock that match r (every page), with prices. It buys
// nothing and writes nothing.
func (c *Carrier) Quote(ctx context.Context, r QuoteRequest) ([]GroupQuote, error) {
	a3, err := CountryA3(r.Country)
	if err != nil {
		return nil, err
	}
	cat, err := c.fetchCatalogue(ctx, groupQuery{CountryA3: a3, DIDType: r.Type, AreaCode: r.AreaCode})
	if err != nil {
		return nil, err
	}
	out := make([]GroupQuote, 0, len(cat.groups))
	for _, g := range cat.groups {
		q := GroupQuote{GroupID: g.DIDGroupID, AreaCode: g.AreaCode, Type: g.DIDType, Stock: g.Stock,
			Setup: float64(g.Setup100) / 100, Monthly: float64(g.Monthly100) / 100, Currency: cat.balance.Currency}
		if g.CityName != nil {
			q.City = *g.CityName
		}
		out = append(out, q)
	}
	return out, nil
}
