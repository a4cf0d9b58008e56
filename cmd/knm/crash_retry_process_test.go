package main

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/carriers/knmvoxbone"
	"github.com/knmproject/knm/internal/testenv"
	"github.com/knmproject/knm/voxbone/emulator"
)

// crashMasterKey is the master API key of the crash tests' processes.
const crashMasterKey = "crash-test-master-key-0123456789"

// crashEnv is the environment of a crash test's knm serve: a fixed master key and a short
// lease, so that a takeover comes within seconds.
var crashEnv = map[string]string{"KNM_MASTER_API_KEY": crashMasterKey, "KNM_LEASE_TTL": "2s"}

// startServe runs `knm serve` on db as a child process.
func startServe(t *testing.T, db string) *process {
	t.Helper()
	return startProcess(t, crashEnv, "--db", db, "serve", "--listen", "127.0.0.1:0")
}

// masterLogin returns a master token and the master account id of the serve at base.
func masterLogin(t *testing.T, base string) (string, string) {
	t.Helper()
	code, env := call(t, "PUT", base+"/v2/api_auth", "", `{"data":{"api_key":"`+crashMasterKey+`"}}`)
	tok, acct := field(env, "auth_token"), field(env, "data", "account_id")
	if code != 201 || tok == "" || acct == "" {
		t.Fatalf("api_auth: %d %v", code, env)
	}
	return tok, acct
}

// searchPath is the buying search every crash trial runs: 3 numbers in 256.
func searchPath(acct string) string {
	return "/v2/accounts/" + acct + "/phone_numbers?prefix=256&quantity=3&country=US"
}

// searchNoWait sends the search and ignores its outcome: the process is killed under it.
func searchNoWait(base, tok, acct string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", base+searchPath(acct), nil)
	req.Header.Set("X-Auth-Token", tok)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
	}
}

// newDIDs returns the E.164 numbers of the emulator's DIDs not in before.
func newDIDs(e *emulator.Emulator, before []string) []string {
	var out []string
	for _, d := range e.DIDs() {
		n := "+" + strings.TrimPrefix(d.E164, "+")
		if !slices.Contains(before, n) {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// crashRetryTrials: kill -9 `knm serve` at a random point of a buying search, restart it at
// once and repeat the search. Across both attempts exactly the shortfall is bought, every
// bought DID is in knm, no cart of knm's is left at Voxbone and no order is unfinished,
// with no manual command: start-up recovery settles the killed order before the API
// accepts the retry, which then finds its numbers in the pool.
func crashRetryTrials(t *testing.T, newDB func() string, trials int) {
	e := emulator.New(emulator.Config{Username: "u", Password: "p", Seed: 11, Latency: 15 * time.Millisecond})
	base := serveEmulator(t, e)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 42))
	spentBeforeKill, leftUnfinished := 0, 0
	for trial := range trials {
		db := newDB()
		configureVoxbone(t, db, base)
		before := newDIDs(e, nil)
		p1 := startServe(t, db)
		tok, acct := masterLogin(t, p1.url)
		carts := e.Calls("cart.create")
		go searchNoWait(p1.url, tok, acct)
		for e.Calls("cart.create") == carts { // the order has begun
			time.Sleep(time.Millisecond)
		}
		delay := time.Duration(rng.IntN(90)) * time.Millisecond
		time.Sleep(delay)
		if err := p1.cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		<-p1.exited
		if len(newDIDs(e, before)) > 0 {
			spentBeforeKill++
		}
		if unfinishedOrders(t, db) > 0 {
			leftUnfinished++
		}

		p2 := startServe(t, db)
		tok, acct = masterLogin(t, p2.url)
		code, env := call(t, "GET", p2.url+searchPath(acct), tok, "")
		var found []struct{ Number string }
		json.Unmarshal(env["data"], &found)
		if code != 200 || len(found) != 3 {
			t.Fatalf("trial %d (kill after %v): retry %d %s carriers=%s", trial, delay, code, env["data"], env["carriers"])
		}
		if c := p2.stop(t); c != 0 {
			t.Fatalf("trial %d: serve exited %d: %s", trial, c, p2.stderr)
		}
		checkCrashTrial(t, trial, delay, e, db, before)
	}
	t.Logf("%d trials: %d kills left an unfinished order, in %d the killed search had bought", trials,
		leftUnfinished, spentBeforeKill)
	if leftUnfinished == 0 {
		t.Fatalf("no kill landed mid-order in %d trials", trials)
	}
}

// unfinishedOrders counts the orders not in a final state in the database of a stopped knm.
func unfinishedOrders(t *testing.T, db string) int {
	t.Helper()
	ctx := context.Background()
	s, err := openStore(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	es, err := s.FindJournals(ctx, knm.JournalFilter{Carrier: knmvoxbone.ModuleName})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, j := range es {
		if !knmvoxbone.OrderState(j.State).Final() {
			n++
		}
	}
	return n
}

// checkCrashTrial asserts the money invariants of one trial on its stopped database.
func checkCrashTrial(t *testing.T, trial int, delay time.Duration, e *emulator.Emulator, db string, before []string) {
	t.Helper()
	ctx := context.Background()
	bought := newDIDs(e, before)
	if len(bought) != 3 {
		t.Fatalf("trial %d (kill after %v): %d DIDs bought for a shortfall of 3: %v", trial, delay, len(bought), bought)
	}
	s, err := openStore(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, n := range bought {
		if got, err := s.GetNumber(ctx, n); err != nil || got.ModuleName != knmvoxbone.ModuleName {
			t.Fatalf("trial %d (kill after %v): bought DID %s not in knm: %+v %v", trial, delay, n, got, err)
		}
	}
	for _, c := range e.Carts() {
		if strings.HasPrefix(c.CustomerReference, knmvoxbone.OrderPrefix) {
			t.Fatalf("trial %d (kill after %v): knm cart left open: %+v", trial, delay, c)
		}
	}
	es, err := s.FindJournals(ctx, knm.JournalFilter{Carrier: knmvoxbone.ModuleName})
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range es {
		if !knmvoxbone.OrderState(j.State).Final() {
			t.Fatalf("trial %d (kill after %v): order %s left %s", trial, delay, j.ID, j.State)
		}
	}
}

func TestCrashRetrySearchSQLite(t *testing.T) {
	t.Parallel()
	crashRetryTrials(t, func() string { return sqliteDB(t) }, 20)
}

func TestCrashRetrySearchPostgres(t *testing.T) {
	t.Parallel()
	testenv.PostgresDSN(t)
	crashRetryTrials(t, func() string { return pgSchemaDSN(t) }, 10)
}
