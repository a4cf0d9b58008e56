package httpapi

import (
	"net/url"
	"strings"
	"testing"
)

// TestNegative sends every route a missing token, a foreign account's token, malformed
// JSON, wrong types, an oversized body and an invalid number: each must be a 4xx in the
// knm error shape that matches the OpenAPI document, and none may be a 500.
func TestNegative(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, "", &fakeVoxbone{})
	e.importNumbers("+12565550101")
	master := e.login(e.masterKey)
	victim, _ := e.createAccount(master, "victim", nil)
	_, intruderKey := e.createAccount(master, "intruder", nil)
	intruder := e.login(intruderKey)
	if r := e.do("PUT", "/v2/accounts/"+victim+"/phone_numbers/"+url.PathEscape("+12565550101")+"/activate", master,
		nil); r.Status != 201 {
		t.Fatalf("setup activate: %s", r.Raw)
	}
	big := `{"data":{"pad":"` + strings.Repeat("x", 5000) + `"}}`

	for _, rt := range e.api.routes() {
		path := func(number string) string {
			p := strings.ReplaceAll(rt.Path, "{account_id}", victim)
			p = strings.ReplaceAll(p, "{number}", url.PathEscape(number))
			p = strings.ReplaceAll(p, "{category}", "number_manager")
			return strings.ReplaceAll(p, "{id}", "knm-a")
		}
		p := path("+12565550101")
		if strings.HasSuffix(rt.Path, "/phone_numbers") || rt.Path == "/v2/phone_numbers" {
			p += "?prefix=256"
		}
		validBody := `{"data":{"numbers":["+12565550101"],"name":"n","api_key":"k","group_id":1,"quantity":1}}`
		t.Run(rt.Method+" "+rt.Path, func(t *testing.T) {
			check := func(what string, r reply, want ...int) {
				t.Helper()
				if r.Status >= 500 || r.Status < 400 {
					t.Fatalf("%s: status %d: %s", what, r.Status, r.Raw)
				}
				if len(want) > 0 && r.Status != want[0] {
					t.Fatalf("%s: status %d, want %d: %s", what, r.Status, want[0], r.Raw)
				}
				wantError(t, r, r.Status)
			}
			if rt.Auth == authRequired {
				check("missing token", e.do(rt.Method, p, "", validBody), 401)
				check("bad token", e.do(rt.Method, p, "not-a-token", validBody), 401)
			}
			if strings.Contains(rt.Path, "{account_id}") || strings.HasPrefix(rt.Path, "/v2/system_configs") ||
				rt.Path == "/v2/voxbone/balance" || rt.Path == "/v2/voxbone/didgroups" || strings.HasPrefix(rt.Path,
				"/v2/voxbone/orders") {
				want := 403
				if rt.Path == "/v2/voxbone/orders" && rt.Method == "GET" {
					want = 0 // a list filtered to the caller's own orders: allowed, checked below
				}
				if want != 0 {
					check("foreign token", e.do(rt.Method, p, intruder, validBody), want)
				}
			}
			check("oversized body", e.do(rt.Method, p, master, big), 413)
			if strings.Contains(rt.Path, "{number}") {
				check("invalid number", e.do(rt.Method, path("abc"), master, validBody), 400)
			}
			if rt.Body != "" {
				check("malformed JSON", e.do(rt.Method, p, master, `{"data":`), 400)
				check("not an object", e.do(rt.Method, p, master, `[1,2]`), 400)
				check("data not an object", e.do(rt.Method, p, master, `{"data":[1,2]}`), 400)
				if !rt.BodyOptional {
					check("missing data", e.do(rt.Method, p, master, `{"nodata":{}}`), 400)
				}
				if rt.Body == "Object" {
					return // free-form public fields: any object is well typed
				}
				check("wrong types", e.do(rt.Method, p, master,
					`{"data":{"numbers":"x","api_key":5,"name":7,"group_id":"x","quantity":"y","create_with_state":5,`+
						`"ported_in":"yes"}}`))
			}
		})
	}
}
