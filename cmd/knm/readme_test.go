package main

import (
	"context"
	"os"
	"os/exec"
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
