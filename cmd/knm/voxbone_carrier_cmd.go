package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/carriers/knmvoxbone"
	"github.com/knmproject/knm/voxbone"
)

func (a *app) voxboneOrderCommand() *cobra.Command {
	var req knmvoxbone.OrderRequest
	cmd := &cobra.Command{
		Use:   "order --group ID --quantity N [--country USA] [--idempotency-key K] [--account ID]",
		Short: "Buy N DIDs from one DID group (journalled; with a key, a repeat buys nothing)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if req.GroupID <= 0 || req.Quantity <= 0 {
				return usageError("order needs --group ID and --quantity N (both positive)")
			}
			c, err := a.voxboneCarrier(cmd.Context())
			if err != nil {
				return err
			}
			res, err := c.Order(cmd.Context(), req)
			if res == nil {
				return err
			}
			if perr := a.printOrder(res); perr != nil {
				return perr
			}
			if err == nil && res.State != knmvoxbone.StateImported {
				// Money may have been spent but the order is not complete: exit non-zero, so a
				// script does not take it for a finished order.
				msg := res.Error
				if msg == "" {
					msg = "not finished"
				}
				err = knm.Errorf(knm.ErrUnavailable, "order %s is %s: %s "+
					"(knm voxbone recover settles it; do not order again)", res.OrderID, res.State, msg)
			}
			return err
		},
	}
	f := cmd.Flags()
	f.IntVar(&req.GroupID, "group", 0, "DID group id (see knm voxbone groups)")
	f.IntVar(&req.Quantity, "quantity", 0, "how many DIDs")
	f.StringVar(&req.Country, "country", "USA", "the group's country (alpha-3 or alpha-2)")
	f.StringVar(&req.IdempotencyKey, "idempotency-key", "", "repeat-safe key: the same key returns the first order")
	f.StringVar(&req.AssignTo, "account", "", "put the bought numbers in service for this account")
	return cmd
}

// printOrder renders an order and its numbers.
func (a *app) printOrder(res *knmvoxbone.OrderResult) error {
	if a.jsonOut {
		return a.printJSON(res)
	}
	replay := ""
	if res.Replayed {
		replay = " (repeat of an earlier request: nothing bought)"
	}
	fmt.Fprintf(a.stdout, "order %s: %s, %d of %d DID(s), %.2f planned%s\n", res.OrderID, res.State,
		len(res.Numbers), res.Quantity, float64(res.CostCents)/100, replay)
	for _, n := range res.Numbers {
		fmt.Fprintln(a.stdout, n)
	}
	return nil
}

func (a *app) voxboneCartsCommand() *cobra.Command {
	var purge, dryRun bool
	cmd := &cobra.Command{
		Use:   "carts [--purge [--dry-run]]",
		Short: "List the account's open carts (knm's are marked); --purge deletes knm's abandoned ones",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.voxboneCarrier(cmd.Context())
			if err != nil {
				return err
			}
			if purge {
				ids, err := c.PurgeCarts(cmd.Context(), dryRun)
				if err != nil {
					return err
				}
				return a.printPurge(ids, dryRun)
			}
			list, err := c.Client().ListAllCarts(cmd.Context(), voxbone.ListCartsOptions{})
			if err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(append([]voxbone.Cart{}, list...))
			}
			w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "CART\tADDED\tREFERENCE\tKNM\tLINES")
			for _, ct := range list {
				fmt.Fprintf(w, "%d\t%s\t%s\t%v\t%d\n", ct.CartIdentifier, ct.DateAdded, dash(ct.CustomerReference),
					strings.HasPrefix(ct.CustomerReference, knmvoxbone.OrderPrefix), len(ct.OrderProducts))
			}
			w.Flush()
			fmt.Fprintf(a.stdout, "%d cart(s)\n", len(list))
			return nil
		},
	}
	cmd.Flags().BoolVar(&purge, "purge", false,
		"delete knm's carts older than cart_ttl_minutes that were never checked out")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "with --purge: only say which carts would go")
	return cmd
}

// printPurge renders the carts a purge deleted, or would delete.
func (a *app) printPurge(ids []int, dryRun bool) error {
	if a.jsonOut {
		return a.printJSON(map[string]any{"purged": append([]int{}, ids...), "dry_run": dryRun})
	}
	verb := "deleted"
	if dryRun {
		verb = "would delete"
	}
	fmt.Fprintf(a.stdout, "%s %d abandoned knm cart(s) %v\n", verb, len(ids), ids)
	return nil
}

func (a *app) voxboneReconcileCommand() *cobra.Command {
	var importMissing bool
	cmd := &cobra.Command{
		Use:   "reconcile [--import]",
		Short: "Compare the Voxbone account's DIDs with knm's knm_voxbone numbers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.voxboneCarrier(cmd.Context())
			if err != nil {
				return err
			}
			rep, err := c.Reconcile(cmd.Context(), importMissing)
			if err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(rep)
			}
			a.printReconcile(rep, importMissing)
			return nil
		},
	}
	cmd.Flags().BoolVar(&importMissing, "import", false, "store the DIDs knm does not know as available numbers")
	return cmd
}

// printReconcile renders a reconcile report, one line per finding.
func (a *app) printReconcile(rep *knmvoxbone.ReconcileReport, imported bool) {
	out := a.stdout
	fmt.Fprintf(out, "%d DID(s) at Voxbone unknown to knm, %d knm number(s) Voxbone no longer has, %d imported\n",
		len(rep.UnknownToKnm), len(rep.MissingAtVoxbone), rep.Imported)
	for _, d := range rep.UnknownToKnm {
		fmt.Fprintf(out, "  unknown to knm: %s (DID %d, group %d)\n", d.E164, d.DIDID, d.DIDGroupID)
	}
	for _, n := range rep.MissingAtVoxbone {
		fmt.Fprintf(out, "  missing at Voxbone: %s\n", n)
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

func (a *app) voxboneRecoverCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "recover",
		Short: "Finish or clean up every unfinished Voxbone order (also run by knm serve)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.voxboneCarrier(cmd.Context())
			if err != nil {
				return err
			}
			rep, err := c.Recover(cmd.Context())
			if err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(rep)
			}
			fmt.Fprintf(a.stdout, "%d unfinished order(s): %d imported, %d partial, %d failed (nothing bought), "+
				"%d left for later\n", rep.Examined, rep.Imported, rep.Partial, rep.Failed, len(rep.Unsettled))
			if rep.LateChecked > 0 {
				fmt.Fprintf(a.stdout, "%d partial order(s) checked for late deliveries: %d DID(s) imported, "+
					"%d order(s) completed\n", rep.LateChecked, rep.LateImported, rep.LateCompleted)
			}
			for _, u := range rep.Unsettled {
				fmt.Fprintln(a.stdout, "  "+u)
			}
			if len(rep.Unsettled) > 0 {
				return knm.Errorf(knm.ErrUnavailable, "%d order(s) could not be settled yet; run recover again",
					len(rep.Unsettled))
			}
			return nil
		},
	}
}
