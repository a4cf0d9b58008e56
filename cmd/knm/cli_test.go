package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/knmproject/knm/internal/pgtest"
)

// cli runs knm in-process against db and returns its exit code, stdout and stderr.
func cli(t *testing.T, db string, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	env := func(string) string { return "" }
	code := run(ctx, append([]string{"--db", db}, args...), strings.NewReader(""), &out, &errb, env)
	return code, out.String(), errb.String()
}

// mustCLI runs knm and fails the test unless it exits 0.
func mustCLI(t *testing.T, db string, args ...string) string {
	t.Helper()
	code, out, errs := cli(t, db, args...)
	if code != 0 {
		t.Fatalf("knm %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

func sqliteDB(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "knm.db") }

const kazooExport = `[
 {"_id":"number_manager","_rev":"12-9f1c","default":{"carrier_modules":["knm_local","knm_voxbone"],"number_search_timeout_ms":10000}},
 {"_id":"number_manager.voxbone","_rev":"2-aa","default":{"api_username":"kazoo","api_password":"hunter2","api_key":"k-123","environment":"sandbox","max_page_size":50},"node1":{"environment":"production"}}
]`

// testConfigImport is the foundation issue's acceptance case: import a Kazoo export, then
// show it with secrets redacted and key order kept.
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
	for _, want := range []string{`"api_username": "kazoo"`, `"api_password": "***"`, `"api_key": "***"`, `"max_page_size": 50`, `"node1"`} {
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
	if out := mustCLI(t, db, "config", "get", "number_manager.voxbone", "api_password"); strings.Contains(out, "hunter2") {
		t.Fatalf("secret key shown: %s", out)
	}
	if out := mustCLI(t, db, "--node", "node1", "config", "get", "number_manager.voxbone", "environment"); strings.TrimSpace(out) != `"production"` {
		t.Errorf("node section not preferred: %s", out)
	}
	if out := mustCLI(t, db, "config", "get", "number_manager", "number_search_timeout_ms"); strings.TrimSpace(out) != "10000" {
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
	for _, args := range [][]string{
		{"config", "import", filepath.Join(dir, "missing.json")},
		{"config", "set", "number_manager", "should_age", "not-json"},
		{"config", "get", "nope"},
		{"numbers", "show", "+15550000000"},
		{"numbers", "activate", "+15550000000"},
		{"numbers", "list", "--state", "bogus"},
		{"search", "--prefix", "abc"},
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
	if code, _, errs := cli(t, "mysql://x", "config", "get", "number_manager"); code == 0 || !strings.Contains(errs, "unsupported database") {
		t.Errorf("bad --db: %d %q", code, errs)
	}
}

func TestNumbersLifecycleCLI(t *testing.T) {
	t.Parallel()
	db := sqliteDB(t)
	reseller := strings.TrimSpace(mustCLI(t, db, "accounts", "create", "Reseller", "--reseller"))
	child := strings.TrimSpace(mustCLI(t, db, "accounts", "create", "Child", "--parent", reseller))
	if out := mustCLI(t, db, "accounts", "list"); !strings.Contains(out, reseller) || !strings.Contains(out, child) {
		t.Fatalf("accounts list:\n%s", out)
	}
	csv := filepath.Join(t.TempDir(), "n.csv")
	os.WriteFile(csv, []byte("number,state\n+14155550100,available\n+14155550101,\nnot-a-number,\n+14155550100,\n"), 0o600)
	out := mustCLI(t, db, "numbers", "import", csv)
	if !strings.Contains(out, "4 row(s): 2 imported, 0 already present, 2 rejected") {
		t.Fatalf("import: %s", out)
	}
	if out := mustCLI(t, db, "numbers", "import", csv); !strings.Contains(out, "0 imported, 2 already present") {
		t.Fatalf("second import: %s", out)
	}
	mustCLI(t, db, "config", "set", "number_manager", "carrier_modules", `["knm_local","knm_inventory"]`)
	out = mustCLI(t, db, "search", "--prefix", "415", "--quantity", "5", "--account", child)
	if !strings.Contains(out, "+14155550100\tavailable") || !strings.Contains(out, "2 number(s)") {
		t.Fatalf("search: %s", out)
	}
	if out := mustCLI(t, db, "numbers", "activate", "+14155550100", "--account", child); !strings.Contains(out, `"pvt_state": "in_service"`) {
		t.Fatalf("activate: %s", out)
	}
	if out := mustCLI(t, db, "numbers", "list", "--account", child); !strings.Contains(out, "+14155550100  in_service") {
		t.Fatalf("list: %s", out)
	}
	if out := mustCLI(t, db, "numbers", "release", "+14155550100"); !strings.Contains(out, `"pvt_state": "available"`) {
		t.Fatalf("release: %s", out)
	}
	if out := mustCLI(t, db, "numbers", "reserve", "+14155550101", "--account", reseller); !strings.Contains(out, `"pvt_state": "reserved"`) {
		t.Fatalf("reserve: %s", out)
	}
	// A local number is deleted on release (Kazoo), which the CLI reports as "deleted".
	mustCLI(t, db, "numbers", "create", "+14155550198", "--state", "in_service", "--account", child, "--module", "knm_local")
	if out := mustCLI(t, db, "numbers", "release", "+14155550198"); !strings.Contains(out, `"pvt_state": "deleted"`) {
		t.Fatalf("release of a local number: %s", out)
	}
	mustCLI(t, db, "numbers", "create", "+14155550199", "--state", "available")
	mustCLI(t, db, "numbers", "delete", "+14155550199")
	if code, _, _ := cli(t, db, "numbers", "show", "+14155550199"); code == 0 {
		t.Fatal("deleted number still shown")
	}
	if out := mustCLI(t, db, "--json", "numbers", "list", "--state", "available"); !strings.Contains(out, `"total": 1`) {
		t.Fatalf("json list: %s", out)
	}
}

func TestImportKazooDocs(t *testing.T) {
	t.Parallel()
	db := sqliteDB(t)
	dir := t.TempDir()
	all := filepath.Join(dir, "numbers.json")
	os.WriteFile(all, []byte(`{"total_rows":4,"rows":[
	 {"id":"_design/numbers","doc":{"_id":"_design/numbers","views":{}}},
	 {"id":"+14158867900","doc":{"_id":"+14158867900","_rev":"5-x","pvt_state":"in_service","pvt_assigned_to":"0123456789abcdef0123456789abcdef","pvt_module_name":"wnm_bandwidth","pvt_created":63658800000,"pvt_modified":63658800000,"cnam":{"display_name":"ACME"}}},
	 {"id":"+14158867901","doc":{"_id":"+14158867901","pvt_number_state":"available","pvt_module_name":"knm_voxbone","pvt_carrier_data":{"didId":42}}},
	 {"id":"+14158867902","doc":{"_id":"+14158867902","pvt_state":"bogus"}}]}`), 0o600)
	out := mustCLI(t, db, "numbers", "import", all)
	if !strings.Contains(out, "3 document(s): 2 imported, 0 already present, 1 rejected") || !strings.Contains(out, "document 4 +14158867902") {
		t.Fatalf("import: %s", out)
	}
	if out := mustCLI(t, db, "numbers", "import", all); !strings.Contains(out, "0 imported, 2 already present") {
		t.Fatalf("second import: %s", out)
	}
	out = mustCLI(t, db, "numbers", "show", "+14158867900")
	for _, want := range []string{`"pvt_module_name": "knm_bandwidth2"`, `"pvt_created": 63658800000`, `"display_name": "ACME"`, `"pvt_state": "in_service"`} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %s:\n%s", want, out)
		}
	}
	if out := mustCLI(t, db, "numbers", "show", "+14158867901"); !strings.Contains(out, `"didId": 42`) || !strings.Contains(out, `"pvt_state": "available"`) {
		t.Errorf("legacy state or carrier data lost:\n%s", out)
	}
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"rows":[{"id":"x"}]}`), 0o600)
	if code, _, errs := cli(t, db, "numbers", "import", bad); code == 0 || !strings.Contains(errs, "include_docs") {
		t.Fatalf("rows without docs: %d %q", code, errs)
	}
}
