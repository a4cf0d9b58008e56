package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/config"
	"github.com/knmproject/knm/store/sqlite"
	"github.com/knmproject/knm/voxbone/emulator"
)

// TestVoxboneHolder: knm_voxbone follows number_manager.voxbone without a restart, says
// why it cannot run, and keeps its rate limiter across rebuilds.
func TestVoxboneHolder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "knm.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cfg := config.New(s, "n1", "")
	a := &app{logger: slog.New(slog.NewTextHandler(io.Discard, nil)), getenv: func(string) string { return "" }}
	h := &voxboneHolder{a: a, store: s, cfg: cfg}
	set := func(key, value string) {
		t.Helper()
		if err := cfg.Set(ctx, config.VoxboneCategory, key, json.RawMessage(value), ""); err != nil {
			t.Fatal(err)
		}
	}

	if c, err := h.get(ctx); c != nil || !knm.IsErrorName(err, knm.ErrNotFound) || !strings.Contains(err.Error(), "not configured") {
		t.Fatalf("unconfigured: %v, %v", c, err)
	}
	set("environment", `"production"`)
	set("username", `"user"`)
	if c, err := h.get(ctx); c != nil || !knm.IsErrorName(err, knm.ErrInvalid) || !strings.Contains(err.Error(), "password") {
		t.Fatalf("no password: %v, %v", c, err)
	}

	srv := httptest.NewServer(emulator.New(emulator.Config{Username: "user", Password: "pw"}))
	defer srv.Close()
	set("base_url", `"`+srv.URL+`/ws-voxbone/services/rest"`)
	set("password", `"pw"`)
	first, err := h.get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := first.Client().AccountBalance(ctx); err != nil || b.Balance != 500 {
		t.Fatalf("balance through the built client: %+v, %v", b, err)
	}
	if again, _ := h.get(ctx); again != first {
		t.Fatal("carrier rebuilt although nothing changed")
	}
	limiter := h.limiter
	set("max_order_cost", `12.5`)
	second, err := h.get(ctx)
	if err != nil || second == first || second.Settings().MaxOrderCost != 12.5 {
		t.Fatalf("change not applied: %v (same carrier: %v)", err, second == first)
	}
	if h.limiter != limiter {
		t.Fatal("the rate limiter was replaced although rate_limit_rps did not change")
	}
	set("rate_limit_rps", `5`)
	if _, err := h.get(ctx); err != nil || h.limiter == limiter {
		t.Fatalf("rate change: %v (same limiter: %v)", err, h.limiter == limiter)
	}

	// Reservations follow the Voxbone account: another account has its own, and coming
	// back to the first finds the stock and money its orders in flight had planned.
	fpA := second.AccountFingerprint()
	resA := h.reservations[fpA]
	if resA == nil {
		t.Fatal("no reservations kept for the account")
	}
	set("username", `"other"`)
	other, err := h.get(ctx)
	if err != nil || other.AccountFingerprint() == fpA || h.reservations[other.AccountFingerprint()] == resA {
		t.Fatalf("account switch: %v", err)
	}
	set("username", `"user"`)
	back, err := h.get(ctx)
	if err != nil || back.AccountFingerprint() != fpA || h.reservations[fpA] != resA {
		t.Fatalf("back to the first account: %v (same reservations: %v)", err, h.reservations[fpA] == resA)
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
	code, _, errs := cli(t, db, "search", "--prefix", "415", "--account", acct)
	if code != 0 || !strings.Contains(errs, "carrier knm_voxbone: error") || !strings.Contains(errs, "not configured") {
		t.Fatalf("search: exit %d, stderr %q", code, errs)
	}
	mustCLI(t, db, "numbers", "create", "+14155550142", "--account", acct, "--module", "knm_voxbone")
	if code, _, errs := cli(t, db, "numbers", "release", "+14155550142"); code == 0 || !strings.Contains(errs, "not configured") {
		t.Fatalf("release without Voxbone: exit %d, stderr %q", code, errs)
	}
	if out := mustCLI(t, db, "numbers", "show", "+14155550142"); !strings.Contains(out, `"pvt_state": "in_service"`) {
		t.Fatalf("refused release changed the number: %s", out)
	}
}
