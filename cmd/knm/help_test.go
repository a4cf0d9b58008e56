package main

import (
	"io"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestEveryCommandHasExamples: every command a user can run shows examples in --help
// (set them in the command, or in examples.go).
func TestEveryCommandHasExamples(t *testing.T) {
	t.Parallel()
	a := &app{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard,
		getenv: func(string) string { return "" }}
	root := a.rootCommand()
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			if !sub.IsAvailableCommand() || strings.HasPrefix(sub.CommandPath(), "knm completion") {
				continue
			}
			if sub.Runnable() && strings.TrimSpace(sub.Example) == "" && !sub.HasAvailableSubCommands() {
				t.Errorf("%s has no examples in its --help", sub.CommandPath())
			}
			walk(sub)
		}
	}
	walk(root)
}

// TestHelpTexts: the help says what the issue found missing or wrong.
func TestHelpTexts(t *testing.T) {
	t.Parallel()
	db := sqliteDB(t)
	if out := mustCLI(t, db, "numbers", "--help"); strings.Contains(out, "move") {
		t.Errorf("numbers --help mentions a move command that does not exist:\n%s", out)
	}
	if out := mustCLI(t, db, "voxbone", "emulate", "--help"); strings.Contains(out, "--listen ADDR") ||
		!strings.Contains(out, "127.0.0.1:8089") {
		t.Errorf("emulate --help shows --listen as required:\n%s", out)
	}
	out := mustCLI(t, db, "serve", "--help")
	for _, want := range []string{"KNM_MASTER_API_KEY", "replaces", "Examples:"} {
		if !strings.Contains(out, want) {
			t.Errorf("serve --help lacks %q:\n%s", want, out)
		}
	}
}

// TestWrongArgumentsShowUsage: a wrong argument count names the usage line, in one line.
func TestWrongArgumentsShowUsage(t *testing.T) {
	t.Parallel()
	db := sqliteDB(t)
	oneLineErr(t, db, []string{"numbers", "import"}, "usage: knm numbers import FILE.csv | FILE.json",
		"knm numbers import --help")
	oneLineErr(t, db, []string{"accounts", "create", "a", "b"}, "usage: knm accounts create NAME")
}
