package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/knmproject/knm/manager"
)

func (a *app) searchCommand() *cobra.Command {
	in := manager.SearchInput{Country: "US", Quantity: "1", Offset: "0"}
	var account string
	c := &cobra.Command{
		Use:   "search --prefix 256 [--quantity 15] [--country US] [--account ID] [--offset N]",
		Short: "Search the configured carriers for numbers (Voxbone in order mode buys what the pool lacks)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if in.Prefix == "" {
				return usageError("search needs --prefix (1 to 15 digits, e.g. --prefix 415)")
			}
			req, err := manager.ParseSearch(in)
			if err != nil {
				return err
			}
			m, err := a.manager(cmd.Context())
			if err != nil {
				return err
			}
			if account != "" {
				acct, err := a.store.GetAccount(cmd.Context(), account)
				if err != nil {
					return err
				}
				req.AccountID, req.ResellerID = account, acct.ResellerID
			}
			res, err := m.Search(cmd.Context(), req)
			if err != nil {
				return err
			}
			return a.printSearch(res)
		},
	}
	f := c.Flags()
	f.StringVar(&in.Prefix, "prefix", "", "national prefix, e.g. 415, or 80* for US toll-free (required)")
	f.Var(textFlag{&in.Quantity, "int"}, "quantity", "how many numbers")
	f.StringVar(&in.Country, "country", in.Country, "ISO 3166 alpha-2 country")
	f.StringVar(&account, "account", "", "search on behalf of this account (its reseller's carriers)")
	f.Var(textFlag{&in.Offset, "int"}, "offset", "item offset; > 0 pages the cached results of the same search")
	return c
}

// printSearch prints the numbers found on stdout and how each carrier did on stderr.
func (a *app) printSearch(res *manager.SearchResult) error {
	if a.jsonOut {
		return a.printJSON(res)
	}
	for _, n := range res.Numbers {
		fmt.Fprintf(a.stdout, "%s\t%s\n", n.Number, n.State)
	}
	fmt.Fprintf(a.stdout, "%d number(s), query %s\n", len(res.Numbers), res.QueryID)
	for _, c := range res.Carriers {
		line := fmt.Sprintf("carrier %s: %s, %d number(s) in %s", c.Module, c.Status, c.Count,
			c.Duration.Round(time.Millisecond))
		if c.Error != "" {
			line += ": " + c.Error
		}
		fmt.Fprintln(a.stderr, line)
	}
	return nil
}

// textFlag keeps a flag's text as typed, so that manager.ParseSearch reads the CLI's input
// exactly as it reads the REST API's; kind names the value in --help.
type textFlag struct {
	text *string
	kind string
}

func (f textFlag) String() string {
	if f.text == nil {
		return ""
	}
	return *f.text
}

func (f textFlag) Set(s string) error { *f.text = s; return nil }
func (f textFlag) Type() string       { return f.kind }
