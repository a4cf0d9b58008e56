package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/carriers/knmvoxbone"
)

// voxboneRouteCommand is `knm voxbone route`: the routing settings applied to DIDs knm holds.
func (a *app) voxboneRouteCommand() *cobra.Command {
	var all, dryRun bool
	cmd := &cobra.Command{
		Use:   "route [--all | NUMBER…] [--dry-run]",
		Short: "Configure DIDs knm holds with the routing settings (voice_uri, trunk_id, …)",
		Long: `Configure DIDs knm holds with number_manager.voxbone's routing settings (an account's
configs_number_manager.voxbone overrides them for its numbers). --dry-run lists the DIDs whose
configuration differs and changes nothing.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if all == (len(args) > 0) {
				return usageError("give NUMBER… or --all")
			}
			m, err := a.manager(cmd.Context())
			if err != nil {
				return err
			}
			nums := make([]string, len(args))
			for i, n := range args {
				nums[i] = m.Normalize(n)
			}
			c, err := a.voxboneCarrier(cmd.Context())
			if err != nil {
				return err
			}
			rep, err := c.Route(cmd.Context(), knmvoxbone.RouteRequest{Numbers: nums, All: all, DryRun: dryRun})
			if err != nil {
				return err
			}
			return a.printRoute(rep)
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "every knm_voxbone number")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "only list what would change")
	return cmd
}

// printRoute renders a route report; failures make the exit status non-zero.
func (a *app) printRoute(rep *knmvoxbone.RouteReport) error {
	if a.jsonOut {
		if err := a.printJSON(rep); err != nil {
			return err
		}
	} else {
		verb := "configured"
		if rep.DryRun {
			verb = "would be configured"
		}
		fmt.Fprintf(a.stdout, "%d DID(s) examined, %d differ from the routing settings\n", rep.Examined,
			len(rep.Changes))
		for _, ch := range rep.Changes {
			fmt.Fprintf(a.stdout, "  %s %s\n", verb, ch)
		}
		if !rep.DryRun {
			fmt.Fprintf(a.stdout, "%d routed, %d pending (recover retries them)\n", rep.Routed, rep.Pending)
		}
		for _, e := range rep.Errors {
			fmt.Fprintln(a.stdout, "  error: "+e)
		}
	}
	if len(rep.Errors) > 0 || rep.Pending > 0 {
		return knm.Errorf(knm.ErrUnavailable, "%d error(s), %d DID(s) pending", len(rep.Errors), rep.Pending)
	}
	return nil
}

// pruneVoiceURIs deletes knm's unused Voxbone voice URIs and says so on stderr (stdout holds
// the released number's document).
func (a *app) pruneVoiceURIs(ctx context.Context) error {
	c, err := a.voxboneCarrier(ctx)
	if err != nil {
		return err
	}
	rep, err := c.PruneVoiceURIs(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stderr, "pruned %d unused voice URI(s) %v, kept %d\n", len(rep.Deleted), rep.Deleted, rep.Kept)
	if len(rep.Errors) > 0 {
		return knm.Errorf(knm.ErrUnavailable, "pruning voice URIs: %s", strings.Join(rep.Errors, "; "))
	}
	return nil
}
