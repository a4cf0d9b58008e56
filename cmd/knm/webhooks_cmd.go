package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/webhooks"
)

func (a *app) webhooksCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "webhooks", Short: "Manage the webhooks that receive number events"}
	cmd.AddCommand(a.webhooksListCommand(), a.webhooksCreateCommand(), a.webhooksDeleteCommand(),
		a.webhooksEnableCommand())
	return cmd
}

func (a *app) webhooksListCommand() *cobra.Command {
	var account string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List webhooks (of --account ID), with their delivery state",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if account != "" && !knm.ValidAccountID(account) {
				return usageError("--account %q is not an account id (32 hex characters)", account)
			}
			s, err := a.openStore(cmd.Context())
			if err != nil {
				return err
			}
			hooks, err := s.FindWebhooks(cmd.Context(), knm.WebhookFilter{AccountID: account})
			if err != nil {
				return err
			}
			if a.jsonOut {
				out := make([]map[string]any, len(hooks))
				for i, h := range hooks {
					out[i] = webhooks.View(h)
				}
				return a.printJSON(out)
			}
			w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "ID\tACCOUNT\tNAME\tURI\tENABLED\tPENDING\tDISABLE_REASON")
			for _, h := range hooks {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%v\t%d\t%s\n", h.ID, h.AccountID, h.Name, h.URI, h.Enabled, h.Pending,
					dash(h.DisableReason))
			}
			return w.Flush()
		},
	}
	cmd.Flags().StringVar(&account, "account", "", "only this account's webhooks")
	return cmd
}

func (a *app) webhooksCreateCommand() *cobra.Command {
	var (
		account string
		h       knm.Webhook
		data    []string
	)
	cmd := &cobra.Command{
		Use:   "create --account ID --name NAME --uri URL",
		Short: "Create a webhook; its signing secret is printed once",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if !knm.ValidAccountID(account) {
				return usageError("--account is required: the id (32 hex characters) of the account whose events the hook receives")
			}
			for _, kv := range data {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					return usageError("--data %q must be KEY=VALUE", kv)
				}
				if h.CustomData == nil {
					h.CustomData = map[string]string{}
				}
				h.CustomData[k] = v
			}
			s, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			if _, err := s.GetAccount(ctx, account); err != nil {
				return err
			}
			hook, err := webhooks.New(account, h)
			if err != nil {
				return err
			}
			if err := s.CreateWebhook(ctx, hook); err != nil {
				return err
			}
			if a.jsonOut {
				out := webhooks.View(hook)
				out["secret"] = hook.Secret
				return a.printJSON(out)
			}
			fmt.Fprintf(a.stdout, "%s\nsigning secret (shown once, keep it safe): %s\n", hook.ID, hook.Secret)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&account, "account", "", "the account whose number events the hook receives")
	f.StringVar(&h.Name, "name", "", "a name for the hook")
	f.StringVar(&h.URI, "uri", "", "the receiver: an http:// or https:// URL without credentials")
	f.StringVar(&h.HTTPVerb, "verb", "post", "post or put")
	f.BoolVar(&h.IncludeSubaccounts, "include-subaccounts", false, "also the events of the account's descendants")
	f.IntVar(&h.MaxConcurrency, "max-concurrency", webhooks.DefaultConcurrency, "most deliveries in flight at once")
	f.StringArrayVar(&data, "data", nil, "KEY=VALUE added to every payload (custom_data); repeatable")
	f.BoolVar(&h.Enabled, "enabled", true, "deliver at once (--enabled=false to create it disabled)")
	return cmd
}

func (a *app) webhooksDeleteCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "delete ID",
		Short: "Delete a webhook and its pending deliveries",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.openStore(cmd.Context())
			if err != nil {
				return err
			}
			if err := s.DeleteWebhook(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintln(a.stdout, "deleted", args[0])
			return nil
		},
	}
}

func (a *app) webhooksEnableCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "enable ID",
		Short: "Enable a webhook (one knm disabled after failures: its failures are cleared and its queue retried now)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			s, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			for range 8 {
				h, err := s.GetWebhook(ctx, args[0])
				if err != nil {
					return err
				}
				h.Enabled = true
				err = s.UpdateWebhook(ctx, h)
				if knm.IsErrorName(err, knm.ErrConflict) {
					continue // the delivery worker changed it meanwhile
				}
				if err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "enabled %s (%d pending deliveries)\n", h.ID, h.Pending)
				return nil
			}
			return knm.Conflict("webhook " + args[0])
		},
	}
}
