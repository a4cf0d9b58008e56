package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/knmproject/knm"
)

// spendFlags are the flags of every command that can spend money at a carrier.
type spendFlags struct {
	yes, dryRun bool
}

func (s *spendFlags) register(c *cobra.Command) {
	c.Flags().BoolVarP(&s.yes, "yes", "y", false, "buy without asking (needed when stdin is not a terminal)")
	c.Flags().BoolVar(&s.dryRun, "dry-run", false, "show what would be bought and what it costs; spend nothing")
}

// stdinIsTerminal reports whether a person can answer a question on stdin.
func (a *app) stdinIsTerminal() bool {
	f, ok := a.stdin.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// stderrIsTerminal reports whether stderr is a terminal, where a progress bar belongs.
func (a *app) stderrIsTerminal() bool {
	f, ok := a.stderr.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// confirmSpend asks before money is spent: with --yes quote (what would be bought and its
// cost) is shown and the purchase goes ahead, a terminal is asked, and anything else is
// refused in one line that holds the quote, so a script never buys by surprise.
func (a *app) confirmSpend(sf spendFlags, quote string) error {
	return a.confirm(sf.yes, quote, "Buy?", "nothing bought",
		"add --yes to buy, or --dry-run to only see the quote")
}

// confirm shows what (a change the user did not see yet) and goes ahead with yes, or asks
// question on a terminal; without either it refuses, saying nothing (nothing bought,
// nothing changed) was done and how to go ahead (hint).
func (a *app) confirm(yes bool, what, question, nothing, hint string) error {
	if !yes && !a.stdinIsTerminal() {
		return knm.Errorf(knm.ErrInvalid, "%s: stdin is not a terminal to confirm (%s); %s", nothing,
			oneLineText(what), hint)
	}
	fmt.Fprintln(a.stderr, what)
	if yes {
		return nil
	}
	fmt.Fprint(a.stderr, question+" [y/N] ")
	line, _ := bufio.NewReader(a.stdin).ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return nil
	}
	return knm.Errorf(knm.ErrInvalid, "not confirmed: %s", nothing)
}

// oneLineText folds a multi-line text into one line.
func oneLineText(s string) string { return strings.Join(strings.Fields(s), " ") }
