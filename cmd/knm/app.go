package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/carriers"
	"github.com/knmproject/knm/manager"
	"github.com/knmproject/knm/metrics"
)

// app holds the global flags and the lazily opened dependencies shared by every command.
type app struct {
	db, node, zone, redis, listen string
	corsOrigins                   string        // serve and demo: --cors-origins
	drainTimeout                  time.Duration // serve and demo: --drain-timeout
	jsonOut                       bool
	verbose                       bool
	logFormat, logLevel           string // --log-format, --log-level; "" takes the command's default

	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string

	store    knm.Store
	mgr      *manager.Manager
	registry *carriers.Registry
	logger   *slog.Logger

	vox        *voxboneHolder // knm_voxbone, following number_manager.voxbone
	metricsReg *metrics.Metrics
	metricsNew sync.Once   // metricsReg is made once, whichever goroutine asks first
	lease      leaseHolder // this process's instance lease, once it orders
}

// run executes the command line args and returns the process exit code. Tests call it
// directly, so it never calls os.Exit and writes only to the given streams.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer,
	getenv func(string) string) int {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv}
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteContextC(ctx)
	a.close()
	if err != nil {
		// One line, naming the command, so a failure in a script says where it happened.
		where := "knm"
		if cmd != nil {
			where = cmd.CommandPath()
		}
		fmt.Fprintln(stderr, where+": "+errorLine(where, err)+sqliteHint(a.db, err))
		return 1
	}
	return 0
}

// needsSubcommand makes a command that only groups others fail (non-zero exit) when run
// without one, instead of printing help and succeeding.
func needsSubcommand(cmd *cobra.Command) *cobra.Command {
	cmd.Args = cobra.NoArgs
	cmd.RunE = func(c *cobra.Command, _ []string) error {
		names := make([]string, 0, len(c.Commands()))
		for _, sub := range c.Commands() {
			if sub.IsAvailableCommand() {
				names = append(names, sub.Name())
			}
		}
		return usageError("a subcommand is needed: %s (see --help)", strings.Join(names, ", "))
	}
	return cmd
}

// flagError explains the one flag error that puzzles people: a negative number argument
// read as a flag (config set … page_size -1).
func flagError(_ *cobra.Command, err error) error {
	msg := err.Error()
	if strings.Contains(msg, "unknown shorthand flag") && negativeNumber.MatchString(msg) {
		return usageError("%s: a negative number is read as a flag; put -- before the arguments "+
			"(knm config set -- CATEGORY KEY -1)", msg)
	}
	return err
}

// negativeNumber matches pflag's "unknown shorthand flag: '1' in -1" for a number.
var negativeNumber = regexp.MustCompile(`in -[0-9.]+$`)

// errorLine is the error of the command where (e.g. "knm config import") as one line,
// without the command's name again when a package put it first ("config import: …").
func errorLine(where string, err error) string {
	msg := oneLine(err)
	if cmd, ok := strings.CutPrefix(where, "knm "); ok {
		msg = strings.TrimPrefix(msg, cmd+": ")
	}
	return msg
}

// oneLine renders an error as the single line the CLI prints.
func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

func (a *app) envOr(key, def string) string {
	if v := a.getenv(key); v != "" {
		return v
	}
	return def
}

func (a *app) rootCommand() *cobra.Command {
	host, _ := os.Hostname()
	root := &cobra.Command{
		Use:           "knm",
		Short:         "knm manages telephone numbers (DIDs) across carriers, Kazoo-compatible",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			// Errors only: a failing command prints one line of its own, and retries or
			// dropped modules show with -v.
			l, err := a.newLogger(slog.LevelError, "text")
			a.logger = l
			return err
		},
	}
	root.Version = readVersion().String()
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetFlagErrorFunc(flagError)
	pf := root.PersistentFlags()
	pf.StringVar(&a.db, "db", a.envOr("KNM_DB", "sqlite:knm.db"),
		"database: sqlite:PATH or a postgres:// URL (env KNM_DB)")
	pf.StringVar(&a.node, "node", a.envOr("KNM_NODE", host),
		"node name for node sections of system_config documents (env KNM_NODE)")
	pf.StringVar(&a.zone, "zone", a.envOr("KNM_ZONE", ""),
		"zone name for zone sections of system_config documents (env KNM_ZONE)")
	pf.StringVar(&a.redis, "redis", a.envOr("KNM_REDIS_URL", ""),
		"Redis URL; when set the Voxbone rate budget is shared through it (env KNM_REDIS_URL)")
	pf.BoolVar(&a.jsonOut, "json", false, "print machine-readable JSON")
	pf.BoolVarP(&a.verbose, "verbose", "v", false, "log debug details to stderr (--log-level debug)")
	pf.StringVar(&a.logFormat, "log-format", a.envOr("KNM_LOG_FORMAT", ""),
		"log lines on stderr as text or json (default text; json for serve and demo) (env KNM_LOG_FORMAT)")
	pf.StringVar(&a.logLevel, "log-level", a.envOr("KNM_LOG_LEVEL", ""),
		"debug, info, warn or error (default error; info for serve and demo) (env KNM_LOG_LEVEL)")
	root.AddCommand(needsSubcommand(a.configCommand()), needsSubcommand(a.accountsCommand()),
		needsSubcommand(a.numbersCommand()), a.searchCommand(), needsSubcommand(a.voxboneCommand()),
		a.serveCommand(), a.demoCommand(), needsSubcommand(a.kazooCommand()),
		needsSubcommand(a.eventsCommand()), needsSubcommand(a.webhooksCommand()), a.versionCommand())
	polishHelp(root)
	return root
}

// newLogger builds the logger of a command from --log-format and --log-level, or the
// command's defaults; -v means debug.
func (a *app) newLogger(level slog.Level, format string) (*slog.Logger, error) {
	if a.logLevel != "" {
		if err := level.UnmarshalText([]byte(a.logLevel)); err != nil {
			return slog.New(slog.DiscardHandler), usageError("--log-level %q: use debug, info, warn or error",
				a.logLevel)
		}
	}
	if a.verbose {
		level = slog.LevelDebug
	}
	opts := &slog.HandlerOptions{Level: level}
	switch cmp.Or(a.logFormat, format) {
	case "text":
		return slog.New(slog.NewTextHandler(a.stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(a.stderr, opts)), nil
	}
	return slog.New(slog.DiscardHandler), usageError("--log-format %q: use text or json", a.logFormat)
}

// metrics returns the process's Prometheus metrics, shared by the API and the Voxbone
// client, limiter and carrier.
func (a *app) metrics() *metrics.Metrics {
	a.metricsNew.Do(func() { a.metricsReg = metrics.New(nil) })
	return a.metricsReg
}

// openStore opens the database named by --db once per process.
func (a *app) openStore(ctx context.Context) (knm.Store, error) {
	if a.store != nil {
		return a.store, nil
	}
	s, err := openStore(ctx, a.db)
	if err != nil {
		return nil, err
	}
	a.store = s
	return s, nil
}

func (a *app) close() {
	if a.store != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := a.releaseLease(ctx); err != nil && a.logger != nil {
			a.logger.Warn("instance lease not released; it expires by itself", "error", err)
		}
		cancel()
	}
	if a.vox != nil && a.vox.redis != nil {
		a.vox.redis.Close()
	}
	if a.store != nil {
		a.store.Close()
		a.store = nil
	}
}

// printJSON writes v as indented JSON.
func (a *app) printJSON(v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// usageError is returned for bad command-line input.
func usageError(format string, args ...any) error {
	return knm.Errorf(knm.ErrInvalid, format, args...)
}
