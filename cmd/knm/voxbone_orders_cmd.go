package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/knmproject/knm"
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
			ins := a.instances(cmd.Context())
			w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "ORDER\tSTATE\tDIDS\tPLANNED\tCOST\tCREATED\tKEY\tINSTANCE")
			for _, o := range orders {
				fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%.2f\t%s\t%s\t%s\n", o.OrderID, o.State, len(o.Numbers), o.Quantity,
					float64(o.CostCents)/100, o.Created.UTC().Format("2006-01-02 15:04:05"), dash(o.IdempotencyKey),
					ins.label(o.Instance))
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
			return a.printJSON(orderShown{o, a.instances(cmd.Context()).label(o.Instance)})
		},
	})
	return cmd
}

// orderShown is an order as orders show prints it: with its instance named for people.
type orderShown struct {
	*knmvoxbone.OrderResult
	// InstanceStatus is the host and process of the order's instance and whether it runs.
	InstanceStatus string `json:"instance_status"`
}

// orderInstances are the registered instances by id, read once for a listing.
type orderInstances struct {
	byID map[string]*knm.Instance
	now  time.Time
	err  error
}

// instances reads the registered instances; an error is kept and shown in the labels.
func (a *app) instances(ctx context.Context) orderInstances {
	in := orderInstances{byID: map[string]*knm.Instance{}, now: time.Now()}
	s, err := a.openStore(ctx)
	var list []*knm.Instance
	if err == nil {
		list, err = s.ListInstances(ctx)
	}
	in.err = err
	for _, i := range list {
		in.byID[i.ID] = i
	}
	return in
}

// label names the instance id as the console does: host and process and whether its lease
// is live; the id alone once the instance is gone; "none" for an order no instance held.
func (in orderInstances) label(id string) string {
	i, ok := in.byID[id]
	switch {
	case id == "":
		return "none"
	case in.err != nil:
		return id + " (instances not read: " + oneLine(in.err) + ")"
	case !ok:
		return id + " (ended: its lease was released or pruned)"
	case i.Live(in.now):
		return fmt.Sprintf("%s, process %d (running)", i.Host, i.PID)
	}
	return fmt.Sprintf("%s, process %d (stopped since %s)", i.Host, i.PID,
		i.Expires.UTC().Format("2006-01-02 15:04:05 UTC"))
}

func joinStates() string {
	s := make([]string, len(orderStates))
	for i, st := range orderStates {
		s[i] = string(st)
	}
	return strings.Join(s, ", ")
}
