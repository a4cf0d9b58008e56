package httpapi

import (
	"net/url"
	"strings"
	"testing"
)

func TestTourSQLite(t *testing.T) {
	t.Parallel()
	tour(t, newTestEnv(t, "", nil))
}

func TestTourPostgres(t *testing.T) {
	t.Parallel()
	tour(t, newTestEnv(t, freshSchemaDSN(t), nil))
}

// tour walks a number through its life over HTTP: token, sub-account, search, activate,
// read, patch, reserve, release.
func tour(t *testing.T, e *testEnv) {
	e.importNumbers("+12565550101", "+12565550102", "+12565550103", "+13125550100")
	master := e.login(e.masterKey)
	acc, key := e.createAccount(master, "customer", nil)
	tok := e.login(key)

	r := e.do("GET", "/v2/accounts/"+acc+"/phone_numbers?prefix=256&quantity=3&country=US", tok, nil)
	if r.Status != 200 {
		t.Fatalf("search: %d %s", r.Status, r.Raw)
	}
	var found []struct{ Number, State string }
	r.data(t, &found)
	if len(found) != 3 || found[0].Number != "+12565550101" || found[0].State != "available" {
		t.Fatalf("search found %+v", found)
	}
	if len(r.Env["carriers"]) == 0 {
		t.Errorf("search reply has no carriers report: %s", r.Raw)
	}

	num := "/v2/accounts/" + acc + "/phone_numbers/" + url.PathEscape("+12565550101")
	r = e.do("PUT", num+"/activate", tok, nil)
	if r.Status != 201 {
		t.Fatalf("activate: %d %s", r.Status, r.Raw)
	}
	var n map[string]any
	r.data(t, &n)
	if n["state"] != "in_service" || n["id"] != "+12565550101" {
		t.Fatalf("activated: %v", n)
	}
	r = e.do("GET", strings.Replace(num, "+", "%2B", 1), tok, nil)
	if r.Status != 200 {
		t.Fatalf("read %%2B: %d %s", r.Status, r.Raw)
	}
	r = e.do("PATCH", num, tok, map[string]any{"data": map[string]any{"cnam": map[string]string{"display_name": "ACME"}}})
	if r.Status != 200 || !strings.Contains(string(r.Env["data"]), "ACME") {
		t.Fatalf("patch: %d %s", r.Status, r.Raw)
	}
	r = e.do("GET", "/v2/accounts/"+acc+"/phone_numbers", tok, nil)
	var listing struct {
		Numbers map[string]struct{ State string } `json:"numbers"`
	}
	r.data(t, &listing)
	if listing.Numbers["+12565550101"].State != "in_service" {
		t.Fatalf("listing: %s", r.Raw)
	}
	r = e.do("PUT", num+"/reserve", master, `{"data":{}}`)
	if r.Status != 400 || r.str("message") != "no_change_required" && r.str("message") != "invalid_state_transition" {
		// Reserving for the owner is Kazoo's no_change_required only from reserved; from
		// in_service it is allowed. Accept either outcome but never a 5xx.
		if r.Status != 201 {
			t.Fatalf("reserve: %d %s", r.Status, r.Raw)
		}
	}
	r = e.do("DELETE", num, tok, nil)
	if r.Status != 200 {
		t.Fatalf("release: %d %s", r.Status, r.Raw)
	}
	r.data(t, &n)
	if n["state"] != "available" && n["state"] != "reserved" {
		t.Fatalf("released: %v", n)
	}
	// The released number is public again, and others cannot see the account.
	other, otherKey := e.createAccount(master, "other", nil)
	_ = other
	otok := e.login(otherKey)
	wantError(t, e.do("GET", "/v2/accounts/"+acc+"/phone_numbers", otok, nil), 403)
	wantError(t, e.do("GET", "/v2/accounts/"+acc, otok, nil), 403)
}
