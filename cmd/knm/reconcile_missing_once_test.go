package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestReconcileReportsMissingOnce: a number Voxbone no longer has is reported once, as
// missing, never also as a routing error. reconcile exits 1 while such a number is in the
// pool or assigned, and 0 once --fix has taken it out of the pool; an assigned one stays
// to act on after --fix.
func TestReconcileReportsMissingOnce(t *testing.T) {
	t.Parallel()
	db := sqliteDB(t)
	configureVoxbone(t, db, startEmulator(t))
	mustCLI(t, db, "voxbone", "order", "--group", "1404", "--quantity", "1", "--yes")
	if code, out, errs := cli(t, db, "voxbone", "reconcile"); code != 0 {
		t.Fatalf("reconcile of a consistent account: exit %d, %s %s", code, out, errs)
	}

	const ghost = "+12055550123"
	mustCLI(t, db, "numbers", "create", ghost, "--module", "knm_voxbone", "--state", "available")
	code, out, errs := cli(t, db, "voxbone", "reconcile")
	if code == 0 || strings.Count(out, ghost) != 1 || !strings.Contains(out, "missing at Voxbone: "+ghost) ||
		strings.Contains(out, "error:") || strings.Contains(out+errs, "no such DID") ||
		!strings.Contains(errs, "reconcile --fix") {
		t.Fatalf("reconcile: exit %d, stdout %s, stderr %s", code, out, errs)
	}
	code, out, errs = cli(t, db, "--json", "voxbone", "reconcile")
	var rep struct {
		Numbers struct {
			Missing []string `json:"missing_at_voxbone"`
		} `json:"numbers"`
		Routing struct {
			Errors []string `json:"errors"`
		} `json:"routing"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code == 0 || len(rep.Numbers.Missing) != 1 ||
		len(rep.Routing.Errors) != 0 {
		t.Fatalf("--json reconcile: exit %d, %+v, %v, %s", code, rep, err, errs)
	}

	code, out, errs = cli(t, db, "voxbone", "reconcile", "--fix", "--yes")
	if code != 0 || !strings.Contains(out, "marked released (out of the pool): "+ghost) {
		t.Fatalf("fix: exit %d, stdout %s, stderr %s", code, out, errs)
	}
	code, out, errs = cli(t, db, "voxbone", "reconcile")
	if code != 0 || !strings.Contains(out, "released in knm (nothing to do): "+ghost) || strings.Contains(out, "--fix takes") {
		t.Fatalf("after the fix: exit %d, stdout %s, stderr %s", code, out, errs)
	}

	// One assigned to an account: --fix leaves it alone, so there is still something to do.
	acct := strings.TrimSpace(mustCLI(t, db, "accounts", "create", "Acme"))
	const held = "+12055550124"
	mustCLI(t, db, "numbers", "create", held, "--module", "knm_voxbone", "--state", "in_service", "--account", acct)
	code, out, errs = cli(t, db, "voxbone", "reconcile", "--fix", "--yes")
	if code == 0 || !strings.Contains(out, "left alone: "+held) || strings.Count(out, held) != 2 ||
		!strings.Contains(errs, "check the assigned ones with Voxbone") {
		t.Fatalf("fix with an assigned number: exit %d, stdout %s, stderr %s", code, out, errs)
	}
}
