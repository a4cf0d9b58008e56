package config

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/knmproject/knm"
)

func TestImport(t *testing.T) {
	backends(t, func(t *testing.T, s knm.ConfigStore) {
		ctx := context.Background()
		c := New(s, "", "")
		one := `{"_id":"number_manager","_rev":"3-abc","default":{"e164_converters":{"^b$":{},"^a$":{}}},` +
			`"pvt_type":"config"}`
		docs, err := c.Import(ctx, strings.NewReader(one))
		if err != nil || len(docs) != 1 {
			t.Fatalf("Import(one) = %v, %v", docs, err)
		}
		if got := body(t, s, "",
			"number_manager"); got != `{"_id":"number_manager","default":{"e164_converters":{"^b$":{},"^a$":{}}},`+
			`"pvt_type":"config"}` {
			t.Errorf("imported body = %s", got)
		}
		array := `[
		  {"_id":"number_manager.voxbone","_rev":"1-x","_attachments":{},"default":{"username":"u"}},
		  {"_id":"configs_number_manager","pvt_account_id":"acct1","carrier_modules":["knm_voxbone"]},
		  {"_id":"configs_crossbar","pvt_account_id":"system_config","default":{}}
		]`
		docs, err = c.Import(ctx, strings.NewReader(array))
		if err != nil || len(docs) != 3 {
			t.Fatalf("Import(array) = %v, %v", docs, err)
		}
		if got := body(t, s, "",
			"number_manager.voxbone"); got != `{"_id":"number_manager.voxbone","default":{"username":"u"}}` {
			t.Errorf("voxbone body = %s", got)
		}
		if got, err := c.AccountGetStrings(ctx, "acct1", "", "number_manager", "carrier_modules", nil); err != nil ||
			len(got) != 1 || got[0] != "knm_voxbone" {
			t.Errorf("imported account doc read back as %v, %v", got, err)
		}
		if body(t, s, "", "configs_crossbar") == "" {
			t.Error("a configs_ doc of system_config should be a system document")
		}
	})
}

func TestImportRefusals(t *testing.T) {
	ctx := context.Background()
	tests := []struct{ name, in, want string }{
		{"malformed", "[\n  {\"_id\": \"a\",\n   \"default\": {,}\n  }\n]", "line 3, column 16"},
		{"malformed first line", `{"_id" "a"}`, "line 1, column 8"},
		{"truncated", "{\"_id\": \"a\",\n", "malformed JSON at line 2, column 1"},
		{"no _id", `{"default":{}}`, `document 1: no "_id"`},
		{"non-string _id", `[{"_id":"a"},{"_id":5}]`, `document 2: "_id" must be a non-empty string`},
		{"not an object", `[{"_id":"a"},"b"]`, "document 2: not a JSON object"},
		{"scalar", `"x"`, "want a JSON object or an array"},
		{"empty array", `[]`, "no documents"},
		{"duplicate", `[{"_id":"a"},{"_id":"a"}]`, "documents 1 and 2 are both system_config/a"},
	}
	for _, tt := range tests {
		s := newMemStore()
		_, err := New(s, "", "").Import(ctx, strings.NewReader(tt.in))
		if !knm.IsErrorName(err, knm.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want knm.ErrInvalid containing %q", tt.name, err, tt.want)
		}
		if len(s.docs) != 0 {
			t.Errorf("%s: %d documents written; want none", tt.name, len(s.docs))
		}
	}
	// The store's transaction failing writes nothing and is reported.
	s := newMemStore()
	s.failImport = errors.New("disk full")
	if _, err := New(s, "", "").Import(ctx, strings.NewReader(`[{"_id":"a"},{"_id":"b"}]`)); err == nil ||
		!strings.Contains(err.Error(), "disk full") {
		t.Errorf("store failure err = %v", err)
	}
	if len(s.docs) != 0 {
		t.Error("documents written despite the failure")
	}
}
