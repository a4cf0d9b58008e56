package main

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/manager"
)

// The CLI is an operator's tool with direct access to the database, so it acts as Kazoo's
// "system" pseudo-account, which every permission check lets through.
const cliAuth = knm.SystemAccountID

func (a *app) accountsCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "accounts", Short: "Create and list accounts, and give them API keys"}
	var parent string
	var reseller, superduper, allowAdditions bool
	create := &cobra.Command{
		Use:   "create NAME",
		Short: "Create an account (under --parent ID, or a root account)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if parent != "" && !knm.ValidAccountID(parent) {
				return usageError("--parent %q is not an account id (32 hex characters)", parent)
			}
			m, err := a.manager(cmd.Context())
			if err != nil {
				return err
			}
			acct, err := m.CreateAccount(cmd.Context(), cliAuth, args[0], parent, reseller)
			if err != nil {
				return err
			}
			if superduper || allowAdditions {
				acct.SuperduperAdmin, acct.AllowNumberAdditions = superduper, allowAdditions
				if err := a.store.UpdateAccount(cmd.Context(), acct); err != nil {
					return err
				}
			}
			if a.jsonOut {
				return a.printJSON(accountJSON(acct))
			}
			fmt.Fprintln(a.stdout, acct.ID)
			return nil
		},
	}
	create.Flags().StringVar(&parent, "parent", "", "parent account id")
	create.Flags().BoolVar(&reseller, "reseller", false, "make the account a reseller")
	create.Flags().BoolVar(&superduper, "superduper-admin", false,
		"make the account a superduper admin (bypasses ownership checks)")
	create.Flags().BoolVar(&allowAdditions, "allow-number-additions", false,
		"let the account create numbers (pvt_wnm_allow_additions)")
	create.Example = `  ACME=$(knm accounts create Acme)
  knm accounts create "Reseller Ltd" --reseller
  knm accounts create Sub --parent $ACME
  knm accounts key $ACME --rotate          # an API key to log in to the REST API with`
	cmd.AddCommand(a.accountsKeyCommand())
	cmd.AddCommand(create, &cobra.Command{
		Use:   "list",
		Short: "List accounts",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			m, err := a.manager(cmd.Context())
			if err != nil {
				return err
			}
			accts, err := m.ListAccounts(cmd.Context(), cliAuth)
			if err != nil {
				return err
			}
			if a.jsonOut {
				out := make([]map[string]any, len(accts))
				for i, ac := range accts {
					out[i] = accountJSON(ac)
				}
				return a.printJSON(out)
			}
			w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "ID\tNAME\tPARENT\tRESELLER\tADMIN")
			for _, ac := range accts {
				fmt.Fprintf(w, "%s\t%s\t%s\t%v\t%v\n", ac.ID, ac.Name, dash(ac.ParentID), ac.Reseller,
					ac.SuperduperAdmin)
			}
			return w.Flush()
		},
	})
	return cmd
}

func accountJSON(ac *knm.Account) map[string]any {
	return map[string]any{
		"id": ac.ID, "name": ac.Name, "parent_id": ac.ParentID, "tree": ac.Tree, "reseller": ac.Reseller,
		"reseller_id": ac.ResellerID, "superduper_admin": ac.SuperduperAdmin,
		"allow_number_additions": ac.AllowNumberAdditions, "created": ac.Created,
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// account returns the account id names, refusing an id that is malformed or that no
// account has, so a command never stores a number for an account that does not exist.
func (a *app) account(ctx context.Context, id string) (*knm.Account, error) {
	if !knm.ValidAccountID(id) {
		return nil, usageError("--account %q is not an account id (32 hex characters)", id)
	}
	s, err := a.openStore(ctx)
	if err != nil {
		return nil, err
	}
	acct, err := s.GetAccount(ctx, id)
	if knm.IsErrorName(err, knm.ErrNotFound) {
		return nil, knm.Errorf(knm.ErrNotFound, "account %s not found (knm accounts list shows the accounts)", id)
	}
	return acct, err
}

// accountsKeyCommand gives an account a new API key, for PUT /v2/api_auth. knm keeps only
// the key's hash, so the key is printed once and cannot be shown again.
func (a *app) accountsKeyCommand() *cobra.Command {
	var rotate bool
	c := &cobra.Command{
		Use:   "key ACCOUNT --rotate",
		Short: "Give an account a new API key for the REST API (shown once; the old key stops working)",
		Example: `  KEY=$(knm accounts key 0123456789abcdef0123456789abcdef --rotate)
  curl -X PUT http://127.0.0.1:8000/v2/api_auth -d "{\"data\":{\"api_key\":\"$KEY\"}}"`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			acct, err := a.account(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if !rotate {
				return usageError("knm stores only a hash of an account's API key, so a key cannot be shown "+
					"again: --rotate gives %s a new key (shown once; an old key stops working)", acct.ID)
			}
			setter, ok := a.store.(manager.APIKeyHashSetter)
			if !ok {
				return knm.Errorf(knm.ErrInternal, "this database cannot hold API keys")
			}
			key := manager.NewAPIKey()
			if err := setter.SetAccountAPIKeyHash(cmd.Context(), acct.ID, manager.HashAPIKey(key)); err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(map[string]string{"account_id": acct.ID, "api_key": key})
			}
			_, err = fmt.Fprintln(a.stdout, key)
			return err
		},
	}
	c.Flags().BoolVar(&rotate, "rotate", false, "replace the account's API key with a new one")
	return c
}
