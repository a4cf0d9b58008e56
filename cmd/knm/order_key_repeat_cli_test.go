package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestOrderKeyRepeatShowsOrder: `voxbone order --idempotency-key K` when K already names an
// order shows that order without a quote or a question, also without --yes on a
// non-terminal, and buys nothing; a new key still needs --yes, and a key reused for another
// request is refused before any quote.
func TestOrderKeyRepeatShowsOrder(t *testing.T) {
	t.Parallel()
	db := sqliteDB(t)
	configureVoxbone(t, db, startEmulator(t))
	order := func(key, qty string, extra ...string) (int, string, string) {
		args := append([]string{"voxbone", "order", "--group", "1404", "--quantity", qty, "--idempotency-key", key},
			extra...)
		return cli(t, db, args...)
	}
	code, first, errs := order("k1", "1", "--yes")
	if code != 0 || !strings.Contains(first, ": imported, 1 of 1 DID(s)") {
		t.Fatalf("first order: exit %d, stdout %s, stderr %s", code, first, errs)
	}
	firstLine := strings.Split(first, "\n")[0]
	orderID := strings.TrimSuffix(strings.Fields(firstLine)[1], ":")
	balance := mustCLI(t, db, "voxbone", "balance")

	// The repeat, without --yes and with stdin not a terminal: the order, no quote, exit 0.
	code, out, errs := order("k1", "1")
	if code != 0 || !strings.Contains(out, "order "+orderID+": imported") ||
		!strings.Contains(out, "nothing bought") || strings.Split(out, "\n")[1] != strings.Split(first, "\n")[1] ||
		strings.Contains(out+errs, "would buy") || errs != "" {
		t.Fatalf("repeat: exit %d, stdout %s, stderr %s", code, out, errs)
	}
	code, out, errs = order("k1", "1", "--dry-run")
	if code != 0 || !strings.Contains(out, "order "+orderID+": imported") || strings.Contains(out+errs, "would buy") {
		t.Fatalf("repeat --dry-run: exit %d, stdout %s, stderr %s", code, out, errs)
	}
	code, out, errs = cli(t, db, "--json", "voxbone", "order", "--group", "1404", "--quantity", "1",
		"--idempotency-key", "k1")
	var res struct {
		OrderID  string `json:"order_id"`
		Replayed bool   `json:"replayed"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || code != 0 || res.OrderID != orderID || !res.Replayed {
		t.Fatalf("--json repeat: exit %d, %+v, %v, stdout %s, stderr %s", code, res, err, out, errs)
	}
	if got := mustCLI(t, db, "voxbone", "balance"); got != balance {
		t.Fatalf("a repeat spent money: %s, then %s", balance, got)
	}
	if out := mustCLI(t, db, "numbers", "list"); !strings.Contains(out, "1 of 1 number(s)") {
		t.Fatalf("a repeat stored numbers: %s", out)
	}

	// The same key for another quantity: refused, with no quote.
	code, out, errs = order("k1", "2", "--yes")
	if code == 0 || !strings.Contains(errs, "idempotency key reused with a different request: order "+orderID) ||
		strings.Contains(out+errs, "would buy") {
		t.Fatalf("key reused: exit %d, stdout %s, stderr %s", code, out, errs)
	}
	// A new key still asks: refused without --yes on a non-terminal, nothing bought.
	code, out, errs = order("k2", "1")
	if code == 0 || !strings.Contains(errs, "nothing bought") || !strings.Contains(errs, "--yes") {
		t.Fatalf("new key without --yes: exit %d, stdout %s, stderr %s", code, out, errs)
	}
	if got := mustCLI(t, db, "voxbone", "balance"); got != balance {
		t.Fatalf("a refused order spent money: %s, then %s", balance, got)
	}
}
