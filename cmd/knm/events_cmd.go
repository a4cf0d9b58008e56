package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/events"
)

// tailPoll is how often `events tail --follow` looks for new events.
const tailPoll = 500 * time.Millisecond

func (a *app) eventsCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "events", Short: "Read the number events (the outbox) and their consumers"}
	cmd.AddCommand(a.eventsTailCommand(), a.eventsConsumersCommand(), a.eventsPurgeCommand())
	return cmd
}

func (a *app) eventsTailCommand() *cobra.Command {
	var (
		since  int64
		lines  int
		follow bool
	)
	cmd := &cobra.Command{
		Use:   "tail",
		Short: "Print number events: the newest --lines, or all after --since ID; --follow waits for more",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if lines < 1 {
				return usageError("--lines must be at least 1")
			}
			if since < -1 {
				return usageError("--since must be an event id (0 or more)")
			}
			s, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			if since < 0 {
				head, err := s.LastEventID(ctx)
				if err != nil {
					return err
				}
				since = max(0, head-int64(lines))
			}
			return a.tailEvents(ctx, s, since, follow)
		},
	}
	cmd.Flags().Int64Var(&since, "since", -1, "print the events after this id (default: the newest --lines)")
	cmd.Flags().IntVarP(&lines, "lines", "n", 20, "without --since, how many of the newest events to print")
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new events until interrupted")
	return cmd
}

// tailEvents prints the events after since, then, with follow, new ones as they come,
// until ctx ends (Ctrl-C), which is a normal end.
func (a *app) tailEvents(ctx context.Context, s knm.EventStore, since int64, follow bool) error {
	w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	if !a.jsonOut {
		fmt.Fprintln(w, "ID\tTIME\tTYPE\tNUMBER\tSTATE\tACCOUNT")
	}
	for {
		evs, err := s.Events(ctx, since, 500)
		if err != nil {
			if ctx.Err() != nil && follow {
				return nil
			}
			return err
		}
		for _, e := range evs {
			a.printEvent(w, e)
			since = e.ID
		}
		w.Flush()
		if len(evs) == 500 {
			continue
		}
		if !follow {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(tailPoll):
		}
	}
}

// printEvent writes one event: a table row, or a line of JSON with --json.
func (a *app) printEvent(w io.Writer, e *knm.Event) {
	if a.jsonOut {
		b, _ := json.Marshal(e)
		fmt.Fprintf(w, "%s\n", b)
		return
	}
	fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s -> %s\t%s -> %s\n", e.ID, e.Time.UTC().Format("2006-01-02T15:04:05.000Z"),
		e.Type, e.Number, dash(string(e.StateBefore)), dash(string(e.StateAfter)),
		dash(e.AccountBefore), dash(e.AccountAfter))
}

func (a *app) eventsConsumersCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "consumers",
		Short: "List the outbox's consumers (kazoo_sync, webhook:<id>, …) and how far behind each is",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			s, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			cs, err := s.EventCursors(ctx)
			if err != nil {
				return err
			}
			type row struct {
				Name   string `json:"name"`
				Cursor int64  `json:"cursor"`
				Behind int64  `json:"behind"`
				Oldest string `json:"oldest_unhandled_age"`
				Owner  string `json:"owner"`
			}
			rows := make([]row, 0, len(cs))
			for _, c := range cs {
				lag, err := events.ConsumerLag(ctx, s, c.Name, time.Now())
				if err != nil {
					return err
				}
				rows = append(rows, row{Name: c.Name, Cursor: c.LastID, Behind: lag.Events,
					Oldest: lag.Oldest.Round(time.Second).String(), Owner: c.Owner})
			}
			if a.jsonOut {
				return a.printJSON(rows)
			}
			w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "CONSUMER\tCURSOR\tBEHIND\tOLDEST\tOWNER")
			for _, r := range rows {
				fmt.Fprintf(w, "%s\t%d\t%d\t%s\t%s\n", r.Name, r.Cursor, r.Behind, r.Oldest, dash(r.Owner))
			}
			return w.Flush()
		},
	}
}

func (a *app) eventsPurgeCommand() *cobra.Command {
	var days int
	cmd := &cobra.Command{
		Use:   "purge",
		Short: "Delete events older than the retention (knm.events retention_days) that every consumer has passed",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			cfg, err := a.config(ctx)
			if err != nil {
				return err
			}
			keep := time.Duration(days) * 24 * time.Hour
			if days == 0 {
				if keep, err = events.Retention(ctx, cfg); err != nil {
					return err
				}
			} else if days < 0 {
				return usageError("--older-than-days must be at least 1")
			}
			n, err := events.Purge(ctx, a.store, keep, time.Now())
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "purged %d event(s) older than %s\n", n, keep)
			return nil
		},
	}
	cmd.Flags().IntVar(&days, "older-than-days", 0, "retention in days (default: system_config knm.events retention_days)")
	return cmd
}
