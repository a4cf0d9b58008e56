package knm_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/knmproject/knm"
)

// TestKazooDocumentsImport reads every phone_number document of testdata/kazoo (our own
// documents, in the shapes Kazoo's databases hold: pvt_features as [], {} or a list of
// names, "undefined" timestamps, wnm_ modules, provider-named E911 fields...), checks that
// each imports with its features preserved and survives MarshalKazoo/UnmarshalKazoo.
func TestKazooDocumentsImport(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("testdata", "kazoo", "*.json"))
	if err != nil || len(files) < 20 {
		t.Fatalf("testdata/kazoo: %d files, %v", len(files), err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".json"), func(t *testing.T) {
			t.Parallel()
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			checkKazooDoc(t, raw)
		})
	}
}

// TestKazooFixtureDocuments imports every document under $KNM_KAZOO_FIXTURES (for
// instance a checkout's core/kazoo_fixturedb/priv/dbs, whose numbers%2F… databases hold
// Kazoo's own test numbers) with the checks of TestKazooDocumentsImport. Documents of
// other types (accounts, views, design documents) are skipped.
func TestKazooFixtureDocuments(t *testing.T) {
	dir := os.Getenv("KNM_KAZOO_FIXTURES")
	if dir == "" {
		t.Skip("set KNM_KAZOO_FIXTURES to a directory of Kazoo number documents to import them all")
	}
	n := 0
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".json") || !strings.Contains(path, "numbers%2F") ||
			filepath.Base(filepath.Dir(path)) != "docs" {
			return err
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		n++
		t.Run(filepath.Base(path), func(t *testing.T) { checkKazooDoc(t, raw) })
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatalf("no numbers%%2F…/docs/*.json under %s", dir)
	}
	t.Logf("%d Kazoo number documents imported", n)
}

// checkKazooDoc imports one document and checks what Kazoo's from_json keeps.
func checkKazooDoc(t *testing.T, raw []byte) {
	t.Helper()
	var n knm.Number
	if err := n.UnmarshalKazoo(raw); err != nil {
		t.Fatalf("import: %v", err)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	checkFeaturesPreserved(t, doc, &n)
	if local := knm.IsLocalModule(n.ModuleName); local != (n.Features["local"] != nil) {
		t.Errorf("module %s but features %v", n.ModuleName, n.FeatureNames())
	}
	out, err := n.MarshalKazoo()
	if err != nil {
		t.Fatal(err)
	}
	var back knm.Number
	if err := back.UnmarshalKazoo(out); err != nil {
		t.Fatalf("re-import of %s: %v", out, err)
	}
	if !reflect.DeepEqual(canonical(t, &n), canonical(t, &back)) {
		t.Errorf("round trip differs:\n%s\n%s", canonical(t, &n), canonical(t, &back))
	}
}

// checkFeaturesPreserved checks that every feature of an object-shaped pvt_features is
// imported with the same settings (the provider-named E911 features as e911), and that a
// list of names gives one feature per name.
func checkFeaturesPreserved(t *testing.T, doc map[string]json.RawMessage, n *knm.Number) {
	t.Helper()
	var obj map[string]json.RawMessage
	if json.Unmarshal(doc["pvt_features"], &obj) == nil {
		for k, v := range obj {
			if k == "dash_e911" || k == "vitelity_e911" {
				k = "e911"
			}
			if k != "local" && !sameJSON(v, n.Features[k]) {
				t.Errorf("feature %s = %s, want %s", k, n.Features[k], v)
			}
		}
		return
	}
	var names []string
	if json.Unmarshal(doc["pvt_features"], &names) == nil {
		for _, name := range names {
			switch name {
			case "inbound_lookup":
				name = "inbound_cnam"
			case "dash_e911", "vitelity_e911", "telnyx_e911":
				name = "e911"
			}
			if n.Features[name] == nil {
				t.Errorf("feature %s of the name list is missing: %v", name, n.FeatureNames())
			}
		}
	}
}

func sameJSON(a, b json.RawMessage) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && reflect.DeepEqual(x, y)
}

// canonical is n as comparable JSON values (raw messages re-decoded, revision dropped).
func canonical(t *testing.T, n *knm.Number) string {
	t.Helper()
	c := n.Clone()
	c.Rev = 0
	b, err := c.MarshalKazoo()
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(v)
	return string(out)
}

// TestKazooDocumentShapes pins how each shape of testdata/kazoo reads.
func TestKazooDocumentShapes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		file, state, module, features string
		check                         func(*knm.Number) bool
	}{
		{"list_empty_number_state", "in_service", "knm_other", "", nil},
		{"list_empty_wnm_module", "in_service", "knm_other", "", nil},
		{"custom_fields_dash_public", "reserved", "knm_local", "local", func(n *knm.Number) bool {
			return sameJSON(n.Public["e911"], n.Public["dash_e911"]) && n.Public["Listed"] != nil && n.Public["used_by"] == nil
		}},
		{"created_undefined", "in_service", "knm_local", "local", func(n *knm.Number) bool {
			return n.Created.IsZero() && n.Modified.IsZero() && n.Public["pvt_features_available"] == nil
		}},
		{"e911_features_available", "in_service", "knm_bandwidth2", "e911", nil},
		{"dash_e911_private", "in_service", "knm_bandwidth2", "e911 inbound_cnam outbound_cnam", func(n *knm.Number) bool {
			return strings.Contains(string(n.Features["e911"]), "PROVISIONED") && n.Created.IsZero()
		}},
		{"features_empty_object", "in_service", "knm_other", "", func(n *knm.Number) bool { return n.Features == nil }},
		{"minimal", "in_service", "knm_local", "local", nil},
		{"mdn_local", "in_service", "knm_mdn", "local", nil},
		{"denied_billable", "in_service", "knm_bandwidth2", "e911 inbound_cnam outbound_cnam", func(n *knm.Number) bool {
			return slices.Equal(n.FeaturesDenied, []string{"failover"})
		}},
		{"features_name_list", "in_service", "knm_vitelity",
			"e911 failover force_outbound inbound_cnam outbound_cnam port prepend ringback", func(n *knm.Number) bool {
				return sameJSON(n.Features["outbound_cnam"], []byte(`{"display_name":"Lobby"}`)) &&
					sameJSON(n.Features["force_outbound"], []byte(`true`)) &&
					sameJSON(n.Features["prepend"], []byte(`{"enabled":true,"name":"Lobby"}`)) &&
					sameJSON(n.Features["failover"], []byte(`{"e164":"+15035550199"}`)) &&
					sameJSON(n.Features["ringback"], []byte(`{"early":"tone://ring"}`)) &&
					sameJSON(n.Features["e911"], []byte(`{"caller_name":"Lobby"}`)) &&
					sameJSON(n.Public["e911"], []byte(`{"caller_name":"Lobby"}`))
			}},
	} {
		raw, err := os.ReadFile(filepath.Join("testdata", "kazoo", tc.file+".json"))
		if err != nil {
			t.Fatal(err)
		}
		var n knm.Number
		if err := n.UnmarshalKazoo(raw); err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		if string(n.State) != tc.state || n.ModuleName != tc.module || strings.Join(n.FeatureNames(), " ") != tc.features {
			t.Errorf("%s: state %s module %s features %v", tc.file, n.State, n.ModuleName, n.FeatureNames())
		}
		if tc.check != nil && !tc.check(&n) {
			t.Errorf("%s: imported as %+v", tc.file, n)
		}
	}
}

// TestUnmarshalKazooRefusesNonNumberIDs checks that a document the store could neither
// show nor delete is refused with a message naming its _id.
func TestUnmarshalKazooRefusesNonNumberIDs(t *testing.T) {
	t.Parallel()
	for _, id := range []string{`"bogus"`, `"12125550101"`, `"+1"`, `"+1212555010x"`, `""`, `null`} {
		var n knm.Number
		err := n.UnmarshalKazoo([]byte(`{"_id":` + id + `,"pvt_state":"available"}`))
		if !knm.IsErrorName(err, knm.ErrInvalid) {
			t.Errorf("_id %s: %v, want invalid", id, err)
			continue
		}
		if want := strings.Trim(id, `"`); want != "" && want != "null" && !strings.Contains(err.Error(), want) {
			t.Errorf("_id %s: message %q does not name it", id, err)
		}
	}
	var n knm.Number
	for _, doc := range []string{
		`{"_id":"+12125550101","pvt_created":"soon"}`,
		`{"_id":"+12125550101","pvt_features":"cnam"}`,
		`{"_id":"+12125550101","pvt_features":[1]}`,
		`{"_id":"+12125550101","pvt_ported_in":"maybe"}`,
	} {
		if err := n.UnmarshalKazoo([]byte(doc)); !knm.IsErrorName(err, knm.ErrInvalid) {
			t.Errorf("%s: %v, want invalid", doc, err)
		}
	}
}
