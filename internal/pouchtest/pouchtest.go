// Package pouchtest starts a real CouchDB-compatible server, pouchdb-server from npm in
// memory on a loopback port, for tests of code that reads or writes Kazoo's CouchDB.
//
// Under CI=true a test that needs it fails when pouchdb-server is missing or does not
// start; elsewhere it skips with a message saying how to install it.
package pouchtest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/knmproject/knm/internal/testenv"
)

// startTimeout bounds how long the server may take to answer.
const startTimeout = 30 * time.Second

// Start runs pouchdb-server for the test and returns its base URL (no trailing slash);
// the server is stopped when the test ends.
func Start(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("pouchdb-server")
	if err != nil {
		if testenv.InCI() {
			t.Fatal("pouchdb-server is required under CI: npm install -g pouchdb-server")
		}
		t.Skip("CouchDB tests skipped: pouchdb-server not found (npm install -g pouchdb-server)")
	}
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "--in-memory", "--host", "127.0.0.1", "--port", strconv.Itoa(port))
	cmd.Dir = t.TempDir() // it writes config.json and log.txt where it runs
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start pouchdb-server: %v", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
		}
	})
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	deadline := time.Now().Add(startTimeout)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			t.Fatalf("pouchdb-server exited: %s", out.String())
		default:
		}
		if resp, err := http.Get(base + "/"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("pouchdb-server did not answer within %s: %s", startTimeout, out.String())
	return ""
}

// freePort asks the kernel for a loopback port that is free now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pouchtest: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
