package knmvoxbone

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/config"
	"github.com/knmproject/knm/ratelimit"
	"github.com/knmproject/knm/voxbone/emulator"
)

// TestHolder: knm_voxbone follows number_manager.voxbone without a restart, says why it
// cannot run, keeps its rate limiter across rebuilds and its reservations per account.
func TestHolder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openSQLite(t)
	cfg := config.New(s, "n1", "")
	limiters := 0
	h := NewHolder(HolderOptions{
		Store:    s,
		Settings: func(ctx context.Context) (Settings, error) { return ReadSettings(ctx, cfg) },
		Limiter: func(rps int) (ratelimit.Limiter, error) {
			limiters++
			return ratelimit.NewLocal(rps), nil
		},
		Logger: quiet,
	})
	set := func(key, value string) {
		t.Helper()
		if err := cfg.Set(ctx, Category, key, json.RawMessage(value), ""); err != nil {
			t.Fatal(err)
		}
	}

	c, err := h.Carrier(ctx)
	if c != nil || !knm.IsErrorName(err, knm.ErrNotFound) || !strings.Contains(err.Error(), "not configured") {
		t.Fatalf("unconfigured: %v, %v", c, err)
	}
	if m, err := h.Module(); err != nil || m.Name() != ModuleName {
		t.Fatalf("stand-in: %v, %v", m, err)
	} else if _, err := m.FindNumbers(ctx, knm.SearchOptions{}); !knm.IsErrorName(err, knm.ErrNotFound) {
		t.Fatalf("stand-in search: %v", err)
	}
	set("environment", `"production"`)
	set("username", `"user"`)
	if c, err := h.Carrier(ctx); c != nil || !knm.IsErrorName(err, knm.ErrInvalid) ||
		!strings.Contains(err.Error(), "password") {
		t.Fatalf("no password: %v, %v", c, err)
	}

	srv := httptest.NewServer(emulator.New(emulator.Config{Username: "user", Password: "pw"}))
	defer srv.Close()
	set("base_url", `"`+srv.URL+`/ws-voxbone/services/rest"`)
	set("password", `"pw"`)
	first, err := h.Carrier(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := first.Client().AccountBalance(ctx); err != nil || b.Balance != 500 {
		t.Fatalf("balance through the built client: %+v, %v", b, err)
	}
	if again, _ := h.Carrier(ctx); again != first {
		t.Fatal("carrier rebuilt although nothing changed")
	}
	limiter := h.limiter
	set("max_order_cost", `12.5`)
	second, err := h.Carrier(ctx)
	if err != nil || second == first || second.Settings().MaxOrderCost != 12.5 {
		t.Fatalf("change not applied: %v (same carrier: %v)", err, second == first)
	}
	if h.limiter != limiter || limiters != 1 {
		t.Fatal("the rate limiter was replaced although rate_limit_rps did not change")
	}
	set("rate_limit_rps", `5`)
	if _, err := h.Carrier(ctx); err != nil || h.limiter == limiter || limiters != 2 {
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
	other, err := h.Carrier(ctx)
	if err != nil || other.AccountFingerprint() == fpA || h.reservations[other.AccountFingerprint()] == resA {
		t.Fatalf("account switch: %v", err)
	}
	set("username", `"user"`)
	back, err := h.Carrier(ctx)
	if err != nil || back.AccountFingerprint() != fpA || h.reservations[fpA] != resA {
		t.Fatalf("back to the first account: %v (same reservations: %v)", err, h.reservations[fpA] == resA)
	}
	if m, err := h.Module(); err != nil || m != knm.Carrier(back) {
		t.Fatalf("module: %v, %v", m, err)
	}
}

// TestHolderKeepsLastGoodCarrier: settings that become unreadable (edited by hand in the
// store) leave the last good carrier in place; settings removed altogether do not.
func TestHolderKeepsLastGoodCarrier(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openSQLite(t)
	cfg := config.New(s, "", "")
	h := NewHolder(HolderOptions{
		Store:    s,
		Settings: func(ctx context.Context) (Settings, error) { return ReadSettings(ctx, cfg) },
		Limiter:  func(rps int) (ratelimit.Limiter, error) { return ratelimit.NewLocal(rps), nil },
	})
	putSettings(t, s, `{"_id":"number_manager.voxbone","default":{"base_url":"http://127.0.0.1:1/rest"}}`)
	good, err := h.Carrier(ctx)
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := s.GetConfig(ctx, "", Category)
	doc.Body = []byte(`{"_id":"number_manager.voxbone","default":{"base_url":"http://127.0.0.1:1/rest","page_size":0}}`)
	if err := s.PutConfig(ctx, doc); err != nil {
		t.Fatal(err)
	}
	if c, err := h.Carrier(ctx); err != nil || c != good {
		t.Fatalf("unreadable settings: %v, %v; want the last good carrier", c, err)
	}
	doc, _ = s.GetConfig(ctx, "", Category)
	doc.Body = []byte(`{"_id":"number_manager.voxbone","default":{}}`)
	if err := s.PutConfig(ctx, doc); err != nil {
		t.Fatal(err)
	}
	if c, err := h.Carrier(ctx); c != nil || !knm.IsErrorName(err, knm.ErrNotFound) {
		t.Fatalf("settings removed: %v, %v", c, err)
	}
}
