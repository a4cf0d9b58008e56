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
	"github.com/knmproject/knm/carriers/knmvoxbone"
	"github.com/knmproject/knm/manager"
)

func (a *app) numbersCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "numbers",
		Short: "List, show, create, activate, reserve, release, delete, import and export numbers"}
	cmd.AddCommand(a.numbersListCommand(),
		a.numberCommand("show NUMBER", "Show one number as a Kazoo phone_number document",
			func(ctx context.Context, m *manager.Manager, num string) (*knm.Number, error) {
				return m.Get(ctx, cliAuth, num)
			}),
		a.numbersCreateCommand(),
		a.numbersMoveCommand("activate",
			"Put a number in service for an account (buys a discovery number at its carrier)", knm.StateInService),
		a.numbersMoveCommand("reserve", "Reserve a number for an account", knm.StateReserved),
		a.numbersReleaseCommand(), a.numbersDeleteCommand(), a.numbersImportCommand(), a.numbersExportCommand())
	return cmd
}

func (a *app) numbersListCommand() *cobra.Command {
	var account, state string
	var f manager.ListFilter
	list := &cobra.Command{
		Use:   "list",
		Short: "List numbers (all, or one account's), ordered by number",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if state != "" {
				st, err := knm.ParseState(state)
				if err != nil {
					return err
				}
				f.States = []knm.State{st}
			}
			if f.Prefix != "" && !strings.HasPrefix(f.Prefix, "+") {
				// Stored numbers are E.164: 1415 can only mean +1415.
				f.Prefix = "+" + f.Prefix
			}
			if f.Limit < 0 || f.Offset < 0 {
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
			return a.printNumbers(ns, total)
		},
	}
	list.Flags().StringVar(&account, "account", "", "only numbers assigned to this account")
	list.Flags().StringVar(&state, "state", "", "only numbers in this state")
	list.Flags().StringVar(&f.Prefix, "prefix", "",
		"only numbers starting with this E.164 prefix, e.g. +1415 (the + may be left out)")
	list.Flags().IntVar(&f.Limit, "limit", 100, "most numbers to show (0 = all)")
	list.Flags().IntVar(&f.Offset, "offset", 0, "numbers to skip")
	return list
}

// printNumbers prints a page of numbers as a table, or as Kazoo documents with --json.
func (a *app) printNumbers(ns []*knm.Number, total int) error {
	if a.jsonOut {
		return a.printJSON(map[string]any{"numbers": numbersJSON(ns), "total": total})
	}
	w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "NUMBER\tSTATE\tMODULE\tASSIGNED_TO")
	for _, n := range ns {
		module := n.ModuleName
		if st, _ := knmvoxbone.RoutingOf(n.CarrierData); st != "" {
			module += " (routing " + st + ")" // bought but not ringing on the platform yet
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", n.Number, n.State, module, dash(n.AssignedTo))
	}
	w.Flush()
	fmt.Fprintf(a.stdout, "%d of %d number(s)\n", len(ns), total)
	return nil
}

func (a *app) numbersCreateCommand() *cobra.Command {
	var state, account, module string
	create := a.numberCommand("create NUMBER", "Create a number (default state in_service, as Kazoo)",
		func(ctx context.Context, m *manager.Manager, num string) (*knm.Number, error) {
			o := manager.CreateOptions{AssignTo: account, ModuleName: module}
			if state != "" {
				st, err := knm.ParseState(state)
				if err != nil {
					return nil, err
				}
				o.State = st
			}
			if _, err := m.CheckNumber(num); err != nil {
				return nil, err
			}
			if account == "" && o.State != knm.StateAvailable && o.State != knm.StateAging {
				return nil, usageError("create needs --account ID for a number in state %s "+
					"(or --state available for the pool)", cmp.Or(o.State, knm.StateInService))
			}
			if account != "" {
				if _, err := a.account(ctx, account); err != nil {
					return nil, err
				}
			}
			return m.Create(ctx, cliAuth, num, o)
		})
	create.Flags().StringVar(&state, "state", "", "state to create the number in")
	create.Flags().StringVar(&account, "account", "", "account to assign the number to")
	create.Flags().StringVar(&module, "module", "", "carrier module (default available_module_name)")
	return create
}

// numbersMoveCommand moves a number into an account, in state to.
func (a *app) numbersMoveCommand(use, short string, to knm.State) *cobra.Command {
	var account string
	c := a.numberCommand(use+" NUMBER --account ID", short,
		func(ctx context.Context, m *manager.Manager, num string) (*knm.Number, error) {
			if _, err := m.CheckNumber(num); err != nil {
				return nil, err
			}
			if account == "" {
				return nil, usageError("%s needs --account ID", use)
			}
			if _, err := a.account(ctx, account); err != nil {
				return nil, err
			}
			return m.Move(ctx, cliAuth, num, account, to)
		})
	c.Flags().StringVar(&account, "account", "", "the account (required)")
	return c
}

func (a *app) numbersReleaseCommand() *cobra.Command {
	var prune bool
	cmd := a.numberCommand("release NUMBER",
		"Release a number (back to its reserver or the pool; disconnected at its carrier once unowned)",
		func(ctx context.Context, m *manager.Manager, num string) (*knm.Number, error) {
			n, err := m.Release(ctx, cliAuth, num)
			if err == nil && prune {
				if err := a.pruneVoiceURIs(ctx); err != nil {
					return nil, err
				}
			}
			if err == nil && n == nil {
				// Deleted (a local number, or one its carrier took back): no document is
				// left to show, so say so as Kazoo's crossbar does, with state "deleted".
				return nil, a.printJSON(map[string]string{"_id": m.Normalize(num), "pvt_state": string(knm.StateDeleted)})
			}
			return n, err
		})
	cmd.Flags().BoolVar(&prune, "prune-voice-uris", false,
		"then delete the Voxbone voice URIs knm made that no DID uses any more (operators share them, so "+
			"release leaves them alone by default)")
	return cmd
}

func (a *app) numbersDeleteCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "delete NUMBER",
		Short: "Delete a number from the database (hard delete; no carrier call)",
		Long: `Delete a number from knm's database only: its carrier is not told. A number bought from
Voxbone stays held and billed at Voxbone; knm numbers release cancels it there instead.`,
		Example: `  knm numbers delete +14155550100
  knm numbers release +12565550100     # a Voxbone number: cancels its DID, then it leaves knm`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := a.manager(cmd.Context())
			if err != nil {
				return err
			}
			n, err := m.Get(cmd.Context(), cliAuth, args[0])
			if err != nil {
				return err
			}
			if err := m.Delete(cmd.Context(), cliAuth, args[0]); err != nil {
				return err
			}
			if n.ModuleName == knmvoxbone.ModuleName {
				fmt.Fprintf(a.stderr, "warning: %[1]s is deleted from knm only: its DID is still held and billed at "+
					"Voxbone. To take it back: knm numbers create %[1]s --module knm_voxbone --state available; "+
					"to stop paying for it, take it back and knm numbers release it.\n", n.Number)
			}
			if a.jsonOut {
				return a.printJSON(map[string]string{"deleted": args[0]})
			}
			fmt.Fprintln(a.stdout, "deleted", args[0])
			return nil
		},
	}
}

func (a *app) numbersImportCommand() *cobra.Command {
	var o manager.ImportOptions
	var state string
	c := &cobra.Command{
		Use: "import FILE.csv | FILE.json",
		Short: "Bulk import numbers into knm_inventory from CSV, or Kazoo phone_number documents from JSON; " +
			"safe to run twice",
		Long: `Bulk import numbers; numbers already stored are skipped, so an import can run twice.

FILE.csv has a header row with a "number" (or "e164") column and optional "state",
"module", "assigned_to" and "carrier_data" columns; empty cells take the flags' values.

FILE.json holds Kazoo phone_number documents as exported from CouchDB: an array of
documents, one document, or an _all_docs?include_docs=true reply. Their _id, pvt_* keys,
Gregorian timestamps and public fields are kept as they are.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if state != "" {
				st, err := knm.ParseState(state)
				if err != nil {
					return err
				}
				o.State = st
			}
			return a.importNumbers(cmd.Context(), args[0], o)
		},
	}
	c.Flags().StringVar(&o.Module, "module", "", "carrier module of rows without one (default knm_inventory)")
	c.Flags().StringVar(&state, "state", "", "state of rows without one (default available)")
	c.Flags().StringVar(&o.AssignTo, "account", "", "owner of rows without one")
	c.Flags().IntVar(&o.BatchSize, "batch", 0, "numbers per transaction (default 1000)")
	return c
}

// importNumbers imports a CSV file, or Kazoo documents from a .json file, with a progress
// bar when stderr is a terminal, and prints the report.
func (a *app) importNumbers(ctx context.Context, file string, o manager.ImportOptions) error {
	if o.BatchSize < 0 {
		return usageError("--batch must be positive (or 0 for the default, 1000)")
	}
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	m, err := a.manager(ctx)
	if err != nil {
		return err
	}
	var bar *progressbar.ProgressBar
	progress := func(done, total int) {
		if a.jsonOut || !a.stderrIsTerminal() {
			return // a bar redrawn with \r is noise in a log or a pipe
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
	kazoo := strings.HasSuffix(strings.ToLower(file), ".json")
	if kazoo {
		rep, err = m.ImportKazoo(ctx, f, progress)
	} else {
		rep, err = m.Import(ctx, f, o, progress)
	}
	if bar != nil {
		bar.Finish()
	}
	if err != nil {
		return err
	}
	return a.printImport(rep, kazoo)
}

// printImport prints an import's report; CSV rows have lines, JSON documents positions.
func (a *app) printImport(rep *manager.ImportReport, kazoo bool) error {
	if a.jsonOut {
		return a.printJSON(rep)
	}
	rows, item := "row(s)", "line"
	if kazoo {
		rows, item = "document(s)", "document"
	}
	fmt.Fprintf(a.stdout, "%d %s: %d imported, %d already present, %d rejected\n", rep.Rows, rows, rep.Imported,
		rep.Skipped, rep.Rejected)
	for _, r := range rep.Rejections {
		fmt.Fprintf(a.stdout, "  %s %d %s: %s\n", item, r.Line, r.Number, r.Reason)
	}
	if rep.Rejected > len(rep.Rejections) {
		fmt.Fprintf(a.stdout, "  … and %d more rejected row(s)\n", rep.Rejected-len(rep.Rejections))
	}
	return nil
}

// numberCommand is a command on one NUMBER argument whose result is the number as
// stored afterwards, printed as a Kazoo document.
func (a *app) numberCommand(use, short string,
	run func(ctx context.Context, m *manager.Manager, number string) (*knm.Number, error)) *cobra.Command {
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
