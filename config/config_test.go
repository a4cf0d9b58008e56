package config

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/knmproject/knm"
)

const layered = `{"_id":"cat","default":{"a":"default","b":"default","c":"default"},` +
	`"node1":{"a":"node"},"zone1":{"a":"zone","b":"zone"}}`

func TestLookupOrder(t *testing.T) {
	backends(t, func(t *testing.T, s knm.ConfigStore) {
		ctx := context.Background()
		put(t, s, "", "cat", layered)
		tests := []struct {
			node, zone, key, want string
		}{
			{"node1", "zone1", "a", "node"},
			{"node1", "zone1", "b", "zone"},
			{"node1", "zone1", "c", "default"},
			{"node1", "zone1", "d", "code"},
			{"other", "zone1", "a", "zone"},
			{"", "", "a", "default"},
			{"node1", "", "b", "default"},
		}
		for _, tt := range tests {
			c := New(s, tt.node, tt.zone).WithoutWriteBack()
			got, err := c.GetString(ctx, "cat", tt.key, "code")
			if err != nil || got != tt.want {
				t.Errorf("node %q zone %q key %s = %q, %v; want %q", tt.node, tt.zone, tt.key, got, err, tt.want)
			}
		}
		if got := body(t, s, "", "cat"); got != layered {
			t.Errorf("WithoutWriteBack wrote: %s", got)
		}
	})
}

func TestWriteBack(t *testing.T) {
	backends(t, func(t *testing.T, s knm.ConfigStore) {
		ctx := context.Background()
		c := New(s, "node1", "")
		// A missing document is created with the default.
		if got, err := c.GetInt(ctx, "fresh", "timeout_ms", 5000); err != nil || got != 5000 {
			t.Fatalf("GetInt = %d, %v", got, err)
		}
		if got := body(t, s, "", "fresh"); got != `{"_id":"fresh","default":{"timeout_ms":5000}}` {
			t.Errorf("created document = %s", got)
		}
		// A missing key is appended to default, other keys keeping their place.
		put(t, s, "", "cat", layered)
		if _, err := c.GetStrings(ctx, "cat", "list", []string{"x", "y"}); err != nil {
			t.Fatal(err)
		}
		want := `{"_id":"cat","default":{"a":"default","b":"default","c":"default","list":["x","y"]},` +
			`"node1":{"a":"node"},"zone1":{"a":"zone","b":"zone"}}`
		if got := body(t, s, "", "cat"); got != want {
			t.Errorf("after write-back:\n got %s\nwant %s", got, want)
		}
		// Present keys, in default or only in the node section, are not written.
		r := rev(t, s, "cat")
		for _, key := range []string{"a", "c", "list"} {
			if _, err := c.GetRaw(ctx, "cat", key, json.RawMessage(`"x"`)); err != nil {
				t.Fatal(err)
			}
		}
		if rev(t, s, "cat") != r {
			t.Error("a present key was written back")
		}
		// No code default: nothing to return, nothing written.
		if got, err := c.GetRaw(ctx, "cat", "none", nil); err != nil || got != nil {
			t.Errorf("GetRaw without default = %s, %v", got, err)
		}
		if rev(t, s, "cat") != r {
			t.Error("a nil default was written back")
		}
	})
}

func TestWriteBackRetriesOnConflict(t *testing.T) {
	ctx := context.Background()
	s := newMemStore()
	put(t, s, "", "cat", `{"_id":"cat","default":{"a":1}}`)
	// Another writer adds a key between our read and our write.
	s.beforePut = func(*knm.ConfigDoc) {
		put2 := &knm.ConfigDoc{ID: "cat", Rev: 1, Body: []byte(`{"_id":"cat","default":{"a":1,"other":true}}`)}
		if err := s.PutConfig(ctx, put2); err != nil {
			t.Error(err)
		}
	}
	c := New(s, "", "")
	if _, err := c.GetString(ctx, "cat", "mine", "v"); err != nil {
		t.Fatal(err)
	}
	if got := body(t, s, "", "cat"); got != `{"_id":"cat","default":{"a":1,"other":true,"mine":"v"}}` {
		t.Errorf("after a lost race = %s", got)
	}
	// Another writer stores the very key we wanted to default: theirs is kept.
	s.beforePut = func(*knm.ConfigDoc) {
		d, _ := s.GetConfig(ctx, "", "cat")
		d.Body = []byte(`{"_id":"cat","default":{"k":"theirs"}}`)
		if err := s.PutConfig(ctx, d); err != nil {
			t.Error(err)
		}
	}
	if got, _ := c.GetString(ctx, "cat", "k", "ours"); got != "ours" {
		t.Errorf("GetString = %q, want the code default it computed", got)
	}
	if got := body(t, s, "", "cat"); got != `{"_id":"cat","default":{"k":"theirs"}}` {
		t.Errorf("the other writer's value was overwritten: %s", got)
	}
}

func TestTypedGetters(t *testing.T) {
	backends(t, func(t *testing.T, s knm.ConfigStore) {
		ctx := context.Background()
		put(t, s, "", "cat",
			`{"_id":"cat","default":{"int_s":"5000","int_f":5000.0,"int":7,"bool_s":"TRUE","bool":false,`+
				`"str":"x","num_str":42,"list":["a","b"],"obj":{"z":1,"a":2},"float":"1.5","nested":{"deep":{"k":"v"}},`+
				`"bad_int":"12abc","bad_bool":"yes","bad_list":["a",1],"bad_str":{"a":1},"bad_obj":[1],"frac":1.5,"nul":null}}`)
		c := New(s, "", "")
		check := func(name string, got, want any, err error) {
			t.Helper()
			if err != nil || got != want {
				t.Errorf("%s = %v, %v; want %v", name, got, err, want)
			}
		}
		i, err := c.GetInt(ctx, "cat", "int_s", 0)
		check("int from string", i, 5000, err)
		i, err = c.GetInt(ctx, "cat", "int_f", 0)
		check("int from 5000.0", i, 5000, err)
		i, err = c.GetInt(ctx, "cat", "int", 0)
		check("int", i, 7, err)
		i, err = c.GetInt(ctx, "cat", "nul", 9)
		check("null is absent", i, 9, err)
		b, err := c.GetBool(ctx, "cat", "bool_s", false)
		check("bool from string", b, true, err)
		b, err = c.GetBool(ctx, "cat", "bool", true)
		check("bool", b, false, err)
		str, err := c.GetString(ctx, "cat", "num_str", "")
		check("string from number", str, "42", err)
		str, err = c.GetString(ctx, "cat", "nested.deep.k", "")
		check("dotted path", str, "v", err)
		raw, err := c.Lookup(ctx, "cat", []string{"nested", "deep"}, nil)
		check("path", string(raw), `{"k":"v"}`, err)
		f, err := c.GetFloat(ctx, "cat", "float", 0)
		check("float from string", f, 1.5, err)
		list, err := c.GetStrings(ctx, "cat", "list", nil)
		check("strings", strings.Join(list, ","), "a,b", err)
		obj, err := c.GetObject(ctx, "cat", "obj", nil)
		check("object keeps order", string(obj), `{"z":1,"a":2}`, err)

		bad := []struct {
			key  string
			call func(key string) error
			want string
		}{
			{"bad_int", func(k string) error { _, err := c.GetInt(ctx, "cat", k, 0); return err }, "an integer"},
			{"frac", func(k string) error { _, err := c.GetInt(ctx, "cat", k, 0); return err }, "an integer"},
			{"list", func(k string) error { _, err := c.GetInt(ctx, "cat", k, 0); return err }, "an integer"},
			{"bad_bool", func(k string) error { _, err := c.GetBool(ctx, "cat", k, false); return err }, "a boolean"},
			{"bad_list", func(k string) error { _, err := c.GetStrings(ctx, "cat", k, nil); return err },
				"an array of strings"},
			{"bad_str", func(k string) error { _, err := c.GetString(ctx, "cat", k, ""); return err }, "a string"},
			{"bad_obj", func(k string) error { _, err := c.GetObject(ctx, "cat", k, nil); return err },
				"a JSON object"},
			{"str", func(k string) error { _, err := c.GetFloat(ctx, "cat", k, 0); return err }, "a number"},
		}
		for _, tt := range bad {
			err := tt.call(tt.key)
			if !knm.IsErrorName(err, knm.ErrInvalid) || !strings.Contains(err.Error(),
				"cat "+tt.key+" must be "+tt.want) {
				t.Errorf("%s: err = %v, want knm.ErrInvalid naming cat %s", tt.key, err, tt.key)
			}
		}
	})
}

func TestAliases(t *testing.T) {
	backends(t, func(t *testing.T, s knm.ConfigStore) {
		ctx := context.Background()
		put(t, s, "", "cat",
			`{"_id":"cat","default":{"api_username":"alias","username":"primary","max_page_size":"50"},`+
				`"node1":{"api_username":"node-alias"}}`)
		keys := []string{"username", "api_username"}
		got, err := New(s, "", "").GetStringAlias(ctx, "cat", keys, "")
		if err != nil || got != "primary" {
			t.Errorf("both spellings in default: %q, %v; want the first in the list", got, err)
		}
		got, err = New(s, "node1", "").GetStringAlias(ctx, "cat", keys, "")
		if err != nil || got != "node-alias" {
			t.Errorf("alias in the node section: %q, %v; want it to beat default", got, err)
		}
		n, err := New(s, "", "").GetIntAlias(ctx, "cat", []string{"page_size", "max_page_size"}, 20)
		if err != nil || n != 50 {
			t.Errorf("GetIntAlias = %d, %v", n, err)
		}
		if _, err := New(s, "", "").GetStringAlias(ctx, "cat", []string{"secret", "api_secret"}, "d"); err != nil {
			t.Fatal(err)
		}
		if b := body(t, s, "", "cat"); !strings.Contains(b, `"secret":"d"`) || strings.Contains(b, "api_secret") {
			t.Errorf("default not written under the first spelling: %s", b)
		}
	})
}

func TestSet(t *testing.T) {
	backends(t, func(t *testing.T, s knm.ConfigStore) {
		ctx := context.Background()
		c := New(s, "", "")
		put(t, s, "", "cat", `{"_id":"cat", "default": {"b": 1,  "a": 2}}`)
		if err := c.Set(ctx, "cat", "a", json.RawMessage(` { "y" : 1, "x" : 2 } `), ""); err != nil {
			t.Fatal(err)
		}
		if err := c.Set(ctx, "cat", "features.allow", json.RawMessage(`["cnam"]`), "node1"); err != nil {
			t.Fatal(err)
		}
		want := `{"_id":"cat","default":{"b":1,"a":{"y":1,"x":2}},"node1":{"features":{"allow":["cnam"]}}}`
		if got := body(t, s, "", "cat"); got != want {
			t.Errorf("after Set:\n got %s\nwant %s", got, want)
		}
		if v, _ := New(s, "node1", "").GetStrings(ctx, "cat", "features.allow", nil); len(v) != 1 || v[0] != "cnam" {
			t.Errorf("node value = %v", v)
		}
		if err := c.Set(ctx, "new", "k", json.RawMessage(`true`), ""); err != nil {
			t.Fatal(err)
		}
		if got := body(t, s, "", "new"); got != `{"_id":"new","default":{"k":true}}` {
			t.Errorf("Set on a new category = %s", got)
		}
		for _, tt := range []struct{ key, value string }{{"k", `{bad`}, {"", `1`}, {"b.c", `1`}} {
			if err := c.Set(ctx, "cat", tt.key, json.RawMessage(tt.value), ""); !knm.IsErrorName(err, knm.ErrInvalid) {
				t.Errorf("Set(%q, %s) err = %v, want knm.ErrInvalid", tt.key, tt.value, err)
			}
		}
	})
}

func TestAccountHierarchy(t *testing.T) {
	backends(t, func(t *testing.T, s knm.ConfigStore) {
		ctx := context.Background()
		put(t, s, "", "number_manager",
			`{"_id":"number_manager","default":{"carrier_modules":["knm_local"],"lookup":false}}`)
		put(t, s, "reseller", "number_manager",
			`{"_id":"configs_number_manager","carrier_modules":["knm_voxbone"],"lookup":true}`)
		put(t, s, "sub", "number_manager", `{"_id":"configs_number_manager","carrier_modules":["knm_inventory"]}`)
		put(t, s, "other", "number_manager", `{"_id":"configs_number_manager","reconcile_regex":"^x$"}`)
		c := New(s, "", "")
		tests := []struct {
			account, reseller, want string
		}{
			{"sub", "reseller", "knm_inventory"}, // the account's own
			{"other", "reseller", "knm_voxbone"}, // the account's doc lacks the key: reseller
			{"nodoc", "reseller", "knm_voxbone"}, // no account doc: reseller
			{"reseller", "reseller", "knm_voxbone"},
			{"other", "", "knm_local"},     // no reseller: system
			{"nodoc", "gone", "knm_local"}, // reseller without a doc: system
			{"", "", "knm_local"},
		}
		for _, tt := range tests {
			got, err := c.AccountGetStrings(ctx, tt.account, tt.reseller, "number_manager", "carrier_modules",
				[]string{"code"})
			if err != nil || len(got) != 1 || got[0] != tt.want {
				t.Errorf("account %q reseller %q = %v, %v; want %s", tt.account, tt.reseller, got, err, tt.want)
			}
		}
		if b, err := c.AccountGetBool(ctx, "sub", "reseller", "number_manager", "lookup", false); err != nil || !b {
			t.Errorf("AccountGetBool = %v, %v", b, err)
		}
		if r, err := c.AccountGet(ctx, "other", "number_manager", "reconcile_regex", nil); err != nil ||
			string(r) != `"^x$"` {
			t.Errorf("AccountGet = %s, %v", r, err)
		}
		// The code default lands in system_config, as Kazoo's get_global does.
		if v, err := c.AccountGetString(ctx, "sub", "reseller", "number_manager", "cnam_provider",
			"knm_cnam_notifier"); err != nil || v != "knm_cnam_notifier" {
			t.Errorf("AccountGetString = %q, %v", v, err)
		}
		if !strings.Contains(body(t, s, "", "number_manager"), `"cnam_provider":"knm_cnam_notifier"`) {
			t.Error("account default not written back into system_config")
		}
		if err := c.AccountSet(ctx, "new", "number_manager", "carrier_modules",
			json.RawMessage(`["knm_managed"]`)); err != nil {
			t.Fatal(err)
		}
		if got := body(t, s, "new",
			"number_manager"); got != `{"_id":"configs_number_manager","carrier_modules":["knm_managed"]}` {
			t.Errorf("AccountSet created %s", got)
		}
		if _, err := c.AccountGetStrings(ctx, "other", "", "number_manager", "reconcile_regex",
			nil); !knm.IsErrorName(err, knm.ErrInvalid) {
			t.Errorf("wrong type err = %v", err)
		}
	})
}
