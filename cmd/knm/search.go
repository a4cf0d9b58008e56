package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/knmproject/knm/manager"
)

func (a *app) searchCommand() *cobra.Command {
	var req manager.SearchRequest
	c := &cobra.Command{
		Use:   "search --prefix 256 [--quantity 15] [--country US] [--account ID] [--offset N]",
		Short: "Search the configured carriers for numbers (Voxbone in order mode buys what the pool lacks)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if req.Prefix == "" {
				return usageError("search needs --prefix (1 to 15 digits, e.g. --prefix 415)")
			}
			m, err := a.manager(cmd.Context())
			if err != nil {
				return err
			}
			if req.AccountID != "" {
				acct, err := a.store.GetAccount(cmd.Context(), req.AccountID)
				if err != nil {
					return err
				}
				req.ResellerID = acct.ResellerID
			}
			res, err := m.Search(cmd.Context(), req)
			if err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(res)
			}
			for _, n := range res.Numbers {
				fmt.Fprintf(a.stdout, "%s\t%s\n", n.Number, n.State)
			}
			fmt.Fprintf(a.stdout, "%d number(s), query %s\n", len(res.Numbers), res.QueryID)
			for _, c := range res.Carriers {
				line := fmt.Sprintf("carrier %s: %s, %d number(s) in %s", c.Module, c.Status, c.Count, c.Duration.Round(time.Millisecond))
				if c.Error != "" {
					line += ": " + c.Error
				}
				fmt.Fprintln(a.stderr, line)
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&req.Prefix, "prefix", "", "national prefix, e.g. 415, or 80* for US toll-free (required)")
	f.IntVar(&req.Quantity, "quantity", 1, "how many numbers")
	f.StringVar(&req.Country, "country", "US", "ISO 3166 alpha-2 country")
	f.StringVar(&req.AccountID, "account", "", "search on behalf of this account (its reseller's carriers)")
	f.IntVar(&req.Offset, "offset", 0, "item offset; > 0 pages the cached results of the same search")
	return c
}
