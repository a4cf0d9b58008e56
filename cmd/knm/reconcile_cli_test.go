package main

import (
	"strings"
	"testing"
)

// TestDeleteAndReconcileSayWhatToDo: deleting a Voxbone number warns that it is still
// billed and how to take it back; reconcile --import says why it is not imported again,
// and its advice works. Numbers Voxbone no longer has are offered by searches until
// reconcile --fix (confirmed) takes them out of the pool.
func TestDeleteAndReconcileSayWhatToDo(t *testing.T) {
	t.Parallel()
	db := sqliteDB(t)
	configureVoxbone(t, db, startEmulator(t))
	out := mustCLI(t, db, "voxbone", "order", "--group", "1404", "--quantity", "1", "--yes")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	num := lines[len(lines)-1]
	if !strings.HasPrefix(num, "+1205") {
		t.Fatalf("order: %s", out)
	}
	code, _, errs := cli(t, db, "numbers", "delete", num)
	if code != 0 || !strings.Contains(errs, "still held and billed at Voxbone") ||
		!strings.Contains(errs, "knm numbers create "+num+" --module knm_voxbone --state available") {
		t.Fatalf("delete: exit %d, stderr %q", code, errs)
	}
	out = mustCLI(t, db, "voxbone", "reconcile", "--import")
	if !strings.Contains(out, "0 imported") || !strings.Contains(out, "deleted from knm after its order imported it") ||
		!strings.Contains(out, "take it back with: knm numbers create "+num) {
		t.Fatalf("reconcile --import: %s", out)
	}
	mustCLI(t, db, "numbers", "create", num, "--module", "knm_voxbone", "--state", "available")
	if out := mustCLI(t, db, "voxbone", "reconcile"); !strings.HasPrefix(out,
		"0 DID(s) at Voxbone unknown to knm, 0 knm number(s) Voxbone no longer has") {
		t.Fatalf("after taking it back: %s", out)
	}

	// A knm_voxbone number the account does not have: the pool would sell it.
	const ghost = "+12055550123"
	mustCLI(t, db, "numbers", "create", ghost, "--module", "knm_voxbone", "--state", "available")
	// It is reported once, as missing; reconcile exits 1 as the pool still offers it.
	code, out, _ = cli(t, db, "voxbone", "reconcile")
	if code == 0 || !strings.Contains(out, "missing at Voxbone: "+ghost) || !strings.Contains(out, "--fix takes") {
		t.Fatalf("reconcile: exit %d, %s", code, out)
	}
	if out := mustCLI(t, db, "search", "--prefix", "2055550", "--dry-run"); !strings.Contains(out, ghost) {
		t.Fatalf("the pool does not offer the missing number before the fix: %s", out)
	}
	if code, _, errs := cli(t, db, "voxbone", "reconcile", "--fix"); code == 0 ||
		!strings.Contains(errs, "numbers not marked") || !strings.Contains(errs, "--yes") {
		t.Fatalf("unconfirmed fix: exit %d, stderr %q", code, errs)
	}
	if out := mustCLI(t, db, "numbers", "show", ghost); !strings.Contains(out, `"pvt_state": "available"`) {
		t.Fatalf("an unconfirmed fix changed the number: %s", out)
	}
	_, out, _ = cli(t, db, "voxbone", "reconcile", "--fix", "--yes")
	if !strings.Contains(out, "marked released (out of the pool): "+ghost) || !strings.Contains(out, "1 number(s) marked") {
		t.Fatalf("fix: %s", out)
	}
	if out := mustCLI(t, db, "search", "--prefix", "2055550", "--dry-run"); strings.Contains(out, ghost) {
		t.Fatalf("the pool still offers the missing number: %s", out)
	}
}
