package main

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/spf13/cobra"

	"github.com/knmproject/knm"
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
searches sell first (they become released; it asks first, or goes ahead with --yes).

The exit status is 1 when something is left to do: a knm number Voxbone no longer has that
is still in the pool or assigned (not marked by --fix), a routing error, or a DID whose
configuration is pending. Numbers Voxbone no longer has that knm holds released (as --fix
leaves them) and DIDs unknown to knm are only reported.`,
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
			// knm's back, or bought before the settings): reported, repaired with --fix. The
			// numbers Voxbone no longer has are reported above, once, not as routing errors.
			routing, err := c.Route(cmd.Context(), knmvoxbone.RouteRequest{All: true, DryRun: !fix, SkipMissing: true})
			if err != nil {
				return err
			}
			out := map[string]any{"numbers": rep, "routing": routing}
			var routeErr, fixErr error
			if !a.jsonOut {
				a.printReconcile(rep, importMissing, fix)
				routeErr = a.printRoute(routing)
			}
			open := unsettledMissing(rep)
			var marked []string
			if fix && len(open) > 0 {
				marked, fixErr = a.fixMissing(cmd.Context(), c, open, yes, out)
			}
			if a.jsonOut {
				if perr := a.printJSON(out); perr != nil {
					return perr
				}
			}
			return errors.Join(fixErr, routeErr, missingToActOn(open, marked))
		},
	}
	cmd.Flags().BoolVar(&importMissing, "import", false, "store the DIDs knm does not know as available numbers")
	cmd.Flags().BoolVar(&fix, "fix", false, "configure DIDs as the routing settings say, and take the numbers "+
		"Voxbone no longer has out of the search pool")
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "with --fix: mark the missing numbers without asking")
	return cmd
}

// unsettledMissing returns the numbers Voxbone no longer has that knm does not hold
// released or deleted yet: those the operator must act on.
func unsettledMissing(rep *knmvoxbone.ReconcileReport) []string {
	return slices.DeleteFunc(slices.Clone(rep.MissingAtVoxbone), func(n string) bool {
		return slices.Contains(rep.MissingSettled, n)
	})
}

// missingToActOn is the error that makes the exit status non-zero while numbers Voxbone no
// longer has (open) are still in the pool or assigned, those marked by --fix aside.
func missingToActOn(open, marked []string) error {
	n := len(open) - len(marked)
	if n <= 0 {
		return nil
	}
	return knm.Errorf(knm.ErrConflict, "%d knm number(s) Voxbone no longer has still to settle: reconcile --fix "+
		"takes the available ones out of the pool; check the assigned ones with Voxbone", n)
}

// fixMissing marks the numbers Voxbone no longer has (open), once confirmed, adds what it
// did to out (the --json reply) and returns the numbers marked.
func (a *app) fixMissing(ctx context.Context, c *knmvoxbone.Carrier, open []string,
	yes bool, out map[string]any) ([]string, error) {
	what := fmt.Sprintf("--fix sets the %d number(s) Voxbone no longer has to released where they are available "+
		"and unassigned, so no search sells them", len(open))
	if err := a.confirm(yes, what, "Mark them?", "numbers not marked", "add --yes to mark them"); err != nil {
		return nil, err
	}
	marked, left, err := c.MarkMissing(ctx, open)
	out["marked"], out["left"] = marked, left
	if a.jsonOut {
		return marked, err
	}
	for _, n := range marked {
		fmt.Fprintf(a.stdout, "  marked released (out of the pool): %s\n", n)
	}
	for _, l := range left {
		fmt.Fprintf(a.stdout, "  left alone: %s\n", l)
	}
	fmt.Fprintf(a.stdout, "%d number(s) marked, %d left alone\n", len(marked), len(left))
	return marked, err
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
		if slices.Contains(rep.MissingSettled, n) {
			fmt.Fprintf(out, "  missing at Voxbone, released in knm (nothing to do): %s\n", n)
		} else {
			fmt.Fprintf(out, "  missing at Voxbone: %s\n", n)
		}
	}
	if len(unsettledMissing(rep)) > 0 && !fixing {
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
