package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/manager"
)

// numbersExportCommand writes numbers in a form numbers import reads back: CSV with the
// import's columns, or an array of Kazoo phone_number documents.
func (a *app) numbersExportCommand() *cobra.Command {
	var format, account, state string
	c := &cobra.Command{
		Use:   "export [--format csv|json] [--account ID] [--state S]",
		Short: "Write numbers to stdout as CSV or Kazoo phone_number documents, ready for numbers import",
		Example: `  knm numbers export --format csv > inventory.csv
  knm numbers export --format json --state in_service > numbers.json
  knm --db sqlite:other.db numbers import numbers.json   # the same numbers elsewhere`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "csv" && format != "json" {
				return usageError("--format %q: use csv or json", format)
			}
			var f manager.ListFilter
			if state != "" {
				st, err := knm.ParseState(state)
				if err != nil {
					return err
				}
				f.States = []knm.State{st}
			}
			if account != "" {
				if _, err := a.account(cmd.Context(), account); err != nil {
					return err
				}
			}
			m, err := a.manager(cmd.Context())
			if err != nil {
				return err
			}
			ns, _, err := m.List(cmd.Context(), cliAuth, account, f) // Limit 0: every number
			if err != nil {
				return err
			}
			if format == "json" {
				return a.printJSON(numbersJSON(ns))
			}
			return a.writeNumbersCSV(ns)
		},
	}
	c.Flags().StringVar(&format, "format", "csv", "csv (numbers import's columns) or json (Kazoo documents)")
	c.Flags().StringVar(&account, "account", "", "only this account's numbers")
	c.Flags().StringVar(&state, "state", "", "only numbers in this state")
	return c
}

// writeNumbersCSV writes ns with the columns numbers import reads.
func (a *app) writeNumbersCSV(ns []*knm.Number) error {
	w := csv.NewWriter(a.stdout)
	w.Write([]string{"number", "state", "module", "assigned_to", "carrier_data"})
	for _, n := range ns {
		data := ""
		if len(n.CarrierData) > 0 && string(n.CarrierData) != "null" {
			var compact bytes.Buffer
			if err := json.Compact(&compact, n.CarrierData); err != nil {
				return fmt.Errorf("number %s: carrier data: %w", n.Number, err)
			}
			data = compact.String()
		}
		w.Write([]string{n.Number, string(n.State), n.ModuleName, n.AssignedTo, data})
	}
	w.Flush()
	return w.Error()
}
