package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/e164"
	"github.com/knmproject/knm/voxbone"
	"github.com/knmproject/knm/voxbone/emulator"
)

// voxboneClient returns the Voxbone client of the knm_voxbone carrier, built from
// number_manager.voxbone with the process's rate limiter.
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

func (a *app) voxboneCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "voxbone", Short: "Talk to Voxbone (or the built-in emulator) through number_manager.voxbone"}
	cmd.AddCommand(&cobra.Command{
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
			fmt.Fprintf(a.stdout, "balance %.2f %s (threshold %.2f, active %v)\n", b.Balance, b.Currency, b.Threshold, b.Active)
			return nil
		},
	})

	var country, areaCode, didType string
	groups := &cobra.Command{
		Use:   "groups --country USA [--area-code 205] [--type GEOGRAPHIC]",
		Short: "List DID groups with stock and prices (all pages)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a3, err := alpha3(country)
			if err != nil {
				return err
			}
			if !validAreaCode(areaCode) {
				return usageError("--area-code %q must be digits, optionally ending in * (e.g. 205 or 80*)", areaCode)
			}
			didType = strings.ToUpper(didType)
			if didType != "" && !slices.Contains(didTypes, didType) {
				return usageError("--type %q is not a Voxbone DID type (%s)", didType, strings.Join(didTypes, ", "))
			}
			cl, err := a.voxboneClient(cmd.Context())
			if err != nil {
				return err
			}
			gs, err := cl.ListAllDIDGroups(cmd.Context(), voxbone.ListDIDGroupsOptions{
				CountryCodeA3: a3, AreaCode: areaCode, DIDType: didType,
			})
			if err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(gs)
			}
			w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "GROUP\tTYPE\tAREA\tCITY\tSTOCK\tSETUP\tMONTHLY")
			for _, g := range gs {
				city := "-"
				if g.CityName != nil {
					city = *g.CityName
				}
				fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%d\t%.2f\t%.2f\n", g.DIDGroupID, g.DIDType, g.AreaCode, city, g.Stock, float64(g.Setup100)/100, float64(g.Monthly100)/100)
			}
			w.Flush()
			fmt.Fprintf(a.stdout, "%d group(s)\n", len(gs))
			return nil
		},
	}
	groups.Flags().StringVar(&country, "country", "", "country, ISO alpha-3 (USA) or alpha-2 (US) (required)")
	groups.Flags().StringVar(&areaCode, "area-code", "", "area code, e.g. 205")
	groups.Flags().StringVar(&didType, "type", "", "GEOGRAPHIC, TOLL_FREE, NATIONAL, …")
	cmd.AddCommand(groups, a.emulateCommand())
	for _, c := range a.voxboneCarrierCommands() {
		cmd.AddCommand(c)
	}
	return cmd
}

// validAreaCode reports whether s is empty or 1 to 10 digits with an optional trailing
// wildcard (* or %).
func validAreaCode(s string) bool {
	d := strings.TrimRight(s, "*%")
	if len(s)-len(d) > 1 || len(d) > 10 || (d == "" && s != "") {
		return false
	}
	for _, c := range d {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// didTypes are Voxbone's DID types (voxbone-api.md §7.2).
var didTypes = []string{"GEOGRAPHIC", "NATIONAL", "MOBILE", "INUM", "TOLL_FREE", "SHARED_COST", "SPECIAL"}

// alpha3 accepts a country as ISO alpha-3 or alpha-2 and returns alpha-3, as Voxbone wants.
func alpha3(country string) (string, error) {
	c := strings.ToUpper(strings.TrimSpace(country))
	switch len(c) {
	case 3:
		if _, ok := e164.Alpha2(c); ok {
			return c, nil
		}
	case 2:
		if a3, ok := e164.Alpha3(c); ok {
			return a3, nil
		}
	case 0:
		return "", usageError("--country is required (e.g. USA or US)")
	}
	return "", knm.Errorf(knm.ErrInvalid, "unknown country %q (use ISO 3166 alpha-3 like USA, or alpha-2 like US)", country)
}

func (a *app) emulateCommand() *cobra.Command {
	var listen, username, password string
	var quiet bool
	cfg := emulator.Config{}
	c := &cobra.Command{
		Use:   "emulate --listen ADDR [--rate-limit 20] [--latency 0ms] [--seed N] [--username U --password P]",
		Short: "Run the built-in Voxbone API v3 emulator",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfg.RateLimit < 0 || cfg.Latency < 0 {
				return usageError("--rate-limit and --latency must not be negative")
			}
			if (username == "") != (password == "") {
				return usageError("give both --username and --password, or neither")
			}
			cfg.Username, cfg.Password = username, password
			if !quiet {
				// One line per request (never credentials), so an operator can watch what a
				// client under test sends.
				cfg.Logger = slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
			}
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return fmt.Errorf("voxbone emulate: %w", err)
			}
			fmt.Fprintf(a.stdout, "Voxbone emulator listening; base_url http://%s%s\n", ln.Addr(), strings.TrimSuffix(emulator.BasePath, "/"))
			return emulator.Serve(cmd.Context(), ln, emulator.New(cfg))
		},
	}
	f := c.Flags()
	f.StringVar(&listen, "listen", "127.0.0.1:8089", "address to listen on")
	f.IntVar(&cfg.RateLimit, "rate-limit", 20, "requests per client IP in any one-second window (0 = unlimited)")
	f.DurationVar(&cfg.Latency, "latency", 0, "latency added to every request, e.g. 50ms")
	f.Int64Var(&cfg.Seed, "seed", 1, "seed for deterministic ids and numbers")
	f.StringVar(&username, "username", "", "HTTP Basic user required of clients")
	f.StringVar(&password, "password", "", "HTTP Basic password required of clients")
	f.Float64Var(&cfg.Balance, "balance", 500, "initial account balance")
	f.BoolVar(&quiet, "quiet", false, "do not log each request on stderr")
	return c
}

var _ = time.Second
