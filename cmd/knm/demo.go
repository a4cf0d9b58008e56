package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/knmproject/knm/carriers/knmvoxbone"
	"github.com/knmproject/knm/config"
	"github.com/knmproject/knm/httpapi"
	"github.com/knmproject/knm/manager"
	"github.com/knmproject/knm/voxbone/emulator"
)

func (a *app) demoCommand() *cobra.Command {
	var keep bool
	cmd := &cobra.Command{
		Use: "demo",
		Short: "Serve knm on a temporary SQLite database with the built-in Voxbone emulator; prints the URL, the " +
			"master key and curl lines",
		Long: `Serve knm with the built-in Voxbone emulator configured as its Voxbone, and print the
URL, the master API key and ready-to-paste curl lines.

The database is a temporary SQLite file unless --db is given explicitly (then the demo
writes its number_manager and number_manager.voxbone settings into that database: use a
scratch one).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.demo(cmd.Context(), keep, cmd.Flag("db").Changed)
		},
	}
	cmd.Flags().StringVar(&a.listen, "listen", a.envOr("KNM_LISTEN", "127.0.0.1:8000"),
		"address of the HTTP API: HOST:PORT, :PORT (every interface) or PORT (127.0.0.1) (env KNM_LISTEN)")
	cmd.Flags().BoolVar(&keep, "keep", false, "keep the temporary database when the demo ends")
	a.corsFlag(cmd)
	a.drainFlag(cmd)
	return cmd
}

// demo runs `knm serve` against a fresh temporary SQLite database whose
// number_manager.voxbone points at an in-process Voxbone emulator on 127.0.0.1:0, with
// knm_voxbone among the carrier modules, so a search buys from the emulator.
func (a *app) demo(ctx context.Context, keep, ownDB bool) error {
	if !ownDB {
		dir, err := os.MkdirTemp("", "knm-demo-")
		if err != nil {
			return err
		}
		if !keep {
			defer os.RemoveAll(dir)
		}
		a.db = "sqlite:" + filepath.Join(dir, "knm.db")
	}

	user, pass := "demo", manager.NewAPIKey()[:24]
	emu := emulator.New(emulator.Config{Username: user, Password: pass, RateLimit: 20, Seed: 1})
	eln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("demo: emulator: %w", err)
	}
	ectx, stopEmu := context.WithCancel(ctx)
	defer stopEmu()
	go emulator.Serve(ectx, eln, emu)
	base := "http://" + eln.Addr().String() + "/ws-voxbone/services/rest"

	cfg, err := a.config(ctx)
	if err != nil {
		return err
	}
	for _, kv := range []struct {
		cat, key string
		val      any
	}{
		{knmvoxbone.Category, "base_url", base},
		{knmvoxbone.Category, "username", user},
		{knmvoxbone.Category, "password", pass},
		{config.NumberManagerCategory, "carrier_modules", []string{"knm_local", "knm_voxbone"}},
	} {
		raw, _ := json.Marshal(kv.val)
		if err := cfg.Set(ctx, kv.cat, kv.key, raw, ""); err != nil {
			return fmt.Errorf("demo: configure %s %s: %w", kv.cat, kv.key, err)
		}
	}
	key := a.getenv("KNM_MASTER_API_KEY")
	if key == "" {
		key = manager.NewAPIKey()
	}
	fmt.Fprintf(a.stdout, "knm demo: database %s, Voxbone emulator at %s\n", a.db, base)
	return a.serve(ctx, serveOptions{masterKey: key, signInLink: true, ready: func(url string, m httpapi.MasterAccount) {
		fmt.Fprint(a.stdout, demoInstructions(url, key, m.ID, a.db))
	}})
}

// demoInstructions are the lines a user pastes into a shell; the token travels in a shell
// variable so it is typed once.
func demoInstructions(url, key, account, db string) string {
	return fmt.Sprintf(`
knm is running at %[1]s
web console: %[1]s/ (sign in with the master API key, or the one-time link above)
master account: %[3]s
master API key: %[2]s

# 1. get a token
TOKEN=$(curl -s -X PUT %[1]s/v2/api_auth -d '{"data":{"api_key":"%[2]s"}}' `+
		`| sed -n 's/.*"auth_token":"\([^"]*\)".*/\1/p')
# 2. search (buys from the Voxbone emulator what the pool lacks) and keep the first number
N=$(curl -s -H "X-Auth-Token: $TOKEN" '%[1]s/v2/accounts/%[3]s/phone_numbers?prefix=256&quantity=3&country=US' `+
		`| grep -o '+1256[0-9]*' | head -1); echo $N
# 3. activate it
curl -s -X PUT -H "X-Auth-Token: $TOKEN" %[1]s/v2/accounts/%[3]s/phone_numbers/$N/activate
# 4. release it
curl -s -X DELETE -H "X-Auth-Token: $TOKEN" %[1]s/v2/accounts/%[3]s/phone_numbers/$N

# the CLI on this demo's database and emulator (go install ./cmd/knm first):
export KNM_DB=%[4]s

Press Ctrl-C to stop.
`, url, key, account, db)
}
