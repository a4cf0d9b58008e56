package main

import (
	"strings"
	"testing"
)

// TestDemo runs `knm demo` as a user would and follows its printed instructions over HTTP:
// token, search (bought from the built-in emulator), activate, release.
func TestDemo(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, map[string]string{"KNM_LISTEN": "127.0.0.1:0"}, "Press Ctrl-C", "demo")
	out := strings.Join(d.lines, "\n")
	var key, account string
	for _, l := range d.lines {
		if k, ok := strings.CutPrefix(l, "master API key: "); ok {
			key = k
		}
		if a, ok := strings.CutPrefix(l, "master account: "); ok {
			account = a
		}
	}
	if key == "" || account == "" || strings.Count(out, "curl ") < 4 || !strings.Contains(out, "$TOKEN") {
		t.Fatalf("demo output lacks key, account or curl lines:\n%s", out)
	}
	code, env := call(t, "PUT", d.url+"/v2/api_auth", "", `{"data":{"api_key":"`+key+`"}}`)
	tok := field(env, "auth_token")
	if code != 201 {
		t.Fatalf("api_auth: %d", code)
	}
	num := firstFound(t, d.url+"/v2/accounts/"+account+"/phone_numbers", tok, "prefix=256&quantity=3&country=US", 3)
	if code, env = call(t, "PUT", num+"/activate", tok, ""); code != 201 || field(env, "data", "state") != "in_service" {
		t.Fatalf("activate: %d %s", code, env["data"])
	}
	if code, env = call(t, "DELETE", num, tok, ""); code != 200 {
		t.Fatalf("release: %d %s", code, env["data"])
	}
	if code, env = call(t, "GET", d.url+"/v2/voxbone/balance", tok, ""); code != 200 {
		t.Fatalf("balance: %d %s", code, env["data"])
	}
	if code := d.stop(); code != 0 {
		t.Fatalf("demo exited %d: %s", code, d.stderr.String())
	}
}
