package main

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestServeTourSQLite(t *testing.T) {
	t.Parallel()
	serveTour(t, "sqlite:"+filepath.Join(t.TempDir(), "knm.db"))
}

func TestServeTourPostgres(t *testing.T) {
	t.Parallel()
	serveTour(t, pgSchemaDSN(t))
}

// serveTour runs `knm serve` against the emulator and walks a number through the API over
// real HTTP: token, account, search (buys from the emulator), activate, read, patch,
// reserve, release; then restarts to check the master key is printed only once.
func serveTour(t *testing.T, db string) {
	configureVoxbone(t, db, startEmulator(t))
	d := startDaemon(t, nil, "", "--db", db, "serve", "--listen", "127.0.0.1:0")
	var key string
	for _, l := range d.lines {
		if k, ok := strings.CutPrefix(l, "master API key (shown once, keep it safe): "); ok {
			key = k
		}
	}
	if key == "" {
		t.Fatalf("no master key printed: %q", d.lines)
	}
	code, env := call(t, "PUT", d.url+"/v2/api_auth", "", `{"data":{"api_key":"`+key+`"}}`)
	master := field(env, "auth_token")
	if code != 201 || master == "" {
		t.Fatalf("api_auth: %d %v", code, env)
	}
	code, env = call(t, "PUT", d.url+"/v2/accounts", master, `{"data":{"name":"customer"}}`)
	acc, accKey := field(env, "data", "id"), field(env, "data", "api_key")
	if code != 201 || accKey == "" {
		t.Fatalf("create account: %d %v", code, env)
	}
	_, env = call(t, "PUT", d.url+"/v2/api_auth", "", `{"data":{"api_key":"`+accKey+`"}}`)
	tok := field(env, "auth_token")

	num := firstFound(t, d.url+"/v2/accounts/"+acc+"/phone_numbers", tok, "prefix=205&quantity=2&country=US", 2)
	for _, step := range []struct{ method, suffix, body, state string }{
		{"PUT", "/activate", "", "in_service"},
		{"GET", "", "", "in_service"},
		{"PATCH", "", `{"data":{"cnam":{"display_name":"ACME"}}}`, "in_service"},
		{"PUT", "/reserve", "", "reserved"},
		// Released by its owner: cancelled at Voxbone, so it leaves knm for good.
		{"DELETE", "", "", "deleted"},
	} {
		code, env = call(t, step.method, num+step.suffix, tok, step.body)
		want := 200
		if step.method == "PUT" {
			want = 201 // every successful crossbar PUT
		}
		if code != want || field(env, "data", "state") != step.state {
			t.Fatalf("%s %s: %d %s", step.method, step.suffix, code, env["data"])
		}
	}
	if strings.Contains(d.stderr.String(), key) || strings.Contains(d.stderr.String(), accKey) ||
		strings.Contains(d.stderr.String(), tok) {
		t.Fatal("a secret reached the logs")
	}
	if code := d.stop(); code != 0 {
		t.Fatalf("serve exited %d: %s", code, d.stderr.String())
	}

	// A second start keeps the key (not printed again); KNM_MASTER_API_KEY replaces it.
	d2 := startDaemon(t, map[string]string{"KNM_MASTER_API_KEY": "my-own-master-key-0123456789"}, "", "--db", db,
		"serve", "--listen", "127.0.0.1:0")
	if strings.Contains(strings.Join(d2.lines, "\n"), "master API key") {
		t.Fatalf("key printed again: %q", d2.lines)
	}
	if code, _ := call(t, "PUT", d2.url+"/v2/api_auth", "",
		`{"data":{"api_key":"my-own-master-key-0123456789"}}`); code != 201 {
		t.Fatalf("env master key refused: %d", code)
	}
	if code, _ := call(t, "PUT", d2.url+"/v2/api_auth", "", `{"data":{"api_key":"`+key+`"}}`); code != 401 {
		t.Fatalf("old master key still accepted: %d", code)
	}
	// Tokens are stateless: the first instance's token works on the second.
	if code, _ := call(t, "GET", d2.url+"/v2/accounts/"+acc, master, ""); code != 200 {
		t.Fatalf("token from another instance refused: %d", code)
	}
}
