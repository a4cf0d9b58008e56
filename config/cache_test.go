package config

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/knmproject/knm/store/sqlite"
)

// TestNumberManagerCache: settings and converters are read at most once per CacheTTL, and
// a broken setting is reported, not cached.
func TestNumberManagerCache(t *testing.T) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "knm.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cfg := New(s, "node1", "")
	c := NewNumberManagerCache(cfg)
	now := time.Unix(1000, 0)
	c.now = func() time.Time { return now }

	p, err := c.Policy(ctx)
	if err != nil || p.SearchTimeout != 5*time.Second || p.AvailableModuleName != "knm_local" {
		t.Fatalf("defaults: %+v %v", p, err)
	}
	if got := c.Normalize("4158867900"); got != "+14158867900" {
		t.Fatalf("default normaliser: %s", got)
	}
	if err := cfg.Set(ctx, "number_manager", "number_search_timeout_ms", json.RawMessage(`750`), ""); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Set(ctx, "number_manager", "e164_converters", json.RawMessage(`{"^(\\d{7})$":{"prefix":"+3222"}}`),
		""); err != nil {
		t.Fatal(err)
	}
	if p, _ := c.Policy(ctx); p.SearchTimeout != 5*time.Second {
		t.Fatalf("settings re-read before the TTL: %v", p.SearchTimeout)
	}
	now = now.Add(CacheTTL)
	if p, _ := c.Policy(ctx); p.SearchTimeout != 750*time.Millisecond {
		t.Fatalf("settings not re-read after the TTL: %v", p.SearchTimeout)
	}
	if got := c.Normalize("1234567"); got != "+32221234567" {
		t.Fatalf("configured converters not applied: %s", got)
	}
	// A broken setting (written by hand in the database) is an error, and not cached:
	// fixing it applies at the next call.
	doc, err := s.GetConfig(ctx, "", "number_manager")
	if err != nil {
		t.Fatal(err)
	}
	doc.Body = json.RawMessage(`{"_id":"number_manager","default":{"maximum_search_quantity":"lots"}}`)
	if err := s.PutConfig(ctx, doc); err != nil {
		t.Fatal(err)
	}
	now = now.Add(CacheTTL)
	if _, err := c.Policy(ctx); err == nil {
		t.Fatal("invalid maximum_search_quantity accepted")
	}
	cfg.Set(ctx, "number_manager", "maximum_search_quantity", json.RawMessage(`50`), "")
	if p, err := c.Policy(ctx); err != nil || p.MaxSearchQuantity != 50 {
		t.Fatalf("fixed config not applied: %+v %v", p, err)
	}
}
