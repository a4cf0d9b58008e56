package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestImportErrorsCLI: import errors name the command once, malformed JSON gives its line
// and column, a negative --batch is refused, Kazoo ids that are not numbers are rejected
// by position, and no progress bar is drawn when stderr is not a terminal.
func TestImportErrorsCLI(t *testing.T) {
	t.Parallel()
	db := sqliteDB(t)
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad1.json")
	os.WriteFile(bad, []byte("[\n{\"_id\":\"+14155550101\"},\n{\"_id\": }\n]"), 0o600)
	for _, args := range [][]string{{"config", "import", bad}, {"numbers", "import", bad}} {
		code, _, errs := cli(t, db, args...)
		want := "knm " + strings.Join(args[:2], " ") + ": malformed JSON at line 3, column 9"
		if code == 0 || !strings.HasPrefix(errs, want) || strings.Count(errs, strings.Join(args[:2], " ")) != 1 {
			t.Errorf("knm %v: exit %d, stderr %q, want it to start %q", args, code, errs, want)
		}
	}
	missing := filepath.Join(dir, "missing.csv")
	if code, _, errs := cli(t, db, "numbers", "import", missing); code == 0 ||
		errs != "knm numbers import: open "+missing+": no such file or directory\n" {
		t.Errorf("missing file: exit %d, stderr %q", code, errs)
	}
	csv := filepath.Join(dir, "n.csv")
	os.WriteFile(csv, []byte("number\n+14155550100\n"), 0o600)
	if code, _, errs := cli(t, db, "numbers", "import", csv, "--batch", "-1"); code == 0 ||
		!strings.Contains(errs, "--batch must be positive") {
		t.Errorf("--batch -1: exit %d, stderr %q", code, errs)
	}
	docs := filepath.Join(dir, "docs.json")
	os.WriteFile(docs, []byte(`[{"_id":"_design/x"},{"_id":"bogus"},{"_id":"+14155550102"}]`), 0o600)
	code, out, errs := cli(t, db, "numbers", "import", docs)
	if code != 0 || !strings.Contains(out, "2 document(s): 1 imported, 0 already present, 1 rejected") ||
		!strings.Contains(out, `document 2 bogus: phone_number document _id "bogus" is not an E.164 number`) {
		t.Fatalf("kazoo import: exit %d\n%s%s", code, out, errs)
	}
	if errs != "" {
		t.Errorf("progress drawn on a stderr that is not a terminal: %q", errs)
	}
	if code, _, errs := cli(t, db, "numbers", "show", "bogus"); code == 0 || !strings.Contains(errs, "E.164") {
		t.Errorf("show bogus: exit %d, stderr %q", code, errs)
	}
}
