package httpapi

import (
	"context"
	"encoding/json"
	"net/url"
	"sync"
	"testing"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/config"
	"github.com/knmproject/knm/manager"
)

func TestSearchWithoutToken(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, "", nil)
	r := e.do("GET", "/v2/phone_numbers?prefix=415&quantity=2", "", nil)
	if r.Status != 200 || r.str("status") != "success" {
		t.Fatalf("tokenless search: %d %s", r.Status, r.Raw)
	}
	for _, q := range []string{"prefix=1234567890123456", "prefix=", "prefix=415&quantity=0", "prefix=415&quantity=x",
		"prefix=415&offset=-1", "prefix=415&country=USA", "prefix=abc"} {
		wantError(t, e.do("GET", "/v2/phone_numbers?"+q, "", nil), 400)
	}
}

// recorder is a carrier that records whether each search allowed purchases.
type recorder struct {
	mu         sync.Mutex
	noPurchase map[string]bool // by prefix
}

func (c *recorder) Name() string { return "knm_test_recorder" }

func (c *recorder) FindNumbers(_ context.Context, o knm.SearchOptions) ([]knm.SearchRow, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.noPurchase[o.Prefix.National] = o.NoPurchase
	return nil, nil
}

func (c *recorder) AcquireNumber(context.Context, *knm.Number) error { return nil }

func (c *recorder) DisconnectNumber(context.Context, *knm.Number) error { return nil }

func (c *recorder) IsNumberBillable(*knm.Number) bool { return true }

func (c *recorder) ShouldLookupCNAM() bool { return false }

func (c *recorder) IsLocal() bool { return false }

func (c *recorder) CheckNumbers(context.Context, []string) (map[string]string, error) {
	return nil, knm.ErrNotImplemented
}

func (c *recorder) Info() knm.CarrierInfo { return knm.CarrierInfo{MaximalPrefixLength: 10} }

// TestAnonymousSearchBuysNothing: a tokenless search reaches carriers with NoPurchase, so
// a carrier that buys to offer (knm_voxbone) spends nothing for an unknown caller; an
// authenticated search may buy.
func TestAnonymousSearchBuysNothing(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, "", nil)
	rec := &recorder{noPurchase: map[string]bool{}}
	e.api.registry.Register(rec.Name(), func() (knm.Carrier, error) { return rec, nil })
	if err := e.api.cfg.Set(context.Background(), config.NumberManagerCategory, "carrier_modules",
		json.RawMessage(`["knm_test_recorder"]`), ""); err != nil {
		t.Fatal(err)
	}
	master := e.login(e.masterKey)
	acc, key := e.createAccount(master, "searcher", nil)
	tok := e.login(key)
	for _, tc := range []struct {
		name, path, token string
		noPurchase        bool
	}{
		{"anonymous", "/v2/phone_numbers?prefix=415", "", true},
		{"anonymous with country", "/v2/phone_numbers?prefix=416&country=us", "", true},
		{"master token", "/v2/phone_numbers?prefix=417", master, false},
		{"account token", "/v2/phone_numbers?prefix=418", tok, false},
		{"account route", "/v2/accounts/" + acc + "/phone_numbers?prefix=419", tok, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("GET", tc.path, tc.token, nil)
			if r.Status != 200 {
				t.Fatalf("search: %d %s", r.Status, r.Raw)
			}
			u, _ := url.Parse(tc.path)
			prefix := u.Query().Get("prefix")
			rec.mu.Lock()
			got, ok := rec.noPurchase[prefix]
			rec.mu.Unlock()
			if !ok {
				t.Fatalf("the carrier was not asked (%s)", r.Raw)
			}
			if got != tc.noPurchase {
				t.Fatalf("NoPurchase = %v, want %v", got, tc.noPurchase)
			}
		})
	}
}

// TestSearchPrefix: REST takes the manager's prefix rule (1-15 digits, an optional trailing
// *, whitespace removed), so Kazoo's 3-10 still work and REST and CLI agree.
func TestSearchPrefix(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, "", nil)
	e.importNumbers("+12565550701", "+18005550702")
	master := e.login(e.masterKey)
	acc, _ := e.createAccount(master, "prefixes", nil)
	for _, tc := range []struct {
		prefix string
		ok     bool
	}{
		{"2", true},
		{"25", true},
		{"256", true},
		{"2565550701", true},
		{"256555070", true},
		{"123456789012345", true},
		{"800*", true},
		{"8*", true},
		{"%20256%20555%20", true},
		{"2%095%0A6", true}, // tab and newline are whitespace
		{"", false},
		{"%20%20", false},
		{"*", false},
		{"1234567890123456", false},
		{"1234567890123456*", false},
		{"80**", false},
		{"8*0", false},
		{"*800", false},
		{"%2B1256", false},
		{"abc", false},
		{"25a", false},
	} {
		for _, path := range []string{"/v2/phone_numbers", "/v2/accounts/" + acc + "/phone_numbers"} {
			t.Run(path+"?prefix="+tc.prefix, func(t *testing.T) {
				r := e.do("GET", path+"?prefix="+tc.prefix, master, nil)
				if tc.ok {
					if r.Status != 200 {
						t.Fatalf("prefix %q refused: %d %s", tc.prefix, r.Status, r.Raw)
					}
					return
				}
				wantInvalid(t, r, "prefix", "prefix must be 1 to 15 digits, optionally ending in *")
			})
		}
	}
	r := e.do("GET", "/v2/accounts/"+acc+"/phone_numbers?prefix=2%20565&quantity=5", master, nil)
	var found []struct{ Number string }
	r.data(t, &found)
	if r.Status != 200 || len(found) != 1 || found[0].Number != "+12565550701" {
		t.Fatalf("whitespace prefix search: %s", r.Raw)
	}
	// The OpenAPI document says the same.
	var doc struct {
		Paths map[string]map[string]struct {
			Parameters []struct {
				Name   string
				Schema struct{ Pattern string }
			}
		}
	}
	if err := json.Unmarshal(e.api.OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/v2/phone_numbers", "/v2/accounts/{account_id}/phone_numbers"} {
		found := false
		for _, prm := range doc.Paths[p]["get"].Parameters {
			if prm.Name == "prefix" {
				found = prm.Schema.Pattern == manager.PrefixPattern
			}
		}
		if !found {
			t.Errorf("%s: prefix has no pattern %s", p, manager.PrefixPattern)
		}
	}
}
