package config_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/config"
	"github.com/knmproject/knm/features"
	"github.com/knmproject/knm/store"
)

const account = "0123456789abcdef0123456789abcdef"

func newConfig(t *testing.T) (context.Context, *config.Config) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	s, err := store.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "knm.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return ctx, config.New(s, "node1", "")
}

func set(t *testing.T, ctx context.Context, cfg *config.Config, category, key, value string) {
	t.Helper()
	if err := cfg.Set(ctx, category, key, json.RawMessage(value), ""); err != nil {
		t.Fatal(err)
	}
}

func TestLoadDefaults(t *testing.T) {
	t.Parallel()
	ctx, cfg := newConfig(t)
	s, err := config.FeatureSettings(ctx, cfg, "", "knm_voxbone")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.Allow, features.All()) || s.DenySet || s.LocalFeatureOverride || s.Messaging["sms"].Enabled {
		t.Fatalf("defaults: %+v", s)
	}
	// Kazoo writes the code default of features.allow back; the carrier's category is only read.
	raw, err := cfg.Lookup(ctx, config.NumberManagerCategory, []string{"features", "allow"}, nil)
	if err != nil || !strings.Contains(string(raw), "force_outbound") {
		t.Fatalf("features.allow not written back: %s %v", raw, err)
	}
	if raw, _ := cfg.Lookup(ctx, "number_manager.voxbone", []string{"features"}, nil); raw != nil {
		t.Fatalf("carrier category written: %s", raw)
	}
}

// TestLoadResellerOverride checks that a reseller's configs_number_manager beats
// system_config, key by key, and that a number assigned under another reseller (or none)
// keeps the system's settings.
func TestLoadResellerOverride(t *testing.T) {
	t.Parallel()
	ctx, cfg := newConfig(t)
	const reseller, other = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	set(t, ctx, cfg, "number_manager", "features.allow", `["cnam","e911","prepend","failover"]`)
	set(t, ctx, cfg, "number_manager", "features.deny", `["e911"]`)
	set(t, ctx, cfg, "number_manager", "local_feature_override", `true`)
	allow := json.RawMessage(`["prepend","force_outbound"]`)
	if err := cfg.AccountSet(ctx, reseller, "number_manager", "features.allow", allow); err != nil {
		t.Fatal(err)
	}
	if err := cfg.AccountSet(ctx, reseller, "number_manager", "features.deny", json.RawMessage(`[]`)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		reseller string
		allow    string
		deny     string
		denySet  bool
	}{
		{reseller, "prepend force_outbound", "", true},
		{other, "cnam e911 prepend failover", "e911", true},
		{"", "cnam e911 prepend failover", "e911", true},
	} {
		s, err := config.FeatureSettings(ctx, cfg, tc.reseller, "knm_local")
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(s.Allow, " ") != tc.allow || strings.Join(s.Deny, " ") != tc.deny ||
			s.DenySet != tc.denySet || !s.LocalFeatureOverride {
			t.Errorf("reseller %q: %+v", tc.reseller, s)
		}
	}
	// The reseller's settings in use: a number of its sub-account may use prepend only.
	s, _ := config.FeatureSettings(ctx, cfg, reseller, "knm_local")
	n := &knm.Number{Number: "+14155550100", State: knm.StateInService, AssignedTo: account,
		Public: map[string]json.RawMessage{"cnam": json.RawMessage(`{"display_name":"A"}`)}}
	n.SetModule("knm_local")
	if err := features.Apply(n, s); !knm.IsErrorName(err, knm.ErrForbidden) {
		t.Fatalf("cnam under the reseller: %v", err)
	}
	sys, _ := config.FeatureSettings(ctx, cfg, other, "knm_local")
	if err := features.Apply(n, sys); err != nil {
		t.Fatalf("cnam under the system settings (local override on): %v", err)
	}
}

func TestLoadProvidersAndMessaging(t *testing.T) {
	t.Parallel()
	ctx, cfg := newConfig(t)
	set(t, ctx, cfg, "number_manager", "providers", `["knm_cnam_notifier","knm_dash_e911","knm_sms"]`)
	set(t, ctx, cfg, "number_manager.voxbone", "features.sms", `{"enabled":true,"activation":"manual"}`)
	s, err := config.FeatureSettings(ctx, cfg, "", "knm_voxbone")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(s.Allow, " ") != "knm_cnam_notifier knm_dash_e911 knm_sms" {
		t.Fatalf("providers as the default of features.allow: %v", s.Allow)
	}
	if s.Messaging["sms"] != (features.Messaging{Enabled: true, Activation: "manual"}) || s.Messaging["mms"].Enabled {
		t.Fatalf("messaging: %+v", s.Messaging)
	}
	n := &knm.Number{Number: "+14155550100", State: knm.StateInService, AssignedTo: account, ModuleName: "knm_voxbone"}
	if got := strings.Join(features.Available(n, s), " "); got != "cnam e911 sms" {
		t.Fatalf("available: %s", got)
	}
}

func TestLoadRefusesBadSettings(t *testing.T) {
	t.Parallel()
	for _, kv := range [][3]string{
		{"number_manager", "features.allow", `"cnam"`},
		{"number_manager", "features.deny", `{"cnam":true}`},
		{"number_manager", "providers", `[1,2]`},
		{"number_manager", "local_feature_override", `"sometimes"`},
		{"number_manager.voxbone", "features.sms.enabled", `[]`},
	} {
		ctx, cfg := newConfig(t)
		set(t, ctx, cfg, kv[0], kv[1], kv[2])
		if _, err := config.FeatureSettings(ctx, cfg, "", "knm_voxbone"); !knm.IsErrorName(err, knm.ErrInvalid) {
			t.Errorf("%s %s = %s: %v, want invalid", kv[0], kv[1], kv[2], err)
		} else if !strings.Contains(err.Error(), strings.Split(kv[1], ".")[0]) {
			t.Errorf("%s %s: error %q does not name the key", kv[0], kv[1], err)
		}
	}
}
