package main

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the test binary stand in for the knm binary: started with
// KNM_TEST_AS_KNM=1 it runs knm's main with its arguments, so a test can run `knm serve`
// as a real, separate process (startProcess) without building anything.
func TestMain(m *testing.M) {
	if os.Getenv("KNM_TEST_AS_KNM") == "1" {
		main()
	}
	os.Exit(m.Run())
}

// process is knm running as a child process.
type process struct {
	url    string
	stdout *syncBuffer
	stderr *syncBuffer
	cmd    *exec.Cmd
	exited chan struct{}
}

// startProcess runs knm with args and env in a child process and waits until it prints
// "listening on URL". The process is stopped (SIGTERM, then SIGKILL) when the test ends.
func startProcess(t *testing.T, env map[string]string, args ...string) *process {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "KNM_TEST_AS_KNM=1")
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	p := &process{stdout: &syncBuffer{}, stderr: &syncBuffer{}, cmd: cmd, exited: make(chan struct{})}
	cmd.Stderr = p.stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	listening := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.stdout.Write([]byte(sc.Text() + "\n"))
			if u, ok := strings.CutPrefix(sc.Text(), "listening on "); ok {
				listening <- u
			}
		}
		cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() { p.stop(t) })
	select {
	case p.url = <-listening:
	case <-p.exited:
		t.Fatalf("knm %v exited: %s", args, p.stderr.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("knm %v did not start: %s", args, p.stderr.String())
	}
	return p
}

// stop sends SIGTERM and returns the exit code; after 30 s the process is killed.
func (p *process) stop(t *testing.T) int {
	t.Helper()
	select {
	case <-p.exited:
		return p.cmd.ProcessState.ExitCode()
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
		t.Errorf("knm did not stop within 30 s of SIGTERM")
	}
	return p.cmd.ProcessState.ExitCode()
}
