package config

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/knmproject/knm"
)

// testCategory has a Validator registered by these tests: size must be at least 1.
const testCategory = "config_test.validated"

func init() {
	RegisterValidator(testCategory, func(ctx context.Context, c *Config) error {
		n, err := c.GetInt(ctx, testCategory, "size", 1)
		if err == nil && n < 1 {
			err = knm.Errorf(knm.ErrInvalid, "size must be at least 1, got %d", n)
		}
		return err
	})
}

func TestValidate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tt := range []struct {
		id, body, wantErr string
	}{
		{testCategory, `{"_id":"config_test.validated","default":{"size":3}}`, ""},
		{testCategory, `{"_id":"config_test.validated","default":{"size":"big"}}`, "section default: "},
		{testCategory, `{"_id":"config_test.validated","default":{},"node1":{"size":0}}`, "section node1: "},
		{"number_manager", `{"_id":"number_manager","default":{"maximum_search_quantity":"lots"}}`, "maximum_search_quantity"},
		{"number_manager", `{"_id":"number_manager","default":{"released_state":"gone"}}`, "released_state"},
		{"number_manager", `{"_id":"number_manager","default":{"carrier_modules":["knm_local"]}}`, ""},
		{"crossbar", `{"_id":"crossbar","default":{"anything":"goes"}}`, ""},
	} {
		err := Validate(ctx, &knm.ConfigDoc{ID: tt.id, Body: json.RawMessage(tt.body)})
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("%s: %v", tt.body, err)
		case tt.wantErr != "" && (!knm.IsErrorName(err, knm.ErrInvalid) || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%s: error %v, want one containing %q", tt.body, err, tt.wantErr)
		}
	}
}

// TestSetRefusesInvalid: a write that would make a category unreadable is refused, and the
// stored document is left as it was.
func TestSetRefusesInvalid(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newMemStore()
	c := New(s, "node1", "")
	if err := c.Set(ctx, testCategory, "size", json.RawMessage(`5`), ""); err != nil {
		t.Fatal(err)
	}
	if err := c.Set(ctx, testCategory, "size", json.RawMessage(`"big"`), ""); !knm.IsErrorName(err, knm.ErrInvalid) {
		t.Fatalf("invalid size stored: %v", err)
	}
	if err := c.Set(ctx, testCategory, "size", json.RawMessage(`0`), "node1"); !knm.IsErrorName(err, knm.ErrInvalid) {
		t.Fatalf("invalid node value stored: %v", err)
	}
	if n, err := c.GetInt(ctx, testCategory, "size", 1); err != nil || n != 5 {
		t.Fatalf("after refused writes: %d, %v", n, err)
	}
	if _, err := c.Import(ctx, strings.NewReader(`[{"_id":"config_test.validated","default":{"size":0}}]`)); !knm.IsErrorName(err, knm.ErrInvalid) {
		t.Fatalf("import of an invalid document: %v", err)
	}
}

func TestValidateMarkerAndSections(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tt := range []struct{ id, body, wantErr string }{
		{"crossbar", `{"_id":"crossbar","default":{"api_key":"***"}}`, `a secret is "***"`},
		{"number_manager.voxbone", `{"_id":"number_manager.voxbone","default":{"password":"***"}}`, `a secret is "***"`},
		{"number_manager", `{"_id":"number_manager","default":"oops"}`, "section default must be an object"},
		{"number_manager", `{"_id":"number_manager","pvt_type":"config","_rev":"1-a","default":{}}`, ""},
		{"number_manager", `{"_id":"number_manager","id":"number_manager","tags":["a"],"default":{}}`, ""},
		{"number_manager.voxbone",
			`{"_id":"number_manager.voxbone","default":{"base_url":"https://***:***@proxy.example.com/rest"}}`,
			`a secret is "***"`},
		{"crossbar", `{"_id":"crossbar","default":{"amqp_uri":"amqp://***:***@10.0.0.1"}}`, `a secret is "***"`},
		{"crossbar", `{"_id":"crossbar","default":{"note":"***"}}`, ""},
	} {
		err := Validate(ctx, &knm.ConfigDoc{ID: tt.id, Body: json.RawMessage(tt.body)})
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("%s: %v", tt.body, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%s: error %v, want %q", tt.body, err, tt.wantErr)
		}
	}
	// The round trip an operator would try: show (redacted), import back: refused, and the
	// credential is kept.
	s := newMemStore()
	c := New(s, "", "")
	const cat = "number_manager.voxbone"
	if err := c.Set(ctx, cat, "password", json.RawMessage(`"real"`), ""); err != nil {
		t.Fatal(err)
	}
	if err := c.Set(ctx, cat, "password", json.RawMessage(`"***"`), ""); !knm.IsErrorName(err, knm.ErrInvalid) {
		t.Fatalf("marker stored by set: %v", err)
	}
	doc, _ := s.GetConfig(ctx, "", cat)
	if _, err := c.Import(ctx, strings.NewReader(string(Redact(doc.Body)))); !knm.IsErrorName(err, knm.ErrInvalid) {
		t.Fatalf("marker stored by import: %v", err)
	}
	if pw, err := c.GetString(ctx, cat, "password", ""); err != nil || pw != "real" {
		t.Fatalf("password after refused writes: %q %v", pw, err)
	}
}

// TestKnownKeys: the keys of number_manager are those its reader asks for.
func TestKnownKeys(t *testing.T) {
	keys, ok := KnownKeys(context.Background(), NumberManagerCategory)
	if !ok || !slices.Contains(keys, "carrier_modules") || !slices.Contains(keys, "maximum_search_quantity") ||
		slices.Contains(keys, "usrname") {
		t.Fatalf("KnownKeys(number_manager) = %v, %v", keys, ok)
	}
	if _, ok := KnownKeys(context.Background(), "no_such_category"); ok {
		t.Fatal("a category without a validator has known keys")
	}
}
