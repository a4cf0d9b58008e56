package manager

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/internal/kzjson"
)

// TestImportKazooKeepsFixtureFeatures imports every Kazoo number document of
// testdata/kazoo in one file and checks that each number's pvt_features come out as Kazoo
// stored them (their public fields already agree with them, or the settings would refuse
// them and the import keeps them untouched), and exports them unchanged.
func TestImportKazooKeepsFixtureFeatures(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("..", "testdata", "kazoo", "*.json"))
	if err != nil || len(paths) < 10 {
		t.Fatalf("fixtures: %v %v", paths, err)
	}
	var docs []string
	want := map[string]*knm.Number{}
	for _, p := range paths {
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		n := &knm.Number{}
		if err := n.UnmarshalKazoo(raw); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		want[n.Number] = n
		docs = append(docs, string(raw))
	}
	forEachStore(t, func(t *testing.T, s knm.Store) {
		e := newEnv(t, s, Policy{})
		rep, err := e.m.ImportKazoo(context.Background(), strings.NewReader("["+strings.Join(docs, ",")+"]"), nil)
		if err != nil || rep.Imported != len(want) || rep.Rejected != 0 {
			t.Fatalf("import: %+v %v", rep, err)
		}
		for num, w := range want {
			got := e.get(t, num)
			gotJSON, _ := json.Marshal(got.Features)
			wantJSON, _ := json.Marshal(w.Features)
			if !kzjson.Equal(gotJSON, wantJSON) {
				t.Errorf("%s: pvt_features %s, want %s", num, gotJSON, wantJSON)
			}
			// And back out as Kazoo's document, features unchanged.
			doc, err := got.MarshalKazoo()
			if err != nil {
				t.Fatal(err)
			}
			var back struct {
				Features map[string]json.RawMessage `json:"pvt_features"`
			}
			if err := json.Unmarshal(doc, &back); err != nil {
				t.Fatal(err)
			}
			backJSON, _ := json.Marshal(back.Features)
			if !kzjson.Equal(backJSON, wantJSON) {
				t.Errorf("%s: exported pvt_features %s, want %s", num, backJSON, wantJSON)
			}
		}
	})
}

// TestImportKazooSyncsFeatures: a document whose public cnam disagrees with its
// pvt_features (edited outside the number manager) is brought in line on import.
func TestImportKazooSyncsFeatures(t *testing.T) {
	forEachStore(t, func(t *testing.T, s knm.Store) {
		e := newEnv(t, s, Policy{})
		doc := `{"_id":"+14045550199","pvt_state":"in_service","pvt_assigned_to":"` + accS + `",
			"pvt_module_name":"knm_vitelity","cnam":{"display_name":"New Name"},
			"pvt_features":{"outbound_cnam":{"display_name":"Old Name"}}}`
		if _, err := e.m.ImportKazoo(context.Background(), strings.NewReader(doc), nil); err != nil {
			t.Fatal(err)
		}
		got := e.get(t, "+14045550199")
		if !kzjson.Equal(got.Features["outbound_cnam"], json.RawMessage(`{"display_name":"New Name"}`)) {
			t.Fatalf("outbound_cnam %s", got.Features["outbound_cnam"])
		}
	})
}
