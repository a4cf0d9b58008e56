package config

import (
	"context"
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
		for _, key := range []string{"carrier_modules", "number_search_timeout_ms", "number_search_settle_ms",
			"maximum_search_quantity",
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
