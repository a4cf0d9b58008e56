package main

import (
	"bufio"
	"context"
	"io"
	"strings"
	"testing"
	"time"
)

// startEmulatorCLI runs `knm voxbone emulate` in-process on a free loopback port and
// returns its base_url.
func startEmulatorCLI(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan int)
	go func() {
		var errb strings.Builder
		done <- run(ctx, append([]string{"voxbone", "emulate", "--listen", "127.0.0.1:0"}, args...),
			strings.NewReader(""), pw, &errb, func(string) string { return "" })
		pw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("emulator did not stop")
		}
	})
	line, err := bufio.NewReader(pr).ReadString('\n')
	go io.Copy(io.Discard, pr)
	if err != nil {
		t.Fatal(err)
	}
	_, base, ok := strings.Cut(strings.TrimSpace(line), "base_url ")
	if !ok {
		t.Fatalf("emulate printed %q", line)
	}
	return base
}

func TestVoxboneCLI(t *testing.T) {
	t.Parallel()
	base := startEmulatorCLI(t, "--username", "knm", "--password", "s3cret", "--seed", "7")
	db := sqliteDB(t)
	mustCLI(t, db, "config", "set", "number_manager.voxbone", "base_url", `"`+base+`"`)
	mustCLI(t, db, "config", "set", "number_manager.voxbone", "username", `"knm"`)

	// Wrong credentials: one clear line, non-zero exit, and the password never printed.
	mustCLI(t, db, "config", "set", "number_manager.voxbone", "password", `"wrong-pass"`)
	code, out, errs := cli(t, db, "voxbone", "balance")
	if code == 0 || !strings.Contains(errs, "401") || strings.Contains(errs+out, "wrong-pass") {
		t.Fatalf("bad credentials: exit %d, stderr %q", code, errs)
	}

	mustCLI(t, db, "config", "set", "number_manager.voxbone", "password", `"s3cret"`)
	if out := mustCLI(t, db, "voxbone", "balance"); !strings.Contains(out, "balance 500.00 USD") {
		t.Fatalf("balance: %s", out)
	}
	out = mustCLI(t, db, "voxbone", "groups", "--country", "USA", "--area-code", "205")
	if !strings.Contains(out, "23 group(s)") || !strings.Contains(out, "BIRMINGHAM") {
		t.Fatalf("groups 205: %s", out)
	}
	out = mustCLI(t, db, "voxbone", "groups", "--country", "US", "--type", "toll_free")
	if !strings.Contains(out, "TOLL_FREE") || strings.Contains(out, "GEOGRAPHIC") {
		t.Fatalf("toll-free groups: %s", out)
	}
	out = mustCLI(t, db, "--json", "voxbone", "groups", "--country", "USA", "--area-code", "205")
	if !strings.Contains(out, `"didGroupId": 1404`) {
		t.Fatalf("json groups: %s", out)
	}
	for _, args := range [][]string{
		{"voxbone", "groups"},
		{"voxbone", "groups", "--country", "XX"},
		{"voxbone", "groups", "--country", "USA", "--type", "WEIRD"},
	} {
		if code, _, errs := cli(t, db, args...); code == 0 || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
			t.Errorf("knm %v: exit %d, stderr %q", args, code, errs)
		}
	}
	// Native, idempotent ordering: the repeat buys nothing.
	out = mustCLI(t, db, "voxbone", "order", "--group", "1404", "--quantity", "2", "--idempotency-key", "cli-1",
		"--yes")
	if !strings.Contains(out, ": imported, 2 of 2 DID(s)") || strings.Count(out, "+1205") != 2 {
		t.Fatalf("order: %s", out)
	}
	again := mustCLI(t, db, "voxbone", "order", "--group", "1404", "--quantity", "2", "--idempotency-key", "cli-1",
		"--yes")
	if !strings.Contains(again, "nothing bought") || strings.Split(again, "\n")[1] != strings.Split(out, "\n")[1] {
		t.Fatalf("repeat: %s", again)
	}
	if out := mustCLI(t, db, "voxbone", "balance"); !strings.Contains(out, "balance 498.00 USD") {
		t.Fatalf("the repeat spent money: %s", out)
	}
	if out := mustCLI(t, db, "numbers", "list", "--state", "available"); !strings.Contains(out, "2 of 2 number(s)") ||
		!strings.Contains(out, "knm_voxbone") {
		t.Fatalf("ordered numbers not stored: %s", out)
	}
	if out := mustCLI(t, db, "voxbone", "reconcile"); !strings.HasPrefix(out,
		"0 DID(s) at Voxbone unknown to knm, 0 knm number(s) Voxbone no longer has") {
		t.Fatalf("reconcile: %s", out)
	}
	if out := mustCLI(t, db, "voxbone", "carts"); !strings.Contains(out, "0 cart(s)") {
		t.Fatalf("a cart was left behind: %s", out)
	}
	if out := mustCLI(t, db, "--json", "voxbone", "carts"); strings.TrimSpace(out) != "[]" {
		t.Fatalf("carts --json: %q", out)
	}
	if out := mustCLI(t, db, "voxbone", "carts", "--purge", "--dry-run"); !strings.Contains(out, "would delete 0") {
		t.Fatalf("purge: %s", out)
	}
	if out := mustCLI(t, db, "voxbone", "recover"); !strings.HasPrefix(out, "0 unfinished order(s)") {
		t.Fatalf("recover: %s", out)
	}
	if code, _, errs := cli(t, db, "voxbone", "order", "--group", "1404"); code == 0 ||
		!strings.Contains(errs, "--quantity") {
		t.Errorf("order without quantity: %d %q", code, errs)
	}
	// An invalid setting is refused where it is written, so it can never stop a start.
	code, _, errs = cli(t, db, "config", "set", "number_manager.voxbone", "environment", `"staging"`)
	if code == 0 || !strings.Contains(errs, "environment") {
		t.Errorf("unknown environment accepted: exit %d, stderr %q", code, errs)
	}
	if out := mustCLI(t, db, "voxbone", "balance"); !strings.Contains(out, "balance") {
		t.Errorf("a refused write changed the settings: %s", out)
	}
	other := sqliteDB(t)
	if code, _, errs := cli(t, other, "voxbone", "recover"); code == 0 ||
		!strings.Contains(errs, "Voxbone is not configured") {
		t.Errorf("unconfigured: exit %d, stderr %q", code, errs)
	}
}

func TestRedactedURL(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"redis://u:p@ss@host:6379/0": "redis://u:xxxxx@host:6379/0",
		"redis://host:6379":          "redis://host:6379",
		"redis://:secret@host":       "redis://:xxxxx@host",
		"%zz":                        `"%zz"`,
		"redis://u:%zz@host":         "(a URL that cannot be read; not shown as it may hold a password)",
	} {
		if got := redactedURL(in); got != want {
			t.Errorf("redactedURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestVoxboneUnavailableCLI: with knm_voxbone among the carriers but not configured, a
// search names it as failing, and releasing a Voxbone number is refused (its DID would stay
// billed) rather than skipping the cancel.
func TestVoxboneUnavailableCLI(t *testing.T) {
	t.Parallel()
	db := sqliteDB(t)
	mustCLI(t, db, "config", "set", "number_manager", "carrier_modules", `["knm_local","knm_voxbone"]`)
	acct := strings.TrimSpace(mustCLI(t, db, "accounts", "create", "A"))
	// No number and a failed carrier: the search fails, saying which carrier and why.
	code, _, errs := cli(t, db, "search", "--prefix", "415", "--account", acct)
	if code == 0 || !strings.Contains(errs, "carrier knm_voxbone: error") || !strings.Contains(errs, "not configured") ||
		!strings.Contains(errs, "0 of 1 number(s) found; carrier(s) failed: knm_voxbone (error)") {
		t.Fatalf("search: exit %d, stderr %q", code, errs)
	}
	mustCLI(t, db, "numbers", "create", "+14155550142", "--account", acct, "--module", "knm_voxbone")
	if code, _, errs := cli(t, db, "numbers", "release", "+14155550142"); code == 0 ||
		!strings.Contains(errs, "not configured") {
		t.Fatalf("release without Voxbone: exit %d, stderr %q", code, errs)
	}
	if out := mustCLI(t, db, "numbers", "show", "+14155550142"); !strings.Contains(out, `"pvt_state": "in_service"`) {
		t.Fatalf("refused release changed the number: %s", out)
	}
}
