package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSQLitePathErrorsOnARealDatabase: a database in a missing directory, and one the process
// cannot write, each give one error line naming the path and what to do, saying the cause once.
func TestSQLitePathErrorsOnARealDatabase(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	missing := "sqlite:" + filepath.Join(dir, "no", "such", "knm.db")
	oneLineErr(t, missing, []string{"numbers", "list"}, filepath.Join(dir, "no", "such"), "mkdir -p")

	file := filepath.Join(dir, "ro.db")
	db := "sqlite:" + file
	mustCLI(t, db, "numbers", "list")
	// chattr +i makes the file read-only even for root, who ignores permission bits.
	if out, err := exec.Command("chattr", "+i", file).CombinedOutput(); err != nil {
		t.Skipf("chattr +i is not available here (%v: %s); the read-only case is covered by TestSQLiteHint",
			err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() { exec.Command("chattr", "-i", file).Run() })
	create := []string{"numbers", "create", "+14155550100", "--state", "available"}
	oneLineErr(t, db, create, file+" is read-only", "writable")
	for _, args := range [][]string{create, {"voxbone", "balance"}} {
		if _, _, errs := cli(t, db, args...); strings.Count(errs, "readonly database") != 1 {
			t.Errorf("knm %v: the store's refusal should be said once: %q", args, errs)
		}
	}
}
