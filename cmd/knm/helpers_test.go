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

// cli runs knm in-process against db and returns its exit code, stdout and stderr.
func cli(t *testing.T, db string, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	env := func(string) string { return "" }
	code := run(ctx, append([]string{"--db", db}, args...), strings.NewReader(""), &out, &errb, env)
	return code, out.String(), errb.String()
}

// mustCLI runs knm and fails the test unless it exits 0.
func mustCLI(t *testing.T, db string, args ...string) string {
	t.Helper()
	code, out, errs := cli(t, db, args...)
	if code != 0 {
		t.Fatalf("knm %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

func sqliteDB(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "knm.db") }

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
	return serveEmulator(t, emulator.New(emulator.Config{Username: "u", Password: "p", Seed: 7}))
}

// serveEmulator serves e on 127.0.0.1:0 until the test ends and returns its base URL.
func serveEmulator(t *testing.T, e *emulator.Emulator) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go emulator.Serve(ctx, ln, e)
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
		if code := run(context.Background(), []string{"--db", db, "config", "set", kv[0], kv[1], kv[2]},
			strings.NewReader(""), &out, &errb, func(string) string { return "" }); code != 0 {
			t.Fatalf("config set %v: %s", kv, errb.String())
		}
	}
}

// pgSchemaDSN is a fresh PostgreSQL schema for one test, dropped at the end.
func pgSchemaDSN(t *testing.T) string { return pgtest.FreshSchemaDSN(t) }

// firstFound searches an account's phone_numbers URL with query, wants exactly want
// numbers, and returns the URL of the first.
func firstFound(t *testing.T, numbersURL, token, query string, want int) string {
	t.Helper()
	code, env := call(t, "GET", numbersURL+"?"+query, token, "")
	var found []struct{ Number, State string }
	json.Unmarshal(env["data"], &found)
	if code != 200 || len(found) != want {
		t.Fatalf("search %s: %d %s carriers=%s", query, code, env["data"], env["carriers"])
	}
	return numbersURL + "/" + url.PathEscape(found[0].Number)
}
