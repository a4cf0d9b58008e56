package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigSetRefusesInternalCategories: knm config set (system or --account) and import
// refuse knm's internal state (knm.auth, knm.web) with one clear line and a non-zero exit,
// and change nothing; knm.*
// categories registered as settings (knm.events) stay writable, validated.
func TestConfigSetRefusesInternalCategories(t *testing.T) {
	t.Parallel()
	db := sqliteDB(t)
	mustCLI(t, db, "config", "set", "knm.events", "retention_days", "7")
	code, _, errOut := cli(t, db, "config", "set", "knm.events", "retention_days", "0")
	if code == 0 || !strings.Contains(errOut, "retention_days") {
		t.Fatalf("invalid knm.events: exit %d, %q", code, errOut)
	}
	code, _, errOut = cli(t, db, "config", "set", "knm.auth", "master_account_id", `"x"`)
	if code == 0 || !strings.Contains(errOut, "knm.auth is knm's internal state") || strings.Count(errOut, "\n") != 1 {
		t.Fatalf("config set knm.auth: exit %d, %q", code, errOut)
	}
	code, _, errOut = cli(t, db, "config", "set", "--account", strings.Repeat("a", 32), "knm.web", "x", "1")
	if code == 0 || !strings.Contains(errOut, "knm.web is knm's internal state") {
		t.Fatalf("config set --account knm.web: exit %d, %q", code, errOut)
	}
	file := filepath.Join(t.TempDir(), "export.json")
	doc := `[{"_id":"number_manager","default":{"should_age":true}},{"_id":"knm.auth","default":{}}]`
	if err := os.WriteFile(file, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = cli(t, db, "config", "import", file)
	if code == 0 || !strings.Contains(errOut, "document 2") || !strings.Contains(errOut, "internal state") {
		t.Fatalf("config import of knm.auth: exit %d, %q", code, errOut)
	}
	if code, out, _ := cli(t, db, "config", "get", "number_manager", "should_age"); code == 0 {
		t.Fatalf("a refused import stored its other documents: should_age %s", out)
	}
}
