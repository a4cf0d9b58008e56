package httpapi

import (
	"strings"
	"testing"
)

func TestResellerScope(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, "", nil)
	master := e.login(e.masterKey)
	reseller, rkey := e.createAccount(master, "reseller", map[string]any{"is_reseller": true})
	rtok := e.login(rkey)
	child, ckey := e.createAccount(rtok, "child", nil)
	ctok := e.login(ckey)
	if r := e.do("GET", "/v2/accounts/"+child, rtok, nil); r.Status != 200 {
		t.Fatalf("reseller reads child: %d %s", r.Status, r.Raw)
	}
	wantError(t, e.do("GET", "/v2/accounts/"+reseller, ctok, nil), 403)
	wantError(t, e.do("GET", "/v2/system_configs/number_manager", rtok, nil), 403)
	// A sub-account cannot grant itself number additions.
	wantError(t, e.do("PUT", "/v2/accounts", rtok, `{"data":{"name":"x","allow_number_additions":true}}`), 403)
	// Nor create under a parent outside its tree.
	wantError(t, e.do("PUT", "/v2/accounts", ctok, `{"data":{"name":"x","parent_id":"`+reseller+`"}}`), 403)
}

// TestReadForbiddenIsNotFound: a number the caller may not read is answered exactly as a
// missing number (404 bad_identifier, kazoo-knm §6.3), so ownership cannot be probed;
// writes on it stay 403.
func TestReadForbiddenIsNotFound(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, "", nil)
	e.importNumbers("+12565550501", "+12565550502")
	master := e.login(e.masterKey)
	victim, vkey := e.createAccount(master, "victim", nil)
	intruder, ikey := e.createAccount(master, "intruder", nil)
	vtok, itok := e.login(vkey), e.login(ikey)
	if r := e.do("PUT", numPath(victim, "+12565550501")+"/activate", vtok, nil); r.Status != 201 {
		t.Fatalf("setup activate: %s", r.Raw)
	}

	for _, tc := range []struct {
		name, token, acc, num string
		status                int
	}{
		{"owner reads its number", vtok, victim, "+12565550501", 200},
		{"master reads any number", master, intruder, "+12565550501", 200},
		{"anyone reads an available number", itok, intruder, "+12565550502", 200},
		{"foreign in_service number is bad_identifier", itok, intruder, "+12565550501", 404},
		{"missing number is bad_identifier", itok, intruder, "+12565550599", 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("GET", numPath(tc.acc, tc.num), tc.token, nil)
			if tc.status == 200 {
				if r.Status != 200 {
					t.Fatalf("status %d: %s", r.Status, r.Raw)
				}
				return
			}
			badIdentifier(t, r, tc.num)
		})
	}

	// The foreign number and the missing one differ only in the number they name.
	foreign := e.do("GET", numPath(intruder, "+12565550501"), itok, nil)
	missing := e.do("GET", numPath(intruder, "+12565550599"), itok, nil)
	if strings.ReplaceAll(string(foreign.Env["data"]), "0501", "0599") != string(missing.Env["data"]) {
		t.Fatalf("foreign and missing differ:\n%s\n%s", foreign.Env["data"], missing.Env["data"])
	}

	// Writes keep 403.
	for _, tc := range []struct{ method, suffix, body string }{
		{"PATCH", "", `{"data":{"x":1}}`},
		{"POST", "", `{"data":{"x":1}}`},
		{"DELETE", "", ""},
	} {
		t.Run(tc.method+tc.suffix, func(t *testing.T) {
			var body any
			if tc.body != "" {
				body = tc.body
			}
			r := e.do(tc.method, numPath(intruder, "+12565550501")+tc.suffix, itok, body)
			wantError(t, r, 403)
			if r.str("message") != "forbidden" {
				t.Fatalf("message %q: %s", r.str("message"), r.Raw)
			}
		})
	}
}
