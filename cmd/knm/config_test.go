package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/knmproject/knm/internal/pgtest"
)

const kazooExport = `[
 {"_id":"number_manager","_rev":"12-9f1c","default":{"carrier_modules":["knm_local","knm_voxbone"],
   "number_search_timeout_ms":10000}},
 {"_id":"number_manager.voxbone","_rev":"2-aa","default":{"api_username":"kazoo","api_password":"hunter2",
   "api_key":"k-123","environment":"sandbox","max_page_size":50},"node1":{"environment":"production"}}
]`

// testConfigImport imports a Kazoo export, then shows it with secrets redacted, key order
// kept and node sections preferred, and changes a key.
func testConfigImport(t *testing.T, db string) {
	file := filepath.Join(t.TempDir(), "export.json")
	if err := os.WriteFile(file, []byte(kazooExport), 0o600); err != nil {
		t.Fatal(err)
	}
	out := mustCLI(t, db, "config", "import", file)
	if !strings.Contains(out, "imported 2 document(s)") {
		t.Fatalf("import said %q", out)
	}
	out = mustCLI(t, db, "config", "get", "number_manager.voxbone")
	for _, want := range []string{`"api_username": "kazoo"`, `"api_password": "***"`, `"api_key": "***"`,
		`"max_page_size": 50`, `"node1"`} {
		if !strings.Contains(out, want) {
			t.Errorf("config get lacks %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, "hunter2") || strings.Contains(out, "k-123") {
		t.Fatalf("secret shown:\n%s", out)
	}
	if strings.Index(out, "api_username") > strings.Index(out, "environment") {
		t.Errorf("key order not kept:\n%s", out)
	}
	if out := mustCLI(t, db, "config", "get", "number_manager.voxbone", "api_password"); strings.Contains(out,
		"hunter2") {
		t.Fatalf("secret key shown: %s", out)
	}
	if out := mustCLI(t, db, "--node", "node1", "config", "get", "number_manager.voxbone",
		"environment"); strings.TrimSpace(out) != `"production"` {
		t.Errorf("node section not preferred: %s", out)
	}
	if out := mustCLI(t, db, "config", "get", "number_manager",
		"number_search_timeout_ms"); strings.TrimSpace(out) != "10000" {
		t.Errorf("timeout = %s", out)
	}
	mustCLI(t, db, "config", "set", "number_manager", "should_age", "true")
	if out := mustCLI(t, db, "config", "get", "number_manager", "should_age"); strings.TrimSpace(out) != "true" {
		t.Errorf("set did not stick: %s", out)
	}
}

func TestConfigImportSQLite(t *testing.T) {
	t.Parallel()
	testConfigImport(t, sqliteDB(t))
}

func TestConfigImportPostgres(t *testing.T) {
	t.Parallel()
	testConfigImport(t, pgtest.FreshSchemaDSN(t))
}

func TestConfigImportErrors(t *testing.T) {
	t.Parallel()
	db := sqliteDB(t)
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte("[\n {\"_id\":\"a\",\"default\":{}},\n {\"_id\": }\n]"), 0o600)
	code, _, errs := cli(t, db, "config", "import", bad)
	if code == 0 || !strings.Contains(errs, "line 3") || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
		t.Fatalf("malformed import: exit %d, stderr %q", code, errs)
	}
	// Nothing was half-imported.
	if code, _, _ := cli(t, db, "config", "get", "a"); code == 0 {
		t.Fatal("document a was imported from a malformed file")
	}
}
