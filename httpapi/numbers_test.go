package httpapi

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/knmproject/knm"
)

// numPath is the single-number route of num in account acc.
func numPath(acc, num string) string {
	return "/v2/accounts/" + acc + "/phone_numbers/" + url.PathEscape(num)
}

// badIdentifier checks crossbar's not-found envelope naming num.
func badIdentifier(t *testing.T, r reply, num string) {
	t.Helper()
	wantError(t, r, 404)
	var data map[string]string
	r.data(t, &data)
	if r.str("message") != "bad_identifier" || data["message"] != "bad identifier" || data["not_found"] == "" ||
		data["cause"] != num {
		t.Fatalf("not bad_identifier for %s: %s", num, r.Raw)
	}
}

// TestReleaseAvailable: releasing an available number is crossbar's 404 bad_identifier,
// exactly as releasing a missing one (kazoo-knm §3.5); other invalid transitions stay 400.
func TestReleaseAvailable(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, "", nil)
	e.importNumbers("+12565550401", "+12565550402", "+12565550403")
	n, err := e.store.GetNumber(context.Background(), "+12565550402")
	if err != nil {
		t.Fatal(err)
	}
	n.State = knm.StateAging
	if err := e.store.UpdateNumber(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	master := e.login(e.masterKey)
	acc, _ := e.createAccount(master, "owner", nil)

	for _, tc := range []struct {
		name, num string
		status    int
		message   string // envelope message
	}{
		{"available is bad_identifier", "+12565550401", 404, "bad_identifier"},
		{"missing is bad_identifier", "+12565550499", 404, "bad_identifier"},
		{"aging stays invalid_state_transition", "+12565550402", 400, "invalid_state_transition"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("DELETE", numPath(acc, tc.num), master, nil)
			wantError(t, r, tc.status)
			if r.str("message") != tc.message {
				t.Fatalf("message %q, want %q: %s", r.str("message"), tc.message, r.Raw)
			}
			if tc.status == 404 {
				badIdentifier(t, r, tc.num)
			} else if !strings.Contains(string(r.Raw), "from aging to released") {
				t.Fatalf("cause lost: %s", r.Raw)
			}
		})
	}

	// The collection release says the same per number: the available one reads as missing.
	r := e.do("DELETE", "/v2/accounts/"+acc+"/phone_numbers/collection", master,
		`{"data":{"numbers":["+12565550401","+12565550499","+12565550402"]}}`)
	var coll struct {
		Error map[string]knmErrorObject `json:"error"`
	}
	r.data(t, &coll)
	for _, tc := range []struct {
		num  string
		want knmErrorObject
	}{
		{"+12565550401", knmErrorObject{Code: 404, Error: "not_found", Message: "number +12565550401 not found",
			Cause: "+12565550401"}},
		{"+12565550499", knmErrorObject{Code: 404, Error: "not_found", Message: "number +12565550499 not found",
			Cause: "+12565550499"}},
		{"+12565550402", knmErrorObject{Code: 400, Error: "invalid_state_transition",
			Message: "invalid state transition", Cause: "from aging to released"}},
	} {
		if got := coll.Error[tc.num]; got != tc.want {
			t.Errorf("collection release %s: %+v, want %+v (%s)", tc.num, got, tc.want, r.Raw)
		}
	}
	// Nothing changed.
	if n, err := e.store.GetNumber(context.Background(), "+12565550401"); err != nil || n.State != knm.StateAvailable {
		t.Fatalf("available number after release: %+v %v", n, err)
	}
}

// TestListingPageSize: page_size is 1 to 1000 (Kazoo does not clamp; a larger value is a
// 400 that names the bound rather than a silently short page).
func TestListingPageSize(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, "", nil)
	master := e.login(e.masterKey)
	acc, _ := e.createAccount(master, "lister", nil)
	for _, tc := range []struct {
		q      string
		status int
	}{
		{"", 200},
		{"page_size=1", 200},
		{"page_size=1000", 200},
		{"page_size=1001", 400},
		{"page_size=1000000", 400},
		{"page_size=0", 400},
		{"page_size=x", 400},
	} {
		t.Run(tc.q, func(t *testing.T) {
			r := e.do("GET", "/v2/accounts/"+acc+"/phone_numbers?"+tc.q, master, nil)
			if tc.status == 200 {
				if r.Status != 200 {
					t.Fatalf("status %d: %s", r.Status, r.Raw)
				}
				return
			}
			wantError(t, r, tc.status)
			if !strings.Contains(string(r.Raw), "page_size must be an integer from 1 to 1000") {
				t.Fatalf("unclear message: %s", r.Raw)
			}
		})
	}
}

// TestEditRoundTrip: as with Kazoo, a client may GET a number, change a field and send the
// whole document back with POST or PATCH; the keys the API renders are dropped, not stored.
func TestEditRoundTrip(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, "", nil)
	master := e.login(e.masterKey)
	acc, _ := e.createAccount(master, "roundtrip", nil)
	const num = "+14155550450"
	if r := e.do("PUT", numPath(acc, num), master, `{"data":{"nickname":"main"}}`); r.Status != 201 {
		t.Fatalf("create: %d %s", r.Status, r.Raw)
	}
	for _, method := range []string{"POST", "PATCH"} {
		got := e.do("GET", numPath(acc, num), master, nil)
		var doc map[string]json.RawMessage
		if err := json.Unmarshal(got.Env["data"], &doc); err != nil || doc["_read_only"] == nil || doc["state"] == nil {
			t.Fatalf("GET: %s", got.Raw)
		}
		doc["nickname"] = json.RawMessage(`"` + method + `"`)
		body, _ := json.Marshal(map[string]any{"data": doc})
		if r := e.do(method, numPath(acc, num), master, string(body)); r.Status != 200 {
			t.Fatalf("%s of the document as read: %d %s", method, r.Status, r.Raw)
		}
		n, err := e.store.GetNumber(context.Background(), num)
		if err != nil || string(n.Public["nickname"]) != `"`+method+`"` {
			t.Fatalf("%s not applied: %+v %v", method, n, err)
		}
		for _, k := range []string{"state", "_read_only", "features", "used_by", "id"} {
			if _, ok := n.Public[k]; ok {
				t.Fatalf("%s stored the rendered key %s: %v", method, k, n.Public)
			}
		}
	}
}
