package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestLogFlags: every command takes --log-format and --log-level; bad values are one
// clear line.
func TestLogFlags(t *testing.T) {
	t.Parallel()
	db := sqliteDB(t)
	configureVoxbone(t, db, startEmulator(t))
	code, out, errs := cli(t, db, "--log-format", "json", "--log-level", "debug", "voxbone", "balance")
	if code != 0 || !strings.Contains(out, "balance 500.00") {
		t.Fatalf("balance: exit %d %s %s", code, out, errs)
	}
	lines := strings.Split(strings.TrimSpace(errs), "\n")
	var rec map[string]any
	if len(lines) == 0 || json.Unmarshal([]byte(lines[0]), &rec) != nil || rec["level"] != "DEBUG" {
		t.Fatalf("--log-format json --log-level debug: %q", errs)
	}
	if strings.Contains(errs, `"p"`) || strings.Contains(errs, "password") {
		t.Errorf("a log line holds the Voxbone password: %s", errs)
	}
	if _, _, errs := cli(t, db, "--log-level", "info", "voxbone", "balance"); !strings.Contains(errs, "level=") &&
		errs != "" {
		t.Errorf("--log-level info, text: %q", errs)
	}
	oneLineErr(t, db, []string{"--log-level", "loud", "accounts", "list"}, "--log-level", "debug, info")
	oneLineErr(t, db, []string{"--log-format", "xml", "accounts", "list"}, "--log-format", "text or json")
}

// TestServeAccessLog: serve logs one line per request with method, route, status,
// duration and request id, in the format asked for, and never the API key or token.
func TestServeAccessLog(t *testing.T) {
	t.Parallel()
	db := sqliteDB(t)
	const key = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	d := startDaemon(t, map[string]string{"KNM_LISTEN": "127.0.0.1:0", "KNM_MASTER_API_KEY": key}, "",
		"--db", db, "--log-format", "text", "serve")
	code, env := call(t, "PUT", d.url+"/v2/api_auth", "", `{"data":{"api_key":"`+key+`"}}`)
	token := field(env, "auth_token")
	if code >= 300 || token == "" {
		t.Fatalf("api_auth: %d %v", code, env)
	}
	if code, _ := call(t, "GET", d.url+"/v2/accounts", token, ""); code != 200 && code != 404 && code != 405 {
		t.Logf("GET /v2/accounts: %d", code)
	}
	call(t, "GET", d.url+"/healthz", "", "")
	d.stop()
	logs := d.stderr.String()
	var access []string
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, `msg="http request"`) {
			access = append(access, l)
		}
	}
	if len(access) < 3 {
		t.Fatalf("want an access line per request, got:\n%s", logs)
	}
	for _, l := range access {
		for _, f := range []string{"method=", "route=", "status=", "duration=", "request_id="} {
			if !strings.Contains(l, f) {
				t.Errorf("access line lacks %s: %s", f, l)
			}
		}
	}
	if strings.Contains(logs, key) || strings.Contains(logs, token) {
		t.Fatalf("the log holds the API key or the token:\n%s", logs)
	}
}
