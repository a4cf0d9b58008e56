package main

import (
	"strings"

	"github.com/spf13/cobra"
)

// examples are the --help examples of the commands that do not set their own, by command
// path; setExamples applies them, and a test requires one for every runnable command.
var examples = map[string]string{
	"knm serve": `  knm serve                                        # 127.0.0.1:8000, sqlite:knm.db
  KNM_DB=postgres://knm@db/knm KNM_REDIS_URL=redis://redis:6379 knm serve --listen :8000
  KNM_MASTER_API_KEY=$(openssl rand -hex 32) knm serve  # sets (or replaces a lost) master key`,
	"knm demo": `  knm demo
  knm demo --listen 8080 --keep                    # keep the temporary database afterwards`,
	"knm config import": `  knm config import system_config.json             # as exported from Kazoo's CouchDB`,
	"knm config get": `  knm config get number_manager
  knm config get number_manager.voxbone search_mode`,
	"knm config set": `  knm config set number_manager carrier_modules '["knm_local","knm_voxbone"]'
  knm config set number_manager.voxbone username '"my-user"'
  knm config set -- number_manager.voxbone max_order_cost -1   # -- before a negative number`,
	"knm accounts list": `  knm accounts list
  knm --json accounts list`,
	"knm numbers list": `  knm numbers list --account 0123456789abcdef0123456789abcdef
  knm numbers list --state available --prefix 1415 --limit 0`,
	"knm numbers show": `  knm numbers show +14155550100`,
	"knm numbers create": `  knm numbers create +14155550100 --state available                # into the pool
  knm numbers create +14155550101 --account 0123456789abcdef0123456789abcdef`,
	"knm numbers activate": `  knm numbers activate +14155550100 --account 0123456789abcdef0123456789abcdef`,
	"knm numbers reserve":  `  knm numbers reserve +14155550100 --account 0123456789abcdef0123456789abcdef`,
	"knm numbers release":  `  knm numbers release +14155550100`,
	"knm numbers import": `  knm numbers import inventory.csv --module knm_inventory
  knm numbers import phone_numbers.json            # Kazoo documents, e.g. _all_docs?include_docs=true`,
	"knm voxbone balance": `  knm voxbone balance`,
	"knm voxbone groups": `  knm voxbone groups --country USA --area-code 205
  knm voxbone groups --country US --type TOLL_FREE`,
	"knm voxbone carts": `  knm voxbone carts
  knm voxbone carts --purge --dry-run`,
	"knm voxbone recover": `  knm voxbone recover`,
	"knm voxbone route": `  knm voxbone route --all --dry-run          # which DIDs differ from the routing settings
  knm voxbone route +12055550100`,
	"knm voxbone orders show": `  knm voxbone orders show knm-7e52640e8714a80a6aca52b3`,
	"knm events tail": `  knm events tail -n 50
  knm events tail --follow`,
	"knm events consumers": `  knm events consumers`,
	"knm events purge":     `  knm events purge --older-than-days 30`,
	"knm kazoo sync": `  knm kazoo sync --couch http://admin:pass@127.0.0.1:5984
  knm kazoo sync --full --dry-run`,
	"knm kazoo accounts import": `  knm kazoo accounts import --couch http://admin:pass@127.0.0.1:5984 --follow`,
	"knm webhooks list":         `  knm webhooks list --account 0123456789abcdef0123456789abcdef`,
	"knm webhooks create": `  knm webhooks create --account 0123456789abcdef0123456789abcdef --name crm ` +
		`--uri https://crm.example.net/knm`,
	"knm webhooks delete": `  knm webhooks delete 5f0c…`,
	"knm webhooks enable": `  knm webhooks enable 5f0c…`,
}

// polishHelp gives every command under c without examples its entry of examples, and
// makes a wrong argument count show the command's usage line instead of cobra's bare
// "accepts 1 arg(s), received 0".
func polishHelp(c *cobra.Command) {
	for _, sub := range c.Commands() {
		if strings.TrimSpace(sub.Example) == "" {
			sub.Example = examples[sub.CommandPath()]
		}
		if check := sub.Args; check != nil {
			sub.Args = func(cmd *cobra.Command, args []string) error {
				if err := check(cmd, args); err != nil {
					return usageError("%v; usage: %s (see %s --help)", err, cmd.UseLine(), cmd.CommandPath())
				}
				return nil
			}
		}
		polishHelp(sub)
	}
}
