package main

import (
	"context"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// balance returns the emulator's balance line as the CLI prints it.
func balance(t *testing.T, db string) string {
	t.Helper()
	return strings.TrimSpace(mustCLI(t, db, "voxbone", "balance"))
}

// TestSearchSpendsOnlyWhenConfirmed: a search that would buy shows the quote and buys
// only with --yes (or a "y" on a terminal); without a terminal it refuses, --dry-run never
// buys, quantity is checked as REST checks it and the maximum_search_quantity cap is said.
func TestSearchSpendsOnlyWhenConfirmed(t *testing.T) {
	t.Parallel()
	db := sqliteDB(t)
	configureVoxbone(t, db, startEmulator(t))
	const start = "balance 500.00 USD (threshold 100.00, active true)"
	if got := balance(t, db); got != start {
		t.Fatalf("balance: %s", got)
	}
	for _, q := range []string{"0", "-1", "x", "1000001"} {
		if code, _, errs := cli(t, db, "search", "--prefix", "205", "--quantity", q, "--yes"); code == 0 ||
			!strings.Contains(errs, "quantity must be an integer from 1 to 1000000") {
			t.Errorf("--quantity %s: exit %d, stderr %q", q, code, errs)
		}
	}
	code, out, errs := cli(t, db, "search", "--prefix", "205", "--quantity", "3")
	if code == 0 || !strings.Contains(errs, "stdin is not a terminal") || !strings.Contains(errs, "--yes") ||
		!strings.Contains(errs, "would buy 3 DID(s) for 3.00 USD") || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
		t.Fatalf("unconfirmed search: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	out = mustCLI(t, db, "search", "--prefix", "205", "--quantity", "3", "--dry-run")
	if !strings.Contains(out, "would buy 3 DID(s) for 3.00 USD") || !strings.Contains(out, "dry run: nothing bought") {
		t.Fatalf("dry run: %s", out)
	}
	out = mustCLI(t, db, "search", "--prefix", "205", "--quantity", "100000", "--dry-run")
	if !strings.Contains(out, "maximum_search_quantity caps the 100000 number(s) asked at 500") ||
		!strings.Contains(out, "max_order_quantity 20 caps the purchase") {
		t.Fatalf("capped dry run: %s", out)
	}
	if got := balance(t, db); got != start {
		t.Fatalf("refused and dry-run searches spent money: %s", got)
	}
	code, out, errs = cli(t, db, "search", "--prefix", "205", "--quantity", "3", "--yes")
	if code != 0 || !strings.Contains(out, "3 number(s)") || !strings.Contains(errs, "would buy 3 DID(s)") {
		t.Fatalf("confirmed search: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	if got := balance(t, db); !strings.HasPrefix(got, "balance 497.00 USD") {
		t.Fatalf("after buying 3: %s", got)
	}
	// The pool now holds them: nothing to buy, so nothing to confirm.
	if out := mustCLI(t, db, "search", "--prefix", "205", "--quantity", "3"); !strings.Contains(out, "3 number(s)") {
		t.Fatalf("pool search: %s", out)
	}
	if got := balance(t, db); !strings.HasPrefix(got, "balance 497.00 USD") {
		t.Fatalf("a pool search spent money: %s", got)
	}
}

// TestOrderSpendsOnlyWhenConfirmed: voxbone order quotes the group's price and buys only
// with --yes.
func TestOrderSpendsOnlyWhenConfirmed(t *testing.T) {
	t.Parallel()
	db := sqliteDB(t)
	configureVoxbone(t, db, startEmulator(t))
	args := []string{"voxbone", "order", "--group", "1404", "--quantity", "2"}
	code, _, errs := cli(t, db, args...)
	if code == 0 || !strings.Contains(errs, "--yes") || !strings.Contains(errs, "would buy 2 DID(s) of group 1404") {
		t.Fatalf("unconfirmed order: exit %d, stderr %q", code, errs)
	}
	if out := mustCLI(t, db, append(args, "--dry-run")...); !strings.Contains(out, "2.00 USD (balance 500.00 USD)") ||
		!strings.Contains(out, "nothing bought") {
		t.Fatalf("dry run: %s", out)
	}
	if code, _, errs := cli(t, db, "voxbone", "order", "--group", "999999", "--quantity", "1", "--yes"); code == 0 ||
		!strings.Contains(errs, "DID group 999999 of USA not found") {
		t.Fatalf("unknown group: exit %d, stderr %q", code, errs)
	}
	if got := balance(t, db); !strings.HasPrefix(got, "balance 500.00 USD") {
		t.Fatalf("refused orders spent money: %s", got)
	}
	if out := mustCLI(t, db, append(args, "--yes")...); !strings.Contains(out, "imported, 2 of 2 DID(s)") {
		t.Fatalf("confirmed order: %s", out)
	}
	if got := balance(t, db); !strings.HasPrefix(got, "balance 498.00 USD") {
		t.Fatalf("after the order: %s", got)
	}
}

// TestSearchAsksOnTerminal runs knm as a separate process on a pseudo-terminal (util-linux
// script): "n" buys nothing, "y" buys.
func TestSearchAsksOnTerminal(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("script"); err != nil {
		t.Skip("script (util-linux) not installed: no pseudo-terminal to test the question on")
	}
	db := sqliteDB(t)
	configureVoxbone(t, db, startEmulator(t))
	answer := func(reply string) (int, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		knm := shellQuote(os.Args[0]) + " --db " + shellQuote(db) + " search --prefix 256 --quantity 2"
		cmd := exec.CommandContext(ctx, "script", "-qec", knm, "/dev/null")
		cmd.Env = append(os.Environ(), "KNM_TEST_AS_KNM=1")
		cmd.Stdin = strings.NewReader(reply + "\n")
		out, _ := cmd.CombinedOutput()
		return cmd.ProcessState.ExitCode(), string(out)
	}
	code, out := answer("n")
	if code == 0 || !strings.Contains(out, "Buy? [y/N]") || !strings.Contains(out, "not confirmed: nothing bought") {
		t.Fatalf("answer n: exit %d\n%s", code, out)
	}
	if got := balance(t, db); !strings.HasPrefix(got, "balance 500.00 USD") {
		t.Fatalf("a declined search spent money: %s", got)
	}
	if code, out := answer("y"); code != 0 || !strings.Contains(out, "2 number(s)") {
		t.Fatalf("answer y: exit %d\n%s", code, out)
	}
	if got := balance(t, db); !strings.HasPrefix(got, "balance 498.00 USD") {
		t.Fatalf("after a confirmed search: %s", got)
	}
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// TestSearchFailureSaysWhy: a search that gets fewer numbers than asked because a carrier
// failed exits non-zero and names the cause (connection refused, authentication failed)
// without -v, also when the carrier only timed out.
func TestSearchFailureSaysWhy(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String() + "/ws-voxbone/services/rest"
	ln.Close() // nothing listens there any more: connection refused

	db := sqliteDB(t)
	configureVoxbone(t, db, dead)
	mustCLI(t, db, "config", "set", "number_manager", "number_search_timeout_ms", "300")
	code, _, errs := cli(t, db, "search", "--prefix", "205", "--quantity", "2", "--yes")
	if code == 0 || !strings.Contains(errs, "connection refused") ||
		!strings.Contains(errs, "0 of 2 number(s) found; carrier(s) failed: knm_voxbone") {
		t.Fatalf("Voxbone down: exit %d, stderr %q", code, errs)
	}

	db = sqliteDB(t)
	configureVoxbone(t, db, startEmulator(t))
	mustCLI(t, db, "config", "set", "number_manager.voxbone", "password", `"wr0ng-pw"`)
	code, _, errs = cli(t, db, "search", "--prefix", "205", "--quantity", "2", "--yes")
	if code == 0 || !strings.Contains(errs, "Authentication failed") || strings.Contains(errs, "wr0ng-pw") {
		t.Fatalf("wrong password: exit %d, stderr %q", code, errs)
	}
}
