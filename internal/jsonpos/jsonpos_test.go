package jsonpos

import "testing"

func TestPosition(t *testing.T) {
	t.Parallel()
	data := []byte("ab\ncd\nef")
	for _, tt := range []struct {
		off       int64
		line, col int
	}{{1, 1, 1}, {2, 1, 2}, {4, 2, 1}, {5, 2, 2}, {8, 3, 2}, {0, 1, 1}, {99, 3, 3}} {
		if l, c := position(data, tt.off); l != tt.line || c != tt.col {
			t.Errorf("position(%d) = %d:%d, want %d:%d", tt.off, l, c, tt.line, tt.col)
		}
	}
}

func TestSyntax(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in        string
		line, col int
		bad       bool
	}{
		{`{"a":1}`, 0, 0, false},
		{"[\n{\"_id\":\"+1415\"},\n{\"_id\": }\n]", 3, 9, true},
		{`{"a":`, 1, 6, true},
	} {
		line, col, _, bad := Syntax([]byte(tt.in))
		if bad != tt.bad || line != tt.line || col != tt.col {
			t.Errorf("Syntax(%q) = %d:%d %v, want %d:%d %v", tt.in, line, col, bad, tt.line, tt.col, tt.bad)
		}
	}
}
