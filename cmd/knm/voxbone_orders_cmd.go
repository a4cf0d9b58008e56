package main

import (
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/knmproject/knm/carriers/knmvoxbone"
)

// orderStates are the states an order's journal row goes through, for --state.
var orderStates = []knmvoxbone.OrderState{knmvoxbone.StatePlanned, knmvoxbone.StateCartCreated,
	knmvoxbone.StateItemsAdded, knmvoxbone.StateCheckoutSent, knmvoxbone.StateCheckedOut,
	knmvoxbone.StateAwaitingDelivery, knmvoxbone.StateImported, knmvoxbone.StatePartial, knmvoxbone.StateFailed}

// voxboneOrdersCommand lists the Voxbone orders of the journal, as GET /v2/voxbone/orders
// does, and shows one.
func (a *app) voxboneOrdersCommand() *cobra.Command {
	var state string
	cmd := &cobra.Command{
		Use:   "orders [--state S] | orders show ID",
		Short: "List knm's Voxbone orders (searches' purchases and voxbone order), or show one",
		Example: `  knm voxbone orders
  knm voxbone orders --state awaiting_delivery
  knm voxbone orders show knm-7e52640e8714a80a6aca52b3`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if state != "" && !slices.Contains(orderStates, knmvoxbone.OrderState(state)) {
				return usageError("--state %q is not an order state (%s)", state, joinStates())
			}
			c, err := a.voxboneCarrier(cmd.Context())
			if err != nil {
				return err
			}
			all, err := c.ListOrders(cmd.Context())
			if err != nil {
				return err
			}
			orders := make([]*knmvoxbone.OrderResult, 0, len(all))
			for _, o := range all {
				if state == "" || string(o.State) == state {
					orders = append(orders, o)
				}
			}
			if a.jsonOut {
				return a.printJSON(orders)
			}
			w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "ORDER\tSTATE\tDIDS\tPLANNED\tCOST\tCREATED\tKEY")
			for _, o := range orders {
				fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%.2f\t%s\t%s\n", o.OrderID, o.State, len(o.Numbers), o.Quantity,
					float64(o.CostCents)/100, o.Created.UTC().Format("2006-01-02 15:04:05"), dash(o.IdempotencyKey))
			}
			w.Flush()
			fmt.Fprintf(a.stdout, "%d order(s)\n", len(orders))
			return nil
		},
	}
	cmd.Flags().StringVar(&state, "state", "", "only orders in this state ("+joinStates()+")")
	cmd.AddCommand(&cobra.Command{
		Use:   "show ID",
		Short: "Show one Voxbone order: its plan, state, numbers and error",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.voxboneCarrier(cmd.Context())
			if err != nil {
				return err
			}
			o, err := c.GetOrder(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return a.printJSON(o)
		},
	})
	return cmd
}

func joinStates() string {
	s := make([]string, len(orderStates))
	for i, st := range orderStates {
		s[i] = string(st)
	}
	return strings.Join(s, ", ")
}
