package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestNumbersLifecycleCLI(t *testing.T) {
	t.Parallel()
	db := sqliteDB(t)
	reseller := strings.TrimSpace(mustCLI(t, db, "accounts", "create", "Reseller", "--reseller"))
	child := strings.TrimSpace(mustCLI(t, db, "accounts", "create", "Child", "--parent", reseller))
	if out := mustCLI(t, db, "accounts", "list"); !strings.Contains(out, reseller) || !strings.Contains(out, child) {
		t.Fatalf("accounts list:\n%s", out)
	}
	csv := filepath.Join(t.TempDir(), "n.csv")
	os.WriteFile(csv, []byte("number,state\n+14155550100,available\n+14155550101,\nnot-a-number,\n+14155550100,\n"),
		0o600)
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
	if out := mustCLI(t, db, "numbers", "activate", "+14155550100", "--account", child); !strings.Contains(out,
		`"pvt_state": "in_service"`) {
		t.Fatalf("activate: %s", out)
	}
	if out := mustCLI(t, db, "numbers", "list", "--account", child); !strings.Contains(out,
		"+14155550100  in_service") {
		t.Fatalf("list: %s", out)
	}
	if out := mustCLI(t, db, "numbers", "release", "+14155550100"); !strings.Contains(out, `"pvt_state": "available"`) {
		t.Fatalf("release: %s", out)
	}
	if out := mustCLI(t, db, "numbers", "reserve", "+14155550101", "--account", reseller); !strings.Contains(out,
		`"pvt_state": "reserved"`) {
		t.Fatalf("reserve: %s", out)
	}
	// A local number is deleted on release (Kazoo), which the CLI reports as "deleted".
	mustCLI(t, db, "numbers", "create", "+14155550198", "--state", "in_service", "--account", child, "--module",
		"knm_local")
	if out := mustCLI(t, db, "numbers", "release", "+14155550198"); !strings.Contains(out, `"pvt_state": "deleted"`) {
		t.Fatalf("release of a local number: %s", out)
	}
	mustCLI(t, db, "numbers", "create", "+14155550199", "--state", "available")
	mustCLI(t, db, "numbers", "delete", "+14155550199")
	if code, _, _ := cli(t, db, "numbers", "show", "+14155550199"); code == 0 {
		t.Fatal("deleted number still shown")
	}
	if out := mustCLI(t, db, "--json", "numbers", "list", "--state", "available"); !strings.Contains(out,
		`"total": 1`) {
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
	 {"id":"+14158867900","doc":{"_id":"+14158867900","_rev":"5-x","pvt_state":"in_service",
	   "pvt_assigned_to":"0123456789abcdef0123456789abcdef","pvt_module_name":"wnm_bandwidth",
	     "pvt_created":63658800000,"pvt_modified":63658800000,"cnam":{"display_name":"ACME"}}},
	 {"id":"+14158867901","doc":{"_id":"+14158867901","pvt_number_state":"available","pvt_module_name":"knm_voxbone",
	   "pvt_carrier_data":{"didId":42}}},
	 {"id":"+14158867902","doc":{"_id":"+14158867902","pvt_state":"bogus"}}]}`), 0o600)
	out := mustCLI(t, db, "numbers", "import", all)
	if !strings.Contains(out, "3 document(s): 2 imported, 0 already present, 1 rejected") || !strings.Contains(out,
		"document 4 +14158867902") {
		t.Fatalf("import: %s", out)
	}
	if out := mustCLI(t, db, "numbers", "import", all); !strings.Contains(out, "0 imported, 2 already present") {
		t.Fatalf("second import: %s", out)
	}
	out = mustCLI(t, db, "numbers", "show", "+14158867900")
	for _, want := range []string{`"pvt_module_name": "knm_bandwidth2"`, `"pvt_created": 63658800000`,
		`"display_name": "ACME"`, `"pvt_state": "in_service"`} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %s:\n%s", want, out)
		}
	}
	if out := mustCLI(t, db, "numbers", "show", "+14158867901"); !strings.Contains(out, `"didId": 42`) ||
		!strings.Contains(out, `"pvt_state": "available"`) {
		t.Errorf("pvt_number_state or carrier data lost:\n%s", out)
	}
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"rows":[{"id":"x"}]}`), 0o600)
	if code, _, errs := cli(t, db, "numbers", "import", bad); code == 0 || !strings.Contains(errs, "include_docs") {
		t.Fatalf("rows without docs: %d %q", code, errs)
	}
}
