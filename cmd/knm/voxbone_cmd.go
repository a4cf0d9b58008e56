package main

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/knmproject/knm/carriers/knmvoxbone"
	"github.com/knmproject/knm/voxbone"
)

// voxboneCommand is the `knm voxbone` group: the Voxbone account through
// number_manager.voxbone, and the emulator.
func (a *app) voxboneCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "voxbone",
		Short: "Talk to Voxbone (or the built-in emulator) through number_manager.voxbone"}
	cmd.AddCommand(a.voxboneBalanceCommand(), a.voxboneGroupsCommand(), a.voxboneOrderCommand(),
		a.voxboneCartsCommand(), a.voxboneReconcileCommand(), a.voxboneRecoverCommand(), a.emulateCommand())
	return cmd
}

// voxboneClient returns the Voxbone client of the knm_voxbone carrier.
func (a *app) voxboneClient(ctx context.Context) (*voxbone.Client, error) {
	c, err := a.voxboneCarrier(ctx)
	if err != nil {
		return nil, err
	}
	return c.Client(), nil
}

// redactedURL hides the password of a URL given on the command line.
func redactedURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

func (a *app) voxboneBalanceCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "balance",
		Short: "Show the Voxbone account balance",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := a.voxboneClient(cmd.Context())
			if err != nil {
				return err
			}
			b, err := cl.AccountBalance(cmd.Context())
			if err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(b)
			}
			fmt.Fprintf(a.stdout, "balance %.2f %s (threshold %.2f, active %v)\n",
				b.Balance, b.Currency, b.Threshold, b.Active)
			return nil
		},
	}
}

func (a *app) voxboneGroupsCommand() *cobra.Command {
	var country, areaCode, didType string
	cmd := &cobra.Command{
		Use:   "groups --country USA [--area-code 205] [--type GEOGRAPHIC]",
		Short: "List DID groups with stock and prices (all pages)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if strings.TrimSpace(country) == "" {
				return usageError("--country is required (e.g. USA or US)")
			}
			a3, err := knmvoxbone.CountryA3(country)
			if err != nil {
				return err
			}
			if !knmvoxbone.ValidAreaCode(areaCode) {
				return usageError("--area-code %q must be digits, optionally ending in * (e.g. 205 or 80*)", areaCode)
			}
			didType = strings.ToUpper(didType)
			if didType != "" && !slices.Contains(knmvoxbone.DIDTypes, didType) {
				return usageError("--type %q is not a Voxbone DID type (%s)", didType,
					strings.Join(knmvoxbone.DIDTypes, ", "))
			}
			cl, err := a.voxboneClient(cmd.Context())
			if err != nil {
				return err
			}
			gs, err := cl.ListAllDIDGroups(cmd.Context(), voxbone.ListDIDGroupsOptions{
				CountryCodeA3: a3, AreaCode: areaCode, DIDType: didType})
			if err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(gs)
			}
			a.printGroups(gs)
			return nil
		},
	}
	cmd.Flags().StringVar(&country, "country", "", "country, ISO alpha-3 (USA) or alpha-2 (US) (required)")
	cmd.Flags().StringVar(&areaCode, "area-code", "", "area code, e.g. 205")
	cmd.Flags().StringVar(&didType, "type", "", "GEOGRAPHIC, TOLL_FREE, NATIONAL, …")
	return cmd
}

// printGroups renders DID groups as a table.
func (a *app) printGroups(gs []voxbone.DIDGroup) {
	w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "GROUP\tTYPE\tAREA\tCITY\tSTOCK\tSETUP\tMONTHLY")
	for _, g := range gs {
		city := "-"
		if g.CityName != nil {
			city = *g.CityName
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%d\t%.2f\t%.2f\n", g.DIDGroupID, g.DIDType, g.AreaCode, city, g.Stock,
			float64(g.Setup100)/100, float64(g.Monthly100)/100)
	}
	w.Flush()
	fmt.Fprintf(a.stdout, "%d group(s)\n", len(gs))
}
