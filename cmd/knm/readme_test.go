package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/knmproject/knm/internal/pgtest"
	"github.com/knmproject/knm/internal/testenv"
)

// readmeTour returns the shell block between the README's tour markers.
func readmeTour(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)<!-- tour:begin -->\\s*```sh\\n(.*?)```\\s*<!-- tour:end -->").FindSubmatch(data)
	if m == nil {
		t.Fatal("README.md has no tour block between <!-- tour:begin --> and <!-- tour:end -->")
	}
	return string(m[1])
}

// TestReadmeTour runs the README's five-minute tour verbatim, with bash and curl, against
// a live `knm demo`, so the README cannot drift from the code: on the demo's own SQLite
// database and once on PostgreSQL.
func TestReadmeTour(t *testing.T) {
	t.Parallel()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		runReadmeTour(t)
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		runReadmeTour(t, "--db", pgtest.FreshSchemaDSN(t))
	})
}

func runReadmeTour(t *testing.T, args ...string) {
	for _, tool := range []string{"bash", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			if testenv.InCI() {
				t.Fatalf("%s is needed to run the README tour: %v", tool, err)
			}
			t.Skipf("%s not installed; README tour not run", tool)
		}
	}
	tour := readmeTour(t)
	d := startDaemon(t, map[string]string{"KNM_LISTEN": "127.0.0.1:0"}, "Press Ctrl-C", append(args, "demo")...)
	var key string
	for _, l := range d.lines {
		if k, ok := strings.CutPrefix(l, "master API key: "); ok {
			key = k
		}
	}
	if key == "" {
		t.Fatalf("demo printed no master API key:\n%s", strings.Join(d.lines, "\n"))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", tour)
	cmd.Env = append(os.Environ(), "KNM="+d.url, "KEY="+key)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("README tour failed: %v\n%s", err, out)
	}
	text := string(out)
	for _, want := range []string{`"carriers":[`, `"module":"knm_voxbone","status":"ok","count":3`, "in_service\n",
		"ACME\n", `"cascade_quantity":0`, `"features_available":`, "deleted\n", "tour complete"} {
		if !strings.Contains(text, want) {
			t.Errorf("tour output lacks %q:\n%s", want, text)
		}
	}
	if strings.Count(text, "imported\n") != 2 {
		t.Errorf("the repeated idempotent order must report the same state:\n%s", text)
	}
	if code := d.stop(); code != 0 {
		t.Fatalf("demo exited %d: %s", code, d.stderr.String())
	}
}

// readmeBlock returns the shell block between <!-- name:begin --> and <!-- name:end -->.
func readmeBlock(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile("(?s)<!-- " + name + ":begin -->\\s*```sh\\n(.*?)```\\s*<!-- " + name + ":end -->")
	m := re.FindSubmatch(data)
	if m == nil {
		t.Fatalf("README.md has no %s block", name)
	}
	return string(m[1])
}

// needTools skips (or fails in CI) when a tool the README's blocks use is missing.
func needTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			if testenv.InCI() {
				t.Fatalf("%s is needed to run the README's blocks: %v", tool, err)
			}
			t.Skipf("%s not installed; README block not run", tool)
		}
	}
}

// TestReadmeTourStopsAtFirstFailure pastes the tour into a plain shell (no -e) with a
// wrong key: it stops at the first refused step, prints no HTML and never "tour complete".
func TestReadmeTourStopsAtFirstFailure(t *testing.T) {
	t.Parallel()
	needTools(t, "bash", "curl")
	d := startDaemon(t, map[string]string{"KNM_LISTEN": "127.0.0.1:0"}, "Press Ctrl-C", "demo")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", readmeTour(t))
	cmd.Env = append(os.Environ(), "KNM="+d.url, "KEY=not-the-key")
	out, err := cmd.CombinedOutput()
	if err == nil || strings.Contains(string(out), "tour complete") || strings.Contains(string(out), "<") {
		t.Fatalf("the tour went on after a refused step (err %v):\n%s", err, out)
	}
}

// TestReadmeCLI runs the README's command-line block as written, with the knm binary on
// PATH and the KNM_DB line the demo prints, against a live demo: on the demo's SQLite
// database and on PostgreSQL.
func TestReadmeCLI(t *testing.T) {
	t.Parallel()
	needTools(t, "bash")
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		runReadmeCLI(t)
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		runReadmeCLI(t, "--db", pgtest.FreshSchemaDSN(t))
	})
}

func runReadmeCLI(t *testing.T, args ...string) {
	d := startDaemon(t, map[string]string{"KNM_LISTEN": "127.0.0.1:0"}, "Press Ctrl-C", append(args, "demo")...)
	var db string
	for _, l := range d.lines {
		if v, ok := strings.CutPrefix(l, "export KNM_DB="); ok {
			db = v
		}
	}
	if db == "" {
		t.Fatalf("the demo printed no export KNM_DB= line:\n%s", strings.Join(d.lines, "\n"))
	}
	bin := t.TempDir()
	wrapper := "#!/bin/sh\nKNM_TEST_AS_KNM=1 exec " + shellQuote(os.Args[0]) + " \"$@\"\n"
	if err := os.WriteFile(filepath.Join(bin, "knm"), []byte(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", readmeBlock(t, "cli"))
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"), "KNM_DB="+db)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("README CLI block failed: %v\n%s", err, out)
	}
	for _, want := range []string{"would buy 3 DID(s)", "dry run: nothing bought", `"pvt_state": "in_service"`,
		"imported, 2 of 2 DID(s)", "2 row(s): 2 imported", "cli tour complete"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("README CLI block output lacks %q:\n%s", want, out)
		}
	}
}

// TestReadmeSaysIt: the README keeps exactly two set-up commands and documents shell
// completion, installing the binary and deploying; the completion it names works.
func TestReadmeSaysIt(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	setUp := regexp.MustCompile("(?s)## Set up\n(.*?)\n## ").FindStringSubmatch(text)
	if setUp == nil {
		t.Fatal("README.md has no Set up section")
	}
	blocks := regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(setUp[1], -1)
	if len(blocks) != 2 || strings.TrimSpace(blocks[0][1]) != "go run ./cmd/knm demo" ||
		strings.TrimSpace(blocks[1][1]) != "./scripts/test" {
		t.Errorf("Set up must hold exactly the two commands (run on the embedded default; run the tests): %q", blocks)
	}
	for _, want := range []string{"knm completion bash", "go install ./cmd/knm", "export KNM_DB=", "## Deploying",
		"deploy/knm.service", "deploy/knm.env", "scripts/image", "FROM\nscratch", "KNM_DB=postgres://",
		"KNM_REDIS_URL=redis://", "KNM_MASTER_API_KEY", "--dry-run", "--yes", "knm version"} {
		if !strings.Contains(text, want) {
			t.Errorf("README.md does not say %q", want)
		}
	}
	if out := mustCLI(t, sqliteDB(t), "completion", "bash"); !strings.Contains(out, "bash completion") {
		t.Errorf("knm completion bash: %.200s", out)
	}
}
