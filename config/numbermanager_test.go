package config

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/e164"
)

func TestNumberManagerDefaults(t *testing.T) {
	backends(t, func(t *testing.T, s knm.ConfigStore) {
		ctx := context.Background()
		nm, err := New(s, "", "").NumberManager(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(nm.CarrierModules, ",") != "knm_local" || nm.SearchTimeout != 5*time.Second ||
			nm.MaxSearchQuantity != 500 || nm.AvailableModuleName != "knm_local" ||
			nm.ReleasedState != knm.StateAvailable || nm.ShouldPermanentlyDelete || nm.ShouldAge ||
			nm.SearchCacheTTL != 300*time.Second {
			t.Errorf("defaults = %+v", nm)
		}
		if string(nm.E164Converters) != string(e164.DefaultConvertersJSON()) ||
			string(nm.Classifiers) != string(e164.DefaultClassifiersJSON()) {
			t.Errorf("regex defaults = %s / %s", nm.E164Converters, nm.Classifiers)
		}
		// Every default was written back, and reading again writes nothing.
		b := body(t, s, "", NumberManagerCategory)
		for _, key := range []string{"carrier_modules", "number_search_timeout_ms", "maximum_search_quantity",
			"available_module_name", "released_state", "should_permanently_delete", "should_age",
			"search_cache_ttl_s", "e164_converters", "reconcile_regex", "classifiers"} {
			if !strings.Contains(b, `"`+key+`":`) {
				t.Errorf("%s not written back: %s", key, b)
			}
		}
		r := rev(t, s, NumberManagerCategory)
		nm2, err := New(s, "", "").NumberManager(ctx)
		if err != nil || rev(t, s, NumberManagerCategory) != r {
			t.Errorf("second read: %v, rev %d -> %d", err, r, rev(t, s, NumberManagerCategory))
		}
		// The stored converters and classifiers round-trip with their order intact.
		n, err := nm2.Normalizer()
		if err != nil {
			t.Fatal(err)
		}
		if got := n.Normalize("4158867900"); got != "+14158867900" {
			t.Errorf("Normalize via stored config = %q", got)
		}
		if name, _ := n.Classify("+18005551234"); name != "tollfree_us" {
			t.Errorf("Classify via stored config = %q", name)
		}
	})
}

func TestNumberManagerConfigured(t *testing.T) {
	ctx := context.Background()
	s := newMemStore()
	put(t, s, "", NumberManagerCategory, `{"_id":"number_manager","default":{"available_module_name":"knm_inventory",`+
		`"number_search_timeout_ms":"10000","classifiers":{"mine":"^\\+44"},"reconcile_regex":"^\\+44\\d+$"}}`)
	nm, err := New(s, "", "").NumberManager(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(nm.CarrierModules, ",") != "knm_inventory" || nm.SearchTimeout != 10*time.Second {
		t.Errorf("configured = %+v", nm)
	}
	n, err := nm.Normalizer()
	if err != nil {
		t.Fatal(err)
	}
	if name, _ := n.Classify("+441234"); name != "mine" || n.IsReconcilable("+14158867900") {
		t.Errorf("configured classifiers or reconcile_regex not used")
	}
}

func TestNumberManagerInvalid(t *testing.T) {
	ctx := context.Background()
	s := newMemStore()
	put(t, s, "", NumberManagerCategory, `{"_id":"number_manager","default":{"maximum_search_quantity":0,`+
		`"released_state":"gone","should_age":"maybe","number_search_timeout_ms":-1,"search_cache_ttl_s":0}}`)
	_, err := New(s, "", "").NumberManager(ctx)
	if !knm.IsErrorName(err, knm.ErrInvalid) {
		t.Fatalf("err = %v", err)
	}
	for _, want := range []string{"maximum_search_quantity must be at least 1",
		"released_state must be a number state, got gone",
		"invalid number_manager: ", "should_age must be a boolean", "number_search_timeout_ms must be at least 1",
		"search_cache_ttl_s must be at least 1"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err %q does not mention %q", err, want)
		}
	}
	s = newMemStore()
	put(t, s, "", NumberManagerCategory, `{"_id":"number_manager","default":{"e164_converters":{"(?=x)":{}}}}`)
	if _, err := New(s, "", "").NumberManager(ctx); !knm.IsErrorName(err, knm.ErrInvalid) ||
		!strings.Contains(err.Error(), "lookahead") {
		t.Errorf("bad converter err = %v", err)
	}
}

func TestVoxbone(t *testing.T) {
	backends(t, func(t *testing.T, s knm.ConfigStore) {
		ctx := context.Background()
		v, err := New(s, "", "").Voxbone(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := VoxboneConfig{Environment: "sandbox", PageSize: 20, RateLimitRPS: 20, RequestTimeout: 15 * time.Second,
			SearchMode: "order", MaxOrderQuantity: 20, CartTTL: 30 * time.Minute}
		if v != want {
			t.Errorf("defaults = %+v", v)
		}
		b := body(t, s, "", VoxboneCategory)
		if !strings.Contains(b, `"username":""`) || strings.Contains(b, "api_username") || !strings.Contains(b,
			`"page_size":20`) {
			t.Errorf("defaults not written under the primary spelling: %s", b)
		}
	})
}

func TestVoxboneSpellings(t *testing.T) {
	ctx := context.Background()
	s := newMemStore()
	// Kazoo master's spellings only.
	put(t, s, "", VoxboneCategory,
		`{"_id":"number_manager.voxbone","default":{"api_username":"mu","api_password":"mp",`+
			`"max_page_size":"100","environment":"production"}}`)
	v, err := New(s, "", "").Voxbone(ctx)
	if err != nil || v.Username != "mu" || v.Password != "mp" || v.PageSize != 100 || v.Environment != "production" {
		t.Errorf("master spellings: %+v, %v", v, err)
	}
	// Both spellings in one section: the seed's wins; the node section beats both.
	s = newMemStore()
	put(t, s, "", VoxboneCategory, `{"_id":"number_manager.voxbone","default":{"api_username":"mu","username":"su",`+
		`"password":"sp","api_password":"mp","page_size":5,"max_page_size":50},"n1":{"api_password":"node"}}`)
	v, err = New(s, "n1", "").Voxbone(ctx)
	if err != nil || v.Username != "su" || v.Password != "node" || v.PageSize != 5 {
		t.Errorf("both spellings: %+v, %v", v, err)
	}
}

func TestVoxboneInvalid(t *testing.T) {
	ctx := context.Background()
	s := newMemStore()
	put(t, s, "", VoxboneCategory, `{"_id":"number_manager.voxbone","default":{"environment":"prod","page_size":5001,`+
		`"rate_limit_rps":0,"search_mode":"buy","max_order_quantity":0,"max_order_cost":-1,"cart_ttl_minutes":0,`+
		`"request_timeout_ms":0,"base_url":"ftp:/x","username":["a"]}}`)
	_, err := New(s, "", "").Voxbone(ctx)
	if !knm.IsErrorName(err, knm.ErrInvalid) {
		t.Fatalf("err = %v", err)
	}
	for _, want := range []string{`environment must be production, sandbox or beta, got "prod"`,
		"page_size must be between 1 and 5000, got 5001", "rate_limit_rps must be at least 1",
		`search_mode must be order or pool, got "buy"`, "max_order_quantity must be at least 1",
		"max_order_cost must not be negative", "cart_ttl_minutes must be at least 1",
		"request_timeout_ms must be at least 1", "base_url must be an absolute http or https URL",
		"invalid number_manager.voxbone: ", "username must be a string"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err does not mention %q:\n%v", want, err)
		}
	}
}

func TestVoxboneNeverShowsSecrets(t *testing.T) {
	t.Parallel()
	v := VoxboneConfig{Username: "user", Password: "hunter2", APIKey: "k-123", Environment: "beta",
		BaseURL: "https://u:urlpass@example.com/rest"}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("cfg", "voxbone", v)
	for name, out := range map[string]string{
		"String": v.String(), "%v": fmt.Sprintf("%v", v), "%+v": fmt.Sprintf("%+v", v),
		"%#v": fmt.Sprintf("%#v", v), "slog": logged.String(),
	} {
		for _, secret := range []string{"hunter2", "k-123", "urlpass"} {
			if strings.Contains(out, secret) {
				t.Errorf("%s shows %q: %s", name, secret, out)
			}
		}
		if !strings.Contains(out, "user") {
			t.Errorf("%s hides the username: %s", name, out)
		}
	}
}

// TestResellerCarrierModules: only the reseller's own configs_number_manager counts, and
// anything but a list of strings there means "not set".
func TestResellerCarrierModules(t *testing.T) {
	backends(t, func(t *testing.T, s knm.ConfigStore) {
		ctx := context.Background()
		put(t, s, "", NumberManagerCategory, `{"_id":"number_manager","default":{"carrier_modules":["knm_local"]}}`)
		put(t, s, "r1", NumberManagerCategory, `{"_id":"configs_number_manager","carrier_modules":["knm_voxbone",""]}`)
		put(t, s, "r2", NumberManagerCategory, `{"_id":"configs_number_manager","carrier_modules":"knm_voxbone"}`)
		put(t, s, "r3", NumberManagerCategory, `{"_id":"configs_number_manager","should_age":true}`)
		c := New(s, "", "")
		for _, tt := range []struct {
			reseller string
			want     []string
			ok       bool
		}{
			{"r1", []string{"knm_voxbone", ""}, true}, // the manager drops a list with an empty name
			{"r2", nil, false},                        // not a list
			{"r3", nil, false},                        // no key
			{"r4", nil, false},                        // no document: the system list is not read here
			{"", nil, false},
		} {
			got, ok, err := c.ResellerCarrierModules(ctx, tt.reseller)
			if err != nil || ok != tt.ok || strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("%q: %q, %v, %v; want %q, %v", tt.reseller, got, ok, err, tt.want, tt.ok)
			}
		}
	})
}
