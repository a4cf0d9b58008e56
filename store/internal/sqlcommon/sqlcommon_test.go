package sqlcommon

import (
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/knmproject/knm"
)

func TestPrefixUpperBound(t *testing.T) {
	tests := []struct {
		prefix, bound string
		ok            bool
	}{
		{"+1415", "+1416", true},
		{"+1419", "+141:", true},
		{"+", ",", true},
		{"a\xff", "b", true},
		{"a\xff\xff", "b", true},
		{"\xff\xff", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		bound, ok := PrefixUpperBound(tt.prefix)
		if bound != tt.bound || ok != tt.ok {
			t.Errorf("PrefixUpperBound(%q) = %q, %v; want %q, %v", tt.prefix, bound, ok, tt.bound, tt.ok)
		}
	}
}

func TestLimitOffset(t *testing.T) {
	tests := []struct {
		limit, offset int
		want          string
	}{
		{0, 0, ""},
		{20, 0, " LIMIT 20"},
		{20, 40, " LIMIT 20 OFFSET 40"},
		{0, 40, " LIMIT 4611686018427387904 OFFSET 40"},
	}
	for _, tt := range tests {
		if got := LimitOffset(tt.limit, tt.offset); got != tt.want {
			t.Errorf("LimitOffset(%d, %d) = %q, want %q", tt.limit, tt.offset, got, tt.want)
		}
	}
}

func TestFindNumbersQuery(t *testing.T) {
	owner := "acct"
	f := knm.NumberFilter{AssignedTo: &owner, States: []knm.State{"available", "reserved"}, Prefix: "+1415",
		After: "+14150000000", Limit: 20}
	const cols = `SELECT ` + NumberColumns + ` FROM numbers WHERE `
	tests := []struct {
		name        string
		placeholder func(int) string
		want        string
	}{
		{"SQLite", func(int) string { return "?" },
			cols + `assigned_to = ? AND assigned_to <> '' AND state IN (?, ?) AND number >= ? AND number < ? AND ` +
				`number > ? ORDER BY number LIMIT 20`},
		{"PostgreSQL", func(i int) string { return "$" + strconv.Itoa(i) },
			cols + `assigned_to = $1 AND assigned_to <> '' AND state IN ($2, $3) AND number >= $4 AND number < $5 ` +
				`AND number > $6 ORDER BY number LIMIT 20`},
	}
	for _, tt := range tests {
		q, args := FindNumbersQuery(f, tt.placeholder)
		if q != tt.want {
			t.Errorf("%s: query\n got %s\nwant %s", tt.name, q, tt.want)
		}
		want := []any{"acct", "available", "reserved", "+1415", "+1416", "+14150000000"}
		if !reflect.DeepEqual(args, want) {
			t.Errorf("%s: args = %v, want %v", tt.name, args, want)
		}
	}
}

func TestStamp(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 700_000_000, time.FixedZone("CEST", 2*3600))
	given := time.Date(2020, 1, 2, 3, 4, 5, 600_000_000, time.UTC)
	var created, modified time.Time
	Stamp(now, &created, &modified)
	if want := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC); !created.Equal(want) || created.Location() != time.UTC ||
		!modified.Equal(want) {
		t.Errorf("zero times: got %v, %v; want %v", created, modified, want)
	}
	created = given
	Stamp(now, &created, &modified)
	if want := given.Truncate(time.Second); !created.Equal(want) {
		t.Errorf("given created: got %v, want %v", created, want)
	}
}
