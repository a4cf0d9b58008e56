package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestFailuresAreOneLine: every failing command exits non-zero with one line on stderr
// that names the command.
func TestFailuresAreOneLine(t *testing.T) {
	t.Parallel()
	db := sqliteDB(t)
	dir := t.TempDir()
	for _, args := range [][]string{
		{"config", "import", filepath.Join(dir, "missing.json")},
		{"config", "set", "number_manager", "should_age", "not-json"},
		{"config", "get", "nope"},
		{"numbers", "show", "+15550000000"},
		{"numbers", "activate", "+15550000000"},
		{"numbers", "list", "--state", "bogus"},
		{"search", "--prefix", "abc"},
		{"search", "--prefix", "415", "--quantity", "0"}, // refused as REST refuses quantity=0
		{"search", "--prefix", "415", "--country", "ZZ"},
		{"accounts", "create", "x", "--parent", "nope"},
		{"bogus-command"},
		{"numbers"},
		{"numbers", "bogus"},
		{"numbers", "show"},
		{"numbers", "list", "--account", "nothex"},
		{"numbers", "create", "+14155550777"},
		{"voxbone", "groups", "--country", "USA", "--area-code", "abc"},
	} {
		code, out, errs := cli(t, db, args...)
		if code == 0 {
			t.Errorf("knm %v: exit 0, want failure (stdout %q)", args, out)
		}
		if lines := strings.Count(strings.TrimSpace(errs), "\n"); lines != 0 || !strings.HasPrefix(errs, "knm") {
			t.Errorf("knm %v: want one clear line on stderr, got %q", args, errs)
		}
	}
	if code, _, errs := cli(t, "mysql://x", "config", "get", "number_manager"); code == 0 || !strings.Contains(errs,
		"unsupported database") {
		t.Errorf("bad --db: %d %q", code, errs)
	}
}
