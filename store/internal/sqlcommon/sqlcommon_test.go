package sqlcommon

import "testing"

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
