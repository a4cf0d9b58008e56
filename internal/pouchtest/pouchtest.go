// Package pouchtest runs pouchdb-server, a CouchDB-compatible server from npm, for tests of
// knm's Kazoo CouchDB integration: on a free loopback port, in memory or on disk in a
// temporary directory, stopped when the test ends.
//
// The binary is $KNM_POUCHDB_SERVER, or pouchdb-server on PATH (npm install -g
// pouchdb-server). When it is missing the test skips with a clear message, except under
// CI=true, where it fails (see internal/testenv).
package pouchtest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/knmproject/knm/internal/testenv"
)

// startTimeout bounds how long the server may take to answer after it is started.
const startTimeout = 60 * time.Second

// Server is one pouchdb-server process.
type Server struct {
	URL string // http://127.0.0.1:PORT, no trailing slash

	bin, dir string
	port     int
	inMemory bool
	cmd      *exec.Cmd
	exited   chan struct{}
}

// Start runs an in-memory server for the test; its data is gone when it stops.
func Start(tb testing.TB) *Server {
	tb.Helper()
	return start(tb, true)
}

// StartOnDisk runs a server that keeps its databases in a temporary directory, so they
// survive Stop and Restart.
func StartOnDisk(tb testing.TB) *Server {
	tb.Helper()
	return start(tb, false)
}

func start(tb testing.TB, inMemory bool) *Server {
	tb.Helper()
	bin := os.Getenv("KNM_POUCHDB_SERVER")
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("pouchdb-server"); err != nil {
			if !testenv.InCI() {
				tb.Skip("CouchDB tests skipped: pouchdb-server not found (npm install -g pouchdb-server, " +
					"or set KNM_POUCHDB_SERVER)")
			}
			tb.Fatal("pouchdb-server is required under CI=true but is not on PATH: npm install -g pouchdb-server")
		}
	}
	s := &Server{bin: bin, dir: tb.TempDir(), port: freePort(tb), inMemory: inMemory}
	s.URL = "http://127.0.0.1:" + strconv.Itoa(s.port)
	tb.Cleanup(s.Stop)
	if err := s.run(); err != nil {
		tb.Fatal(err)
	}
	return s
}

// freePort returns a loopback port nothing listens on now.
func freePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// run starts the process and waits until it answers.
func (s *Server) run() error {
	args := []string{"--host", "127.0.0.1", "--port", strconv.Itoa(s.port), "--no-stdout-logs",
		"--config", filepath.Join(s.dir, "config.json")}
	if s.inMemory {
		args = append(args, "--in-memory")
	} else {
		args = append(args, "--dir", filepath.Join(s.dir, "data"))
		if err := os.MkdirAll(filepath.Join(s.dir, "data"), 0o700); err != nil {
			return err
		}
	}
	log, err := os.OpenFile(filepath.Join(s.dir, "stderr.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer log.Close()
	cmd := exec.Command(s.bin, args...)
	cmd.Dir = s.dir // it writes log.txt into its working directory
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("pouchtest: start %s: %w", s.bin, err)
	}
	s.cmd, s.exited = cmd, make(chan struct{})
	go func() { cmd.Wait(); close(s.exited) }()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-s.exited:
			return fmt.Errorf("pouchtest: pouchdb-server exited at start; see %s", log.Name())
		case <-ctx.Done():
			s.Stop()
			return fmt.Errorf("pouchtest: pouchdb-server did not answer on %s within %s", s.URL, startTimeout)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Stop kills the server (its process group: only what this Server started) and waits for
// it to exit. Stopping a stopped server does nothing.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
	}
	s.cmd = nil
}

// Restart stops the server and starts it again on the same port (and, on disk, with the
// same databases).
func (s *Server) Restart(tb testing.TB) {
	tb.Helper()
	s.Stop()
	if err := s.run(); err != nil {
		tb.Fatal(err)
	}
}
