package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNumbersExportReimports: numbers export writes CSV and Kazoo JSON that numbers
// import reads back into another database with the same numbers, states, owners and
// carrier data.
func TestNumbersExportReimports(t *testing.T) {
	t.Parallel()
	db := sqliteDB(t)
	acct := strings.TrimSpace(mustCLI(t, db, "accounts", "create", "Acme"))
	dir := t.TempDir()
	docs := filepath.Join(dir, "in.json")
	os.WriteFile(docs, []byte(`[{"_id":"+14155550100","pvt_state":"in_service","pvt_assigned_to":"`+acct+`",
	  "pvt_module_name":"knm_voxbone","pvt_carrier_data":{"didId":42},"cnam":{"display_name":"ACME"}},
	  {"_id":"+14155550101","pvt_state":"available"}]`), 0o600)
	mustCLI(t, db, "numbers", "import", docs)
	want := mustCLI(t, db, "numbers", "list")

	for _, format := range []string{"csv", "json"} {
		out := mustCLI(t, db, "numbers", "export", "--format", format)
		file := filepath.Join(dir, "export."+format)
		os.WriteFile(file, []byte(out), 0o600)
		other := sqliteDB(t)
		mustCLI(t, other, "accounts", "create", "Acme") // a different id: owners are kept as written
		if out := mustCLI(t, other, "numbers", "import", file); !strings.Contains(out, "2 imported") {
			t.Fatalf("%s re-import: %s\nfile:\n%s", format, out, file)
		}
		if got := mustCLI(t, other, "numbers", "list"); got != want {
			t.Errorf("%s round trip:\n%s\nwant\n%s", format, got, want)
		}
		if got := mustCLI(t, other, "numbers", "show", "+14155550100"); !strings.Contains(got, `"didId": 42`) {
			t.Errorf("%s round trip lost the carrier data:\n%s", format, got)
		}
	}
	if out := mustCLI(t, db, "numbers", "export", "--state", "available"); strings.Count(out, "\n") != 2 {
		t.Errorf("export --state available:\n%s", out)
	}
	if code, _, errs := cli(t, db, "numbers", "export", "--format", "xml"); code == 0 || !strings.Contains(errs,
		"csv or json") {
		t.Errorf("--format xml: exit %d, stderr %q", code, errs)
	}
}

// TestVoxboneOrdersCLI: orders lists the journal's orders, filtered by state, and shows
// one; an unknown state or order is one clear line.
func TestVoxboneOrdersCLI(t *testing.T) {
	t.Parallel()
	db := sqliteDB(t)
	configureVoxbone(t, db, startEmulator(t))
	out := mustCLI(t, db, "voxbone", "order", "--group", "1404", "--quantity", "1", "--idempotency-key", "o1", "--yes")
	id := strings.Fields(out)[1]
	id = strings.TrimSuffix(id, ":")
	if out := mustCLI(t, db, "voxbone", "orders"); !strings.Contains(out, id+"  imported") ||
		!strings.Contains(out, "1 order(s)") || !strings.Contains(out, "o1") ||
		!strings.Contains(out, "(ended: its lease was released or pruned)") {
		t.Fatalf("orders: %s", out)
	}
	if out := mustCLI(t, db, "voxbone", "orders", "--state", "failed"); !strings.Contains(out, "0 order(s)") {
		t.Fatalf("orders --state failed: %s", out)
	}
	if out := mustCLI(t, db, "voxbone", "orders", "show", id); !strings.Contains(out, `"state": "imported"`) ||
		!strings.Contains(out, `"idempotency_key": "o1"`) {
		t.Fatalf("orders show: %s", out)
	}
	oneLineErr(t, db, []string{"voxbone", "orders", "--state", "bogus"}, "not an order state")
	oneLineErr(t, db, []string{"voxbone", "orders", "show", "knm-nope"}, "not found")
}
