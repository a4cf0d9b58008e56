package main

import (
	"strings"
	"testing"
)

// TestNumbersRefuseUnknownAccounts: create, activate and reserve refuse an account that
// does not exist, as search --account does, and store nothing.
func TestNumbersRefuseUnknownAccounts(t *testing.T) {
	t.Parallel()
	db := sqliteDB(t)
	const ghost = "0123456789abcdef0123456789abcdef"
	mustCLI(t, db, "numbers", "create", "+14155550100", "--state", "available")
	for _, args := range [][]string{
		{"numbers", "create", "+14155550101", "--account", ghost},
		{"numbers", "activate", "+14155550100", "--account", ghost},
		{"numbers", "reserve", "+14155550100", "--account", ghost},
		{"search", "--prefix", "415", "--account", ghost},
	} {
		code, _, errs := cli(t, db, args...)
		if code == 0 || !strings.Contains(errs, "account "+ghost+" not found") {
			t.Errorf("knm %v: exit %d, stderr %q", args, code, errs)
		}
	}
	if out := mustCLI(t, db, "numbers", "list"); !strings.Contains(out, "1 of 1 number(s)") ||
		!strings.Contains(out, "+14155550100  available") {
		t.Fatalf("a refused command changed the numbers:\n%s", out)
	}
}

// TestNumberCheckedFirst: a number that is not E.164 is named first, with the form knm
// expects, before any complaint about other flags.
func TestNumberCheckedFirst(t *testing.T) {
	t.Parallel()
	db := sqliteDB(t)
	for _, args := range [][]string{
		{"numbers", "create", "12345"},
		{"numbers", "activate", "12345"},
		{"numbers", "show", "12345"},
	} {
		code, _, errs := cli(t, db, args...)
		if code == 0 || !strings.Contains(errs, "number 12345 is not a phone number knm can normalise") ||
			!strings.Contains(errs, "+14155550100") || strings.Contains(errs, "--account") ||
			strings.Contains(errs, "reconcilable") {
			t.Errorf("knm %v: exit %d, stderr %q", args, code, errs)
		}
	}
}
