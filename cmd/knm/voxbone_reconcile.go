package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/knmproject/knm/carriers/knmvoxbone"
)

// voxboneReconcileCommand is `knm voxbone reconcile`: DIDs and their routing against knm.
func (a *app) voxboneReconcileCommand() *cobra.Command {
	var importMissing, fix, yes bool
	cmd := &cobra.Command{
		Use:   "reconcile [--import] [--fix [--yes]]",
		Short: "Compare the Voxbone account's DIDs with knm's knm_voxbone numbers and the routing settings",
		Long: `Compare the Voxbone account's DIDs with knm's knm_voxbone numbers and the routing settings.

--import stores the DIDs knm does not know as available numbers (not those deleted from knm
on purpose after their order imported them: knm numbers create NUMBER --module knm_voxbone
--state available takes one back). --fix configures the DIDs whose configuration differs
from the routing settings, and takes the numbers Voxbone no longer has out of the pool that
searches sell first (they become released; it asks first, or goes ahead with --yes).`,
		Example: `  knm voxbone reconcile
  knm voxbone reconcile --import
  knm voxbone reconcile --fix --yes`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.voxboneCarrier(cmd.Context())
			if err != nil {
				return err
			}
			rep, err := c.Reconcile(cmd.Context(), importMissing)
			if err != nil {
				return err
			}
			// The configuration of knm's DIDs against the routing settings (changed behind
			// knm's back, or bought before the settings): reported, repaired with --fix.
			routing, err := c.Route(cmd.Context(), knmvoxbone.RouteRequest{All: true, DryRun: !fix})
			if err != nil {
				return err
			}
			out := map[string]any{"numbers": rep, "routing": routing}
			var routeErr, fixErr error
			if !a.jsonOut {
				a.printReconcile(rep, importMissing, fix)
				routeErr = a.printRoute(routing)
			}
			if fix && len(rep.MissingAtVoxbone) > 0 {
				fixErr = a.fixMissing(cmd.Context(), c, rep, yes, out)
			}
			if a.jsonOut {
				if perr := a.printJSON(out); perr != nil {
					return perr
				}
			}
			return errors.Join(fixErr, routeErr)
		},
	}
	cmd.Flags().BoolVar(&importMissing, "import", false, "store the DIDs knm does not know as available numbers")
	cmd.Flags().BoolVar(&fix, "fix", false, "configure DIDs as the routing settings say, and take the numbers "+
		"Voxbone no longer has out of the search pool")
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "with --fix: mark the missing numbers without asking")
	return cmd
}

// fixMissing marks the numbers Voxbone no longer has, once confirmed, and adds what it
// did to out (the --json reply).
func (a *app) fixMissing(ctx context.Context, c *knmvoxbone.Carrier, rep *knmvoxbone.ReconcileReport,
	yes bool, out map[string]any) error {
	what := fmt.Sprintf("--fix sets the %d number(s) Voxbone no longer has to released where they are available "+
		"and unassigned, so no search sells them", len(rep.MissingAtVoxbone))
	if err := a.confirm(yes, what, "Mark them?", "numbers not marked", "add --yes to mark them"); err != nil {
		return err
	}
	marked, left, err := c.MarkMissing(ctx, rep.MissingAtVoxbone)
	out["marked"], out["left"] = marked, left
	if a.jsonOut {
		return err
	}
	for _, n := range marked {
		fmt.Fprintf(a.stdout, "  marked released (out of the pool): %s\n", n)
	}
	for _, l := range left {
		fmt.Fprintf(a.stdout, "  left alone: %s\n", l)
	}
	fmt.Fprintf(a.stdout, "%d number(s) marked, %d left alone\n", len(marked), len(left))
	return err
}

// printReconcile renders a reconcile report, one line per finding, with what to do.
func (a *app) printReconcile(rep *knmvoxbone.ReconcileReport, imported, fixing bool) {
	out := a.stdout
	fmt.Fprintf(out, "%d DID(s) at Voxbone unknown to knm, %d knm number(s) Voxbone no longer has, %d imported\n",
		len(rep.UnknownToKnm), len(rep.MissingAtVoxbone), rep.Imported)
	removed := map[string]bool{}
	for _, d := range rep.RemovedFromKnm {
		removed[d.E164] = true
		fmt.Fprintf(out, "  deleted from knm after its order imported it, so not imported again (still billed at "+
			"Voxbone): %s (DID %d); take it back with: knm numbers create %s --module knm_voxbone --state available\n",
			d.E164, d.DIDID, d.E164)
	}
	for _, d := range rep.UnknownToKnm {
		if !removed[d.E164] {
			fmt.Fprintf(out, "  unknown to knm: %s (DID %d, group %d)\n", d.E164, d.DIDID, d.DIDGroupID)
		}
	}
	for _, n := range rep.MissingAtVoxbone {
		fmt.Fprintf(out, "  missing at Voxbone: %s\n", n)
	}
	if len(rep.MissingAtVoxbone) > 0 && !fixing {
		fmt.Fprintln(out, "  (--fix takes the available ones out of the pool, so no search sells them)")
	}
	for _, n := range rep.Conflicts {
		fmt.Fprintf(out, "  stored under another module (left alone): %s\n", n)
	}
	for _, d := range rep.InOrders {
		fmt.Fprintf(out, "  of an unfinished order (recover imports it): %s (DID %d)\n", d.E164, d.DIDID)
	}
	hint := " (--import brings it in through its order)"
	if imported {
		hint = " (imported through its order)"
	}
	for _, d := range rep.LateDeliveries {
		fmt.Fprintf(out, "  delivered late for a finished order%s: %s (DID %d)\n", hint, d.E164, d.DIDID)
	}
	for _, n := range rep.OrderConflicts {
		fmt.Fprintf(out, "  bought by an order but stored otherwise (left alone): %s\n", n)
	}
	for _, n := range rep.Invalid {
		fmt.Fprintf(out, "  not a usable number (ignored): %s\n", n)
	}
}
