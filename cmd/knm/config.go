package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/config"
)

func (a *app) configCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Import, show and change system_config documents (secrets are always redacted)",
	}
	cmd.AddCommand(a.configImportCommand(), a.configGetCommand(), a.configSetCommand())
	return cmd
}

func (a *app) configImportCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "import FILE",
		Short: "Import Kazoo-exported system_config documents (one object or an array); all or nothing",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer f.Close()
			c, err := a.config(cmd.Context())
			if err != nil {
				return err
			}
			docs, err := c.Import(cmd.Context(), f)
			if err != nil {
				return err
			}
			ids := make([]string, len(docs))
			for i, d := range docs {
				ids[i] = d.ID
				a.warnUnknownKeys(cmd.Context(), d)
			}
			if a.jsonOut {
				return a.printJSON(map[string]any{"imported": ids})
			}
			fmt.Fprintf(a.stdout, "imported %d document(s): %s\n", len(ids), strings.Join(ids, ", "))
			return nil
		},
	}
}

func (a *app) configGetCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "get CATEGORY [KEY]",
		Short: "Show a system_config document, or one key as resolved for this node (node, zone, default)",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.config(cmd.Context())
			if err != nil {
				return err
			}
			if len(args) == 2 {
				v, err := c.Lookup(cmd.Context(), args[0], config.SplitKey(args[1]), nil)
				if err != nil {
					return err
				}
				if v == nil {
					return knm.Errorf(knm.ErrNotFound, "%s has no key %s", args[0], args[1])
				}
				if config.IsSecretKey(lastKey(args[1])) {
					v = json.RawMessage(`"***"`)
				}
				return a.printRaw(config.Redact(v))
			}
			doc, err := a.store.GetConfig(cmd.Context(), "", args[0])
			if knm.IsErrorName(err, knm.ErrNotFound) {
				return knm.Errorf(knm.ErrNotFound, "system_config document %q does not exist", args[0])
			} else if err != nil {
				return err
			}
			return a.printRaw(config.Redact(doc.Body))
		},
	}
}

func (a *app) configSetCommand() *cobra.Command {
	var node, account string
	set := &cobra.Command{
		Use:   "set CATEGORY KEY JSON_VALUE",
		Short: "Set a key in a system_config document's default section (or --node N's)",
		Long: `Set a key in a system_config document's default section (or --node N's).
JSON_VALUE is JSON: quote strings ('"sandbox"'). A negative number looks like a flag:
put -- before the arguments (knm config set -- number_manager.voxbone max_order_cost -5).
Values of number_manager and number_manager.voxbone are checked before they are written.
With --account ID the key goes into that account's configs_CATEGORY document instead
(e.g. a reseller's number_manager.voxbone voice_uri).`,
		Args: cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !json.Valid([]byte(args[2])) {
				return usageError("value %q is not JSON (quote strings: '\"sandbox\"')", args[2])
			}
			c, err := a.config(cmd.Context())
			if err != nil {
				return err
			}
			if err := config.CheckWritable(args[0]); err != nil {
				return err
			}
			if err := a.checkModules(cmd.Context(), args[0], args[1], json.RawMessage(args[2])); err != nil {
				return err
			}
			if account != "" {
				if node != "" {
					return usageError("--account and --node do not go together")
				}
				if err := c.AccountSet(cmd.Context(), account, args[0], args[1], json.RawMessage(args[2])); err != nil {
					return err
				}
				if !a.jsonOut {
					fmt.Fprintf(a.stdout, "set %s %s for account %s\n", args[0], args[1], account)
				}
				return nil
			}
			if err := c.Set(cmd.Context(), args[0], args[1], json.RawMessage(args[2]), node); err != nil {
				return err
			}
			if known, ok := config.KnownKeys(cmd.Context(), args[0]); ok && !slices.Contains(known,
				config.SplitKey(args[1])[0]) {
				fmt.Fprintf(a.stderr, "warning: knm does not read %s %s (a typo? it reads: %s); stored anyway, "+
					"as Kazoo keeps unknown keys\n", args[0], args[1], strings.Join(known, ", "))
			}
			if !a.jsonOut {
				fmt.Fprintf(a.stdout, "set %s %s in section %s\n", args[0], args[1], cmp.Or(node, "default"))
			}
			return nil
		},
	}
	set.Flags().StringVar(&node, "node", "", "write into this node's section instead of default")
	set.Flags().StringVar(&account, "account", "", "write into this account's configs_CATEGORY document")
	return set
}

// warnUnknownKeys warns about the keys of an imported system_config document that knm
// does not read, in every section: a typo would otherwise be silently ignored. Kazoo's
// documents keep keys for other applications, so they are stored all the same.
func (a *app) warnUnknownKeys(ctx context.Context, d *knm.ConfigDoc) {
	known, ok := config.KnownKeys(ctx, d.ID)
	if !ok || d.Scope != "" {
		return
	}
	var sections map[string]json.RawMessage
	if json.Unmarshal(d.Body, &sections) != nil {
		return
	}
	for _, name := range slices.Sorted(maps.Keys(sections)) {
		var keys map[string]json.RawMessage
		if strings.HasPrefix(name, "_") || strings.HasPrefix(name, "pvt_") ||
			json.Unmarshal(sections[name], &keys) != nil {
			continue
		}
		for _, k := range slices.Sorted(maps.Keys(keys)) {
			if !slices.Contains(known, k) {
				fmt.Fprintf(a.stderr, "warning: knm does not read %s %s (section %s); stored anyway\n", d.ID, k, name)
			}
		}
	}
}

// checkModules refuses carrier module names knm does not have in number_manager's
// carrier_modules and available_module_name: a search would only report them as failing.
func (a *app) checkModules(ctx context.Context, category, key string, value json.RawMessage) error {
	if category != config.NumberManagerCategory || (key != "carrier_modules" && key != "available_module_name") {
		return nil
	}
	var names []string
	if json.Unmarshal(value, &names) != nil {
		var one string
		if json.Unmarshal(value, &one) != nil {
			return nil // the category's validator names the wrong type
		}
		names = []string{one}
	}
	if _, err := a.manager(ctx); err != nil {
		return err
	}
	have := a.registry.Names()
	for _, n := range names {
		if !slices.Contains(have, n) {
			return usageError("%s: knm has no carrier module %q (it has: %s)", key, n, strings.Join(have, ", "))
		}
	}
	return nil
}

func lastKey(key string) string {
	parts := config.SplitKey(key)
	return parts[len(parts)-1]
}

// printRaw prints a JSON document indented, keeping its key order.
func (a *app) printRaw(raw json.RawMessage) error {
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "", "  "); err != nil {
		_, err = a.stdout.Write(append(raw, '\n'))
		return err
	}
	_, err := fmt.Fprintln(a.stdout, b.String())
	return err
}
