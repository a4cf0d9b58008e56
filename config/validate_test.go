package config

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/knmproject/knm"
)

func TestValidate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tt := range []struct {
		id, body, wantErr string
	}{
		{"number_manager.voxbone", `{"_id":"number_manager.voxbone","default":{"environment":"production"}}`, ""},
		{"number_manager.voxbone", `{"_id":"number_manager.voxbone","default":{"environment":"mars"}}`,
			"section default: "},
		{"number_manager.voxbone", `{"_id":"number_manager.voxbone","default":{},"node1":{"page_size":0}}`,
			"section node1: "},
		{"number_manager", `{"_id":"number_manager","default":{"maximum_search_quantity":"lots"}}`,
			"maximum_search_quantity"},
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
	if err := c.Set(ctx, VoxboneCategory, "environment", json.RawMessage(`"production"`), ""); err != nil {
		t.Fatal(err)
	}
	if err := c.Set(ctx, VoxboneCategory, "environment", json.RawMessage(`"mars"`), ""); !knm.IsErrorName(err,
		knm.ErrInvalid) {
		t.Fatalf("invalid environment stored: %v", err)
	}
	if err := c.Set(ctx, VoxboneCategory, "page_size", json.RawMessage(`9999`), "node1"); !knm.IsErrorName(err,
		knm.ErrInvalid) {
		t.Fatalf("invalid node value stored: %v", err)
	}
	v, err := c.Voxbone(ctx)
	if err != nil || v.Environment != "production" || v.PageSize != 20 {
		t.Fatalf("after refused writes: %+v, %v", v, err)
	}
	mars := `[{"_id":"number_manager.voxbone","default":{"environment":"mars"}}]`
	if _, err := c.Import(ctx, strings.NewReader(mars)); !knm.IsErrorName(err, knm.ErrInvalid) {
		t.Fatalf("import of an invalid document: %v", err)
	}
}

func TestVoxboneCredentials(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		v          VoxboneConfig
		configured bool
		err        string
	}{
		{VoxboneConfig{Environment: "production"}, false, "needs username and password"},
		{VoxboneConfig{Environment: "sandbox", Username: "u"}, true, "go together"},
		{VoxboneConfig{Environment: "sandbox", Username: "u", Password: "p"}, true, ""},
		{VoxboneConfig{Environment: "beta"}, false, "needs api_key"},
		{VoxboneConfig{Environment: "beta", APIKey: "k"}, true, ""},
		{VoxboneConfig{Environment: "sandbox", BaseURL: "http://127.0.0.1:1/ws"}, true, ""},
		{VoxboneConfig{Environment: "sandbox", BaseURL: "http://127.0.0.1:1/ws", Password: "p"}, true, "go together"},
	} {
		if got := tt.v.Configured(); got != tt.configured {
			t.Errorf("%+v: Configured = %v", tt.v, got)
		}
		err := tt.v.CheckCredentials()
		if tt.err == "" && err != nil || tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("%+v: CheckCredentials = %v, want %q", tt.v, err, tt.err)
		}
		if err != nil && strings.Contains(err.Error(), "p\"") {
			t.Errorf("error shows a secret: %v", err)
		}
	}
}

func TestValidateMarkerAndSections(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tt := range []struct{ id, body, wantErr string }{
		{"crossbar", `{"_id":"crossbar","default":{"api_key":"***"}}`, `a secret is "***"`},
		{"number_manager.voxbone", `{"_id":"number_manager.voxbone","default":{"password":"***"}}`,
			`a secret is "***"`},
		{"number_manager.voxbone", `{"_id":"number_manager.voxbone","default":"oops"}`,
			"section default must be an object"},
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
	if err := c.Set(ctx, VoxboneCategory, "password", json.RawMessage(`"real"`), ""); err != nil {
		t.Fatal(err)
	}
	if err := c.Set(ctx, VoxboneCategory, "password", json.RawMessage(`"***"`), ""); !knm.IsErrorName(err,
		knm.ErrInvalid) {
		t.Fatalf("marker stored by set: %v", err)
	}
	doc, _ := s.GetConfig(ctx, "", VoxboneCategory)
	if _, err := c.Import(ctx, strings.NewReader(string(Redact(doc.Body)))); !knm.IsErrorName(err, knm.ErrInvalid) {
		t.Fatalf("marker stored by import: %v", err)
	}
	if v, err := c.Voxbone(ctx); err != nil || v.Password != "real" {
		t.Fatalf("password after refused writes: %q %v", v.Password, err)
	}
}
