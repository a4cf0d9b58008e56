package manager

import (
	"strconv"
	"strings"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/e164"
)

// PrefixPattern is the prefix rule as a regular expression, for API documents: 1 to 15
// digits, optionally ending in * (a toll-free wildcard), with whitespace anywhere (it is
// removed before the check).
const PrefixPattern = `^\s*(?:[0-9]\s*){1,15}(?:\*\s*)?$`

// SearchInput is a search as a person writes it: the text of crossbar's query parameters
// or of knm search's flags. An empty field takes its default: country US, quantity 1,
// offset 0.
type SearchInput struct {
	Prefix, Country, Quantity, Offset string
}

// ParseSearch reads a search by the rules every entry point shares (the REST API, the CLI
// and Search itself): the prefix with whitespace removed, as Kazoo does, then 1 to 15
// digits optionally ending in * (which holds every prefix of Kazoo's 3-10 characters); a
// known ISO 3166 alpha-2 country in any case; quantity 1 to 1,000,000; offset 0 to
// 1,000,000. Errors are invalid, naming the field, checked in that order.
func ParseSearch(in SearchInput) (SearchRequest, error) {
	r, _, err := SearchRequest{Prefix: in.Prefix, Country: in.Country}.checked()
	if err != nil {
		return SearchRequest{}, err
	}
	if r.Quantity, err = quantityRule.parse(in.Quantity); err != nil {
		return SearchRequest{}, err
	}
	if r.Offset, err = offsetRule.parse(in.Offset); err != nil {
		return SearchRequest{}, err
	}
	return r, nil
}

// checked applies ParseSearch's rules to r, a zero Quantity meaning 1, and returns r
// normalised with its prefix as carriers search it.
func (r SearchRequest) checked() (SearchRequest, knm.SearchPrefix, error) {
	national := strings.Join(strings.Fields(r.Prefix), "")
	if !validPrefix(national) {
		return r, knm.SearchPrefix{}, knm.Errorf(knm.ErrInvalid,
			"prefix must be 1 to 15 digits, optionally ending in * (a toll-free wildcard)").WithCause("prefix")
	}
	country := strings.ToUpper(r.Country)
	if country == "" {
		country = "US"
	}
	dial := ""
	if len(country) == 2 {
		dial = e164.Dialcode(country)
	}
	if dial == "" {
		return r, knm.SearchPrefix{}, knm.Errorf(knm.ErrInvalid,
			"country %q is not a known ISO 3166 alpha-2 code", r.Country).WithCause("country")
	}
	if r.Quantity == 0 {
		r.Quantity = quantityRule.def
	}
	if err := quantityRule.check(r.Quantity); err != nil {
		return r, knm.SearchPrefix{}, err
	}
	if err := offsetRule.check(r.Offset); err != nil {
		return r, knm.SearchPrefix{}, err
	}
	r.Prefix, r.Country = national, country
	return r, knm.SearchPrefix{Dialcode: dial, National: national}, nil
}

// validPrefix reports whether p is 1 to 15 digits, optionally ending in *.
func validPrefix(p string) bool {
	digits := strings.TrimSuffix(p, "*")
	if len(digits) < 1 || len(digits) > 15 {
		return false
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return false
		}
	}
	return true
}

// intRule is the rule of an integer search field. The upper bound is far above any real
// search and keeps arithmetic on the value from overflowing.
type intRule struct {
	name          string
	def, min, max int
}

var (
	quantityRule = intRule{name: "quantity", def: 1, min: 1, max: 1_000_000}
	offsetRule   = intRule{name: "offset", def: 0, min: 0, max: 1_000_000}
)

// parse reads the field's text; empty means the default.
func (f intRule) parse(text string) (int, error) {
	if text == "" {
		return f.def, nil
	}
	n, err := strconv.Atoi(text)
	if err != nil {
		return 0, f.invalid()
	}
	return n, f.check(n)
}

func (f intRule) check(n int) error {
	if n < f.min || n > f.max {
		return f.invalid()
	}
	return nil
}

func (f intRule) invalid() error {
	return knm.Errorf(knm.ErrInvalid, "%s must be an integer from %d to %d", f.name, f.min, f.max).WithCause(f.name)
}
