package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/manager"
)

func (a *app) numbersCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "numbers", Short: "List, show, create, move, release, delete and import numbers"}

	var account, state, prefix string
	var limit, offset int
	list := &cobra.Command{
		Use:   "list",
		Short: "List numbers (all, or one account's), ordered by number",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f := manager.ListFilter{Prefix: prefix, Limit: limit, Offset: offset}
			if state != "" {
				st, err := knm.ParseState(state)
				if err != nil {
					return err
				}
				f.States = []knm.State{st}
			}
			if limit < 0 || offset < 0 {
				return usageError("--limit and --offset must not be negative")
			}
			if account != "" && !knm.ValidAccountID(account) {
				return usageError("--account %q is not an account id (32 hex characters)", account)
			}
			m, err := a.manager(cmd.Context())
			if err != nil {
				return err
			}
			ns, total, err := m.List(cmd.Context(), cliAuth, account, f)
			if err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(map[string]any{"numbers": numbersJSON(ns), "total": total})
			}
			w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "NUMBER\tSTATE\tMODULE\tASSIGNED_TO")
			for _, n := range ns {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", n.Number, n.State, n.ModuleName, dash(n.AssignedTo))
			}
			w.Flush()
			fmt.Fprintf(a.stdout, "%d of %d number(s)\n", len(ns), total)
			return nil
		},
	}
	list.Flags().StringVar(&account, "account", "", "only numbers assigned to this account")
	list.Flags().StringVar(&state, "state", "", "only numbers in this state")
	list.Flags().StringVar(&prefix, "prefix", "", "only numbers starting with this E.164 prefix, e.g. +1415")
	list.Flags().IntVar(&limit, "limit", 100, "most numbers to show (0 = all)")
	list.Flags().IntVar(&offset, "offset", 0, "numbers to skip")
	cmd.AddCommand(list)

	cmd.AddCommand(a.numberCommand("show NUMBER", "Show one number as a Kazoo phone_number document",
		func(ctx context.Context, m *manager.Manager, num string) (*knm.Number, error) {
			return m.Get(ctx, cliAuth, num)
		}))

	var createState, createAccount, createModule string
	create := a.numberCommand("create NUMBER", "Create a number (default state in_service, as Kazoo)",
		func(ctx context.Context, m *manager.Manager, num string) (*knm.Number, error) {
			o := manager.CreateOptions{AssignTo: createAccount, ModuleName: createModule}
			if createState != "" {
				st, err := knm.ParseState(createState)
				if err != nil {
					return nil, err
				}
				o.State = st
			}
			if createAccount == "" && o.State != knm.StateAvailable && o.State != knm.StateAging {
				return nil, usageError("create needs --account ID for a number in state %s (or --state available for the pool)",
					cmp.Or(o.State, knm.StateInService))
			}
			return m.Create(ctx, cliAuth, num, o)
		})
	create.Flags().StringVar(&createState, "state", "", "state to create the number in")
	create.Flags().StringVar(&createAccount, "account", "", "account to assign the number to")
	create.Flags().StringVar(&createModule, "module", "", "carrier module (default available_module_name)")
	cmd.AddCommand(create)

	for _, mv := range []struct {
		use, short string
		to         knm.State
	}{
		{"activate", "Put a number in service for an account (buys a discovery number at its carrier)", knm.StateInService},
		{"reserve", "Reserve a number for an account", knm.StateReserved},
	} {
		var acct string
		c := a.numberCommand(mv.use+" NUMBER --account ID", mv.short,
			func(ctx context.Context, m *manager.Manager, num string) (*knm.Number, error) {
				if acct == "" {
					return nil, usageError("%s needs --account ID", mv.use)
				}
				return m.Move(ctx, cliAuth, num, acct, mv.to)
			})
		c.Flags().StringVar(&acct, "account", "", "the account (required)")
		cmd.AddCommand(c)
	}

	cmd.AddCommand(a.numberCommand("release NUMBER",
		"Release a number (back to its reserver or the pool; disconnected at its carrier once unowned)",
		func(ctx context.Context, m *manager.Manager, num string) (*knm.Number, error) {
			n, err := m.Release(ctx, cliAuth, num)
			if err == nil && n == nil {
				// Deleted (a local number, or one its carrier took back): there is no
				// document left to show; say so as Kazoo's crossbar does, state "deleted".
				return nil, a.printJSON(map[string]string{"_id": m.Normalize(num), "pvt_state": string(knm.StateDeleted)})
			}
			return n, err
		}), &cobra.Command{
		Use:   "delete NUMBER",
		Short: "Delete a number from the database (hard delete; no carrier call)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := a.manager(cmd.Context())
			if err != nil {
				return err
			}
			if err := m.Delete(cmd.Context(), cliAuth, args[0]); err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(map[string]string{"deleted": args[0]})
			}
			fmt.Fprintln(a.stdout, "deleted", args[0])
			return nil
		},
	})
	cmd.AddCommand(a.importCommand())
	return cmd
}

func (a *app) importCommand() *cobra.Command {
	var module, state, assignTo string
	var batch int
	c := &cobra.Command{
		Use:   "import FILE.csv | FILE.json",
		Short: "Bulk import numbers into knm_inventory from CSV, or Kazoo phone_number documents from JSON; safe to run twice",
		Long: `Bulk import numbers; numbers already stored are skipped, so an import can run twice.

FILE.csv has a header row with a "number" (or "e164") column and optional "state",
"module", "assigned_to" and "carrier_data" columns; empty cells take the flags' values.

FILE.json holds Kazoo phone_number documents as exported from CouchDB: an array of
documents, one document, or an _all_docs?include_docs=true reply. Their _id, pvt_* keys,
Gregorian timestamps and public fields are kept as they are.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := os.Open(args[0])
			if err != nil {
				return fmt.Errorf("numbers import: %w", err)
			}
			defer f.Close()
			o := manager.ImportOptions{Module: module, AssignTo: assignTo, BatchSize: batch}
			if state != "" {
				st, err := knm.ParseState(state)
				if err != nil {
					return err
				}
				o.State = st
			}
			m, err := a.manager(cmd.Context())
			if err != nil {
				return err
			}
			var bar *progressbar.ProgressBar
			progress := func(done, total int) {
				if a.jsonOut {
					return
				}
				if bar == nil {
					bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(a.stderr),
						progressbar.OptionSetDescription("importing"), progressbar.OptionShowCount(),
						progressbar.OptionShowIts(), progressbar.OptionSetItsString("rows"),
						progressbar.OptionThrottle(200_000_000), progressbar.OptionClearOnFinish())
				}
				bar.Set(done)
			}
			var rep *manager.ImportReport
			if strings.HasSuffix(strings.ToLower(args[0]), ".json") {
				rep, err = importKazooDocs(cmd.Context(), a.store, f, progress)
			} else {
				rep, err = m.Import(cmd.Context(), f, o, progress)
			}
			if bar != nil {
				bar.Finish()
			}
			if err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(rep)
			}
			fmt.Fprintf(a.stdout, "%d %s: %d imported, %d already present, %d rejected\n", rep.Rows, rowWord(args[0]), rep.Imported, rep.Skipped, rep.Rejected)
			for _, r := range rep.Rejections {
				fmt.Fprintf(a.stdout, "  %s %d %s: %s\n", itemWord(args[0]), r.Line, r.Number, r.Reason)
			}
			if rep.Rejected > len(rep.Rejections) {
				fmt.Fprintf(a.stdout, "  … and %d more rejected row(s)\n", rep.Rejected-len(rep.Rejections))
			}
			return nil
		},
	}
	c.Flags().StringVar(&module, "module", "", "carrier module of rows without one (default knm_inventory)")
	c.Flags().StringVar(&state, "state", "", "state of rows without one (default available)")
	c.Flags().StringVar(&assignTo, "account", "", "owner of rows without one")
	c.Flags().IntVar(&batch, "batch", 0, "numbers per transaction (default 1000)")
	return c
}

// numberCommand is a command on one NUMBER argument whose result is the number as
// stored afterwards, printed as a Kazoo document.
func (a *app) numberCommand(use, short string, run func(ctx context.Context, m *manager.Manager, number string) (*knm.Number, error)) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := a.manager(cmd.Context())
			if err != nil {
				return err
			}
			n, err := run(cmd.Context(), m, args[0])
			if err != nil || n == nil {
				return err // nil, nil: run printed the outcome itself
			}
			return a.printNumber(n)
		},
	}
}

// printNumber prints a number as its Kazoo document (JSON in both modes: it is the
// shape operators know from Kazoo).
func (a *app) printNumber(n *knm.Number) error {
	data, err := n.MarshalKazoo()
	if err != nil {
		return err
	}
	return a.printRaw(data)
}

func numbersJSON(ns []*knm.Number) []json.RawMessage {
	out := make([]json.RawMessage, 0, len(ns))
	for _, n := range ns {
		if d, err := n.MarshalKazoo(); err == nil {
			out = append(out, d)
		}
	}
	return out
}

// rowWord names the unit of an import file in reports: CSV rows have lines, JSON
// documents have positions.
func rowWord(file string) string {
	if strings.HasSuffix(strings.ToLower(file), ".json") {
		return "document(s)"
	}
	return "row(s)"
}

// itemWord names where a rejected item sits: a CSV line or a JSON document's position.
func itemWord(file string) string {
	if strings.HasSuffix(strings.ToLower(file), ".json") {
		return "document"
	}
	return "line"
}
