package main

import (
	"fmt"
	"log/slog"
	"net"
	"strings"

	"github.com/spf13/cobra"

	"github.com/knmproject/knm/voxbone/emulator"
)

// emulateCommand runs the Voxbone emulator on its own, for tests of other clients and for
// trying knm without a Voxbone account.
func (a *app) emulateCommand() *cobra.Command {
	var listen, username, password string
	var quiet bool
	cfg := emulator.Config{}
	c := &cobra.Command{
		Use: "emulate --listen ADDR [--rate-limit 20] [--latency 0ms] [--seed N] " +
			"[--username U --password P]",
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
			fmt.Fprintf(a.stdout, "Voxbone emulator listening; base_url http://%s%s\n", ln.Addr(),
				strings.TrimSuffix(emulator.BasePath, "/"))
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
