package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/webhooks"
)

// TestEventsAndWebhooksCLI covers events tail, consumers and purge, and webhooks list,
// create, enable and delete, with their bad input.
func TestEventsAndWebhooksCLI(t *testing.T) {
	t.Parallel()
	db := sqliteDB(t)
	acct := strings.TrimSpace(mustCLI(t, db, "accounts", "create", "acme", "--reseller"))
	mustCLI(t, db, "numbers", "create", "+14155550100", "--state", "available")
	mustCLI(t, db, "numbers", "activate", "+14155550100", "--account", acct)

	out := mustCLI(t, db, "--json", "events", "tail")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("tail printed %d lines, want 2:\n%s", len(lines), out)
	}
	var ev knm.Event
	err := json.Unmarshal([]byte(lines[1]), &ev)
	if err != nil || ev.Type != knm.EventNumberAssigned || ev.AccountAfter != acct {
		t.Fatalf("second event: %s (%v)", lines[1], err)
	}
	out = mustCLI(t, db, "events", "tail", "--since", "1")
	if !strings.Contains(out, "number.assigned") || strings.Contains(out, "number.created") ||
		!strings.Contains(out, "available -> in_service") {
		t.Fatalf("tail --since 1:\n%s", out)
	}
	if out := mustCLI(t, db, "events", "tail", "-n", "1"); strings.Contains(out, "number.created") {
		t.Fatalf("tail -n 1 printed more than the newest event:\n%s", out)
	}
	for _, args := range [][]string{{"events", "tail", "-n", "0"}, {"events", "tail", "--since", "-5"}, {"events"},
		{"webhooks", "create", "--name", "x", "--uri", "https://h.example/"},
		{"webhooks", "create", "--account", acct, "--name", "x", "--uri", "https://u:p@h.example/"},
		{"webhooks", "create", "--account", acct, "--name", "x", "--uri", "gopher://h.example/"},
		{"webhooks", "create", "--account", acct, "--name", "x", "--uri", "https://h.example/", "--data", "novalue"},
		{"webhooks", "create", "--account", strings.Repeat("0", 32), "--name", "x", "--uri", "https://h.example/"},
		{"webhooks", "delete", strings.Repeat("0", 32)}} {
		code, _, errs := cli(t, db, args...)
		if code == 0 || strings.Count(strings.TrimSpace(errs), "\n") != 0 || errs == "" {
			t.Errorf("knm %v: exit %d, stderr %q; want one error line", args, code, errs)
		}
	}

	out = mustCLI(t, db, "webhooks", "create", "--account", acct, "--name", "billing", "--uri",
		"https://billing.example.com/knm", "--data", "tenant=acme")
	id, secret, _ := strings.Cut(strings.TrimSpace(out), "\nsigning secret (shown once, keep it safe): ")
	if len(id) != 32 || len(secret) != 64 {
		t.Fatalf("create printed %q", out)
	}
	for _, args := range [][]string{{"webhooks", "list"}, {"--json", "webhooks", "list", "--account", acct}} {
		out := mustCLI(t, db, args...)
		if !strings.Contains(out, id) || strings.Contains(out, secret) {
			t.Fatalf("knm %v shows the secret or lacks the hook:\n%s", args, out)
		}
	}
	if out := mustCLI(t, db, "events", "consumers"); !strings.Contains(out, "webhook:"+id) {
		t.Fatalf("consumers:\n%s", out)
	}
	if out := mustCLI(t, db, "webhooks", "enable", id); !strings.Contains(out, "enabled "+id) {
		t.Fatalf("enable: %s", out)
	}
	if out := mustCLI(t, db, "events", "purge"); !strings.Contains(out, "purged 0 event(s)") {
		t.Fatalf("purge: %s", out)
	}
	mustCLI(t, db, "webhooks", "delete", id)
	if out := mustCLI(t, db, "webhooks", "list"); strings.Contains(out, id) {
		t.Fatalf("deleted hook still listed:\n%s", out)
	}
}

// TestServeDeliversWebhooks: knm serve delivers a number change made through the API to
// a hook created with the CLI, signed with the secret the CLI printed.
func TestServeDeliversWebhooks(t *testing.T) {
	t.Parallel()
	db := sqliteDB(t)
	acct := strings.TrimSpace(mustCLI(t, db, "accounts", "create", "acme", "--reseller"))
	mustCLI(t, db, "numbers", "create", "+14155550100", "--state", "available")
	var (
		mu     sync.Mutex
		got    []string
		secret string
	)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if err := webhooks.Verify(secret, r.Header.Get(webhooks.SignatureHeader), body, time.Now(), time.Minute); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		got = append(got, r.Header.Get(webhooks.EventTypeHeader))
	}))
	defer rcv.Close()
	out := mustCLI(t, db, "webhooks", "create", "--account", acct, "--name", "n", "--uri", rcv.URL)
	mu.Lock()
	_, secret, _ = strings.Cut(strings.TrimSpace(out), "keep it safe): ")
	mu.Unlock()

	d := startDaemon(t, map[string]string{"KNM_LISTEN": "127.0.0.1:0", "KNM_MASTER_API_KEY": "master-key-0123456789"}, "",
		"--db", db, "serve")
	_, env := call(t, "PUT", d.url+"/v2/api_auth", "", `{"data":{"api_key":"master-key-0123456789"}}`)
	var tok string
	json.Unmarshal(env["auth_token"], &tok)
	if code, env := call(t, "PUT", d.url+"/v2/accounts/"+acct+"/phone_numbers/"+url.PathEscape("+14155550100")+"/activate",
		tok, ""); code != 201 {
		t.Fatalf("activate: %d %s", code, env["data"])
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the receiver got nothing")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code := d.stop(); code != 0 {
		t.Fatalf("serve exited %d: %s", code, d.stderr.String())
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || got[0] != string(knm.EventNumberAssigned) {
		t.Fatalf("receiver got %v, want one number.assigned", got)
	}
	if strings.Contains(d.stderr.String(), secret) {
		t.Fatal("the signing secret appears in the daemon's log")
	}
}
