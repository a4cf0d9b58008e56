package httpapi

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/knmproject/knm"
)

// newBulkEnv is an API holding the available numbers nums and an account "bulk" under the
// master; it returns the master's token and the account's phone_numbers path.
func newBulkEnv(t *testing.T, nums ...string) (e *testEnv, master, base string) {
	e = newTestEnv(t, "", nil)
	e.importNumbers(nums...)
	master = e.login(e.masterKey)
	acc, _ := e.createAccount(master, "bulk", nil)
	return e, master, "/v2/accounts/" + acc + "/phone_numbers"
}

// TestCollectionsAndInfo: collection activate and release, carriers_info, classifiers and
// check over a real store.
func TestCollectionsAndInfo(t *testing.T) {
	t.Parallel()
	e, master, base := newBulkEnv(t, "+12565550201", "+12565550202")
	r := e.do("PUT", base+"/collection/activate", master,
		`{"data":{"numbers":["+12565550201","+12565550202","+19995550000"]}}`)
	var coll struct {
		Success map[string]json.RawMessage `json:"success"`
		Error   map[string]json.RawMessage `json:"error"`
	}
	r.data(t, &coll)
	if r.Status != 201 || len(coll.Success) != 2 || len(coll.Error) != 1 {
		t.Fatalf("collection activate: %d %s", r.Status, r.Raw)
	}
	r = e.do("DELETE", base+"/collection", master, `{"data":{"numbers":["+12565550201"]}}`)
	if r.Status != 200 {
		t.Fatalf("collection release: %d %s", r.Status, r.Raw)
	}
	r = e.do("PUT", base+"/collection", master, `{"data":{"numbers":["+14155550300"],"create_with_state":"available"}}`)
	if r.Status != 201 || !strings.Contains(string(r.Raw), `"success"`) {
		t.Fatalf("collection create: %d %s", r.Status, r.Raw)
	}
	r = e.do("GET", base+"/carriers_info", master, nil)
	var info struct {
		Max    int      `json:"maximal_prefix_length"`
		States []string `json:"usable_creation_states"`
	}
	r.data(t, &info)
	if r.Status != 200 || len(info.States) != 5 {
		t.Fatalf("carriers_info: %s", r.Raw)
	}
	r = e.do("GET", base+"/classifiers/"+url.PathEscape("+18005550100"), master, nil)
	if r.Status != 200 || !strings.Contains(string(r.Raw), `"e164":"+18005550100"`) {
		t.Fatalf("classify: %s", r.Raw)
	}
	if r := e.do("GET", base+"/classifiers", master, nil); r.Status != 200 {
		t.Fatalf("classifiers: %s", r.Raw)
	}
	r = e.do("POST", base+"/check", master, `{"data":{"numbers":["+12565550202"]}}`)
	if r.Status != 200 || !strings.Contains(string(r.Raw), "+12565550202") {
		t.Fatalf("check: %s", r.Raw)
	}
}

// TestCollectionUniqueAfterNormalization: numbers that normalize to the same E.164 are one
// number; the request is refused (400 on numbers, uniqueItems) before anything is done.
func TestCollectionUniqueAfterNormalization(t *testing.T) {
	t.Parallel()
	e, master, base := newBulkEnv(t, "+12565550601", "+12565550602")

	for _, tc := range []struct {
		name, method, path, numbers string
	}{
		{"activate", "PUT", base + "/collection/activate", `["+12565550601","12565550601"]`},
		{"activate padded", "PUT", base + "/collection/activate", `["12565550601"," +12565550601 "]`},
		{"create", "PUT", base + "/collection", `["+14155550002","14155550002"]`},
		{"release", "DELETE", base + "/collection", `["+12565550602","2565550602"]`},
		{"check", "POST", base + "/check", `["+12565550602","12565550602"]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := `{"data":{"numbers":` + tc.numbers + `,"create_with_state":"available"}}`
			if tc.name != "create" {
				body = `{"data":{"numbers":` + tc.numbers + `}}`
			}
			r := e.do(tc.method, tc.path, master, body)
			wantInvalid(t, r, "numbers", "uniqueItems")
			if !strings.Contains(string(r.Env["data"]), `"uniqueItems":{`) {
				t.Fatalf("not a uniqueItems error on numbers: %s", r.Raw)
			}
		})
	}
	// Nothing was acted on.
	for num, want := range map[string]knm.State{"+12565550601": knm.StateAvailable,
		"+12565550602": knm.StateAvailable} {
		if n, err := e.store.GetNumber(context.Background(), num); err != nil || n.State != want {
			t.Fatalf("%s after refused collections: %+v %v", num, n, err)
		}
	}
	if _, err := e.store.GetNumber(context.Background(), "+14155550002"); !knm.IsErrorName(err, knm.ErrNotFound) {
		t.Fatalf("refused collection created +14155550002: %v", err)
	}
	// A number given in national form is acted on, and answered, as E.164.
	r := e.do("PUT", base+"/collection/activate", master, `{"data":{"numbers":["12565550601"]}}`)
	var coll struct {
		Success map[string]json.RawMessage `json:"success"`
	}
	r.data(t, &coll)
	if r.Status != 201 || coll.Success["+12565550601"] == nil {
		t.Fatalf("national-form activate: %d %s", r.Status, r.Raw)
	}
}
