package main

import (
	"strings"
	"testing"
)

// TestAccountsKeyCLI: an account created from the CLI gets an API key with accounts key
// --rotate, logs in to the REST API with it, and a second rotation locks the old key out.
func TestAccountsKeyCLI(t *testing.T) {
	t.Parallel()
	db := sqliteDB(t)
	acct := strings.TrimSpace(mustCLI(t, db, "accounts", "create", "Acme"))
	if code, _, errs := cli(t, db, "accounts", "key", acct); code == 0 || !strings.Contains(errs, "--rotate") {
		t.Fatalf("key without --rotate: exit %d, stderr %q", code, errs)
	}
	if code, _, errs := cli(t, db, "accounts", "key", "0123456789abcdef0123456789abcdef", "--rotate"); code == 0 ||
		!strings.Contains(errs, "not found") {
		t.Fatalf("key of an unknown account: exit %d, stderr %q", code, errs)
	}
	key := strings.TrimSpace(mustCLI(t, db, "accounts", "key", acct, "--rotate"))
	if len(key) != 64 {
		t.Fatalf("key %q", key)
	}
	d := startDaemon(t, map[string]string{"KNM_LISTEN": "127.0.0.1:0"}, "", "--db", db, "serve")
	login := func(k string) (int, string) {
		code, env := call(t, "PUT", d.url+"/v2/api_auth", "", `{"data":{"api_key":"`+k+`"}}`)
		return code, field(env, "data", "account_id")
	}
	if code, id := login(key); code != 201 && code != 200 || id != acct {
		t.Fatalf("login with the CLI's key: %d, account %q", code, id)
	}
	newKey := strings.TrimSpace(mustCLI(t, db, "accounts", "key", acct, "--rotate"))
	if code, _ := login(key); code != 401 {
		t.Fatalf("the rotated-out key still logs in: %d", code)
	}
	if code, id := login(newKey); code >= 300 || id != acct {
		t.Fatalf("login with the new key: %d %q", code, id)
	}
}
