package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/knmproject/knm/internal/pgtest"
	"github.com/knmproject/knm/voxbone/emulator"
)

// syncBuffer is a bytes.Buffer safe for the server goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// daemon is `knm serve` (or demo) running in-process.
type daemon struct {
	url    string
	lines  []string // stdout lines up to "listening on"
	stderr *syncBuffer
	stop   func() int
}

// startDaemon runs knm with args in-process and waits until it prints "listening on URL"
// (and, when waitFor is set, a line containing it).
func startDaemon(t *testing.T, env map[string]string, waitFor string, args ...string) *daemon {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	d := &daemon{stderr: &syncBuffer{}}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, args, strings.NewReader(""), pw, d.stderr, func(k string) string { return env[k] })
		pw.Close()
	}()
	found := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pr)
		signalled := false
		for sc.Scan() {
			line := sc.Text()
			if !signalled {
				d.lines = append(d.lines, line)
				if u, ok := strings.CutPrefix(line, "listening on "); ok {
					d.url = u
				}
				if d.url != "" && (waitFor == "" || strings.Contains(line, waitFor)) {
					signalled = true
					close(found)
				}
			}
		}
		if !signalled {
			close(found)
		}
	}()
	select {
	case <-found:
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatalf("knm %v did not start: %s", args, d.stderr.String())
	}
	if d.url == "" {
		cancel()
		t.Fatalf("knm %v exited: %s", args, d.stderr.String())
	}
	var once sync.Once
	code := 0
	d.stop = func() int {
		once.Do(func() {
			cancel()
			select {
			case code = <-done:
			case <-time.After(30 * time.Second):
				t.Errorf("knm did not shut down within 30s")
				code = -1
			}
		})
		return code
	}
	t.Cleanup(func() { d.stop() })
	return d
}

// call sends a request to the daemon and decodes the envelope.
func call(t *testing.T, method, u, token, body string) (int, map[string]json.RawMessage) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("X-Auth-Token", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var env map[string]json.RawMessage
	if err := json.Unmarshal(raw, &env); err != nil {
		t.Fatalf("%s %s: not JSON: %s", method, u, raw)
	}
	if resp.StatusCode >= 500 {
		t.Fatalf("%s %s: %d %s", method, u, resp.StatusCode, raw)
	}
	return resp.StatusCode, env
}

func field(env map[string]json.RawMessage, path ...string) string {
	raw := env[path[0]]
	for _, p := range path[1:] {
		var m map[string]json.RawMessage
		json.Unmarshal(raw, &m)
		raw = m[p]
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return string(raw)
	}
	return s
}

// startEmulator serves a Voxbone emulator on 127.0.0.1:0 and returns its base URL.
func startEmulator(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go emulator.Serve(ctx, ln, emulator.New(emulator.Config{Username: "u", Password: "p", Seed: 7}))
	return "http://" + ln.Addr().String() + "/ws-voxbone/services/rest"
}

// configureVoxbone points the database at the emulator through the CLI.
func configureVoxbone(t *testing.T, db, base string) {
	t.Helper()
	for _, kv := range [][3]string{
		{"number_manager.voxbone", "base_url", `"` + base + `"`},
		{"number_manager.voxbone", "username", `"u"`},
		{"number_manager.voxbone", "password", `"p"`},
		{"number_manager", "carrier_modules", `["knm_local","knm_voxbone"]`},
	} {
		var out, errb bytes.Buffer
		if code := run(context.Background(), []string{"--db", db, "config", "set", kv[0], kv[1], kv[2]}, strings.NewReader(""), &out, &errb, func(string) string { return "" }); code != 0 {
			t.Fatalf("config set %v: %s", kv, errb.String())
		}
	}
}

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

	base := d.url + "/v2/accounts/" + acc + "/phone_numbers"
	code, env = call(t, "GET", base+"?prefix=205&quantity=2&country=US", tok, "")
	var found []struct{ Number, State string }
	json.Unmarshal(env["data"], &found)
	if code != 200 || len(found) != 2 {
		t.Fatalf("search: %d %s carriers=%s", code, env["data"], env["carriers"])
	}
	num := base + "/" + url.PathEscape(found[0].Number)
	for _, step := range []struct{ method, suffix, body, state string }{
		{"PUT", "/activate", "", "in_service"},
		{"GET", "", "", "in_service"},
		{"PATCH", "", `{"data":{"cnam":{"display_name":"ACME"}}}`, "in_service"},
		{"PUT", "/reserve", "", "reserved"},
		// Released by its owner: cancelled at Voxbone, so it leaves knm for good.
		{"DELETE", "", "", "deleted"},
	} {
		code, env = call(t, step.method, num+step.suffix, tok, step.body)
		if code != 200 || field(env, "data", "state") != step.state {
			t.Fatalf("%s %s: %d %s", step.method, step.suffix, code, env["data"])
		}
	}
	if strings.Contains(d.stderr.String(), key) || strings.Contains(d.stderr.String(), accKey) || strings.Contains(d.stderr.String(), tok) {
		t.Fatal("a secret reached the logs")
	}
	if code := d.stop(); code != 0 {
		t.Fatalf("serve exited %d: %s", code, d.stderr.String())
	}

	// A second start keeps the key (not printed again); KNM_MASTER_API_KEY replaces it.
	d2 := startDaemon(t, map[string]string{"KNM_MASTER_API_KEY": "my-own-master-key-0123456789"}, "", "--db", db, "serve", "--listen", "127.0.0.1:0")
	if strings.Contains(strings.Join(d2.lines, "\n"), "master API key") {
		t.Fatalf("key printed again: %q", d2.lines)
	}
	if code, _ := call(t, "PUT", d2.url+"/v2/api_auth", "", `{"data":{"api_key":"my-own-master-key-0123456789"}}`); code != 201 {
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

// pgSchemaDSN is a fresh PostgreSQL schema for one test, dropped at the end.
func pgSchemaDSN(t *testing.T) string { return pgtest.FreshSchemaDSN(t) }
