package manager

import (
	"regexp"
	"testing"

	"github.com/knmproject/knm"
)

// TestParseSearch: the one reader of search input normalises what it accepts, defaults
// what is empty, and refuses the rest as invalid naming the field, prefix first.
func TestParseSearch(t *testing.T) {
	for _, tt := range []struct {
		in    SearchInput
		want  SearchRequest
		field string // the field an invalid input names; "" when accepted
	}{
		{SearchInput{Prefix: "415"}, SearchRequest{Prefix: "415", Country: "US", Quantity: 1}, ""},
		{SearchInput{Prefix: " 4 1\t5 ", Country: "gb", Quantity: "20", Offset: "40"},
			SearchRequest{Prefix: "415", Country: "GB", Quantity: 20, Offset: 40}, ""},
		{SearchInput{Prefix: "80*", Quantity: "1000000", Offset: "1000000"},
			SearchRequest{Prefix: "80*", Country: "US", Quantity: 1_000_000, Offset: 1_000_000}, ""},
		{SearchInput{Prefix: ""}, SearchRequest{}, "prefix"},
		{SearchInput{Prefix: "41a", Quantity: "x"}, SearchRequest{}, "prefix"}, // prefix is checked first
		{SearchInput{Prefix: "+1415"}, SearchRequest{}, "prefix"},
		{SearchInput{Prefix: "415", Country: "USA"}, SearchRequest{}, "country"},
		{SearchInput{Prefix: "415", Country: "ZZ"}, SearchRequest{}, "country"},
		{SearchInput{Prefix: "415", Country: " US"}, SearchRequest{}, "country"},
		{SearchInput{Prefix: "415", Quantity: "0"}, SearchRequest{}, "quantity"},
		{SearchInput{Prefix: "415", Quantity: "-1"}, SearchRequest{}, "quantity"},
		{SearchInput{Prefix: "415", Quantity: "1.5"}, SearchRequest{}, "quantity"},
		{SearchInput{Prefix: "415", Quantity: "1000001"}, SearchRequest{}, "quantity"},
		{SearchInput{Prefix: "415", Offset: "-1"}, SearchRequest{}, "offset"},
		{SearchInput{Prefix: "415", Offset: "many"}, SearchRequest{}, "offset"},
	} {
		got, err := ParseSearch(tt.in)
		if tt.field != "" {
			wantErr(t, err, knm.ErrInvalid, tt.field)
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseSearch(%+v) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

// TestPrefixPatternMatchesTheRule: the pattern API documents publish accepts exactly the
// prefixes ParseSearch accepts.
func TestPrefixPatternMatchesTheRule(t *testing.T) {
	re := regexp.MustCompile(PrefixPattern)
	for _, p := range []string{"2", "256", "123456789012345", "800*", "8*", " 256 555 ", "2\t5\n6", "", "  ",
		"*", "1234567890123456", "1234567890123456*", "80**", "8*0", "*800", "+1256", "abc", "25a"} {
		_, err := ParseSearch(SearchInput{Prefix: p})
		if re.MatchString(p) != (err == nil) {
			t.Errorf("prefix %q: pattern says %v, ParseSearch says %v", p, re.MatchString(p), err)
		}
	}
}
