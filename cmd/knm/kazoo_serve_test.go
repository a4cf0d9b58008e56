package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/internal/kazoodoctest"
	"github.com/knmproject/knm/internal/pouchtest"
	"github.com/knmproject/knm/store"
	"github.com/knmproject/knm/voxbone/emulator"
)

// Kazoo's accounts of these tests: master (superduper admin) > reseller > two sub-accounts.
const (
	kzMaster   = "1a2b3c4d5e6f708192a3b4c5d6e7f801"
	kzReseller = "2b3c4d5e6f708192a3b4c5d6e7f80192"
	kzSubA     = "3c4d5e6f708192a3b4c5d6e7f8019203"
	kzSubB     = "4d5e6f708192a3b4c5d6e7f801920314"
)

// kazooAccountDB is the database Kazoo keeps an account's documents in (account/xx/yy/rest).
func kazooAccountDB(id string) string { return "account/" + id[:2] + "/" + id[2:4] + "/" + id[4:] }

// seedKazooAccounts writes Kazoo's accounts, in the accounts database and each in its own
// database, as Kazoo's account creation leaves them.
func seedKazooAccounts(t *testing.T, base string) {
	t.Helper()
	for _, a := range []struct {
		id, name string
		tree     []string
		extra    map[string]any
	}{
		{kzMaster, "Master", []string{}, map[string]any{"pvt_superduper_admin": true}},
		{kzReseller, "Reseller", []string{kzMaster}, map[string]any{"pvt_reseller": true}},
		{kzSubA, "Sub A", []string{kzMaster, kzReseller}, nil},
		{kzSubB, "Sub B", []string{kzMaster, kzReseller}, nil},
	} {
		doc := map[string]any{"_id": a.id, "name": a.name, "pvt_type": "account", "pvt_tree": a.tree,
			"pvt_enabled": true, "enabled": true}
		for k, v := range a.extra {
			doc[k] = v
		}
		couchPut(t, base, "accounts", a.id, doc)
		couchPut(t, base, kazooAccountDB(a.id), a.id, doc)
	}
}

// emulator256 is a Voxbone emulator whose US 256 stock is 15 numbers in three DID groups.
func emulator256(t *testing.T) string {
	t.Helper()
	e := emulator.New(emulator.Config{Username: "u", Password: "p", Seed: 256})
	for i, id := range []int{5116, 5117, 12518, 5118, 5119, 5120, 5121, 5122, 5123} {
		stock := 0
		if i < 3 {
			stock = 5
		}
		if err := e.SetStock(id, stock); err != nil {
			t.Fatal(err)
		}
	}
	return serveEmulator(t, e)
}

// couchNumberDocs returns the phone_number documents of a CouchDB database by id.
func couchNumberDocs(t *testing.T, base, db string) map[string]map[string]json.RawMessage {
	t.Helper()
	resp, err := http.Get(base + "/" + url.PathEscape(db) + "/_all_docs?include_docs=true")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var all struct {
		Rows []struct {
			Doc map[string]json.RawMessage `json:"doc"`
		} `json:"rows"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&all); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("read %s: %s %v", db, resp.Status, err)
	}
	out := map[string]map[string]json.RawMessage{}
	for _, r := range all.Rows {
		var id, typ string
		json.Unmarshal(r.Doc["_id"], &id)
		if json.Unmarshal(r.Doc["pvt_type"], &typ); typ == "number" {
			out[id] = r.Doc
		}
	}
	return out
}

// kazooSyncReady is /readyz's kazoo_sync.
type kazooSyncReady struct {
	Enabled   bool    `json:"enabled"`
	LagEvents int64   `json:"lag_events"`
	LagSecs   float64 `json:"lag_seconds"`
	Cursor    int64   `json:"cursor"`
	Head      int64   `json:"head"`
	Owner     string  `json:"owner"`
	LastError string  `json:"last_error"`
}

// readyz reads /readyz, which must answer 200 ready whatever Kazoo's state.
func readyz(t *testing.T, base string) kazooSyncReady {
	t.Helper()
	code, env := call(t, "GET", base+"/readyz", "", "")
	var data struct {
		Status    string         `json:"status"`
		KazooSync kazooSyncReady `json:"kazoo_sync"`
	}
	if err := json.Unmarshal(env["data"], &data); err != nil || code != 200 || data.Status != "ready" {
		t.Fatalf("readyz: %d %s", code, env["data"])
	}
	return data.KazooSync
}

// waitReady polls /readyz until cond holds.
func waitReady(t *testing.T, base, what string, cond func(kazooSyncReady) bool) kazooSyncReady {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		st := readyz(t, base)
		if cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s: %+v", what, st)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func caughtUp(st kazooSyncReady) bool { return st.Enabled && st.LagEvents == 0 && st.Head > 0 }

// metricLine returns the sample of a metric in /metrics, "" when absent.
func metricLine(t *testing.T, base, name string) string {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(l, name+" "); ok {
			return v
		}
	}
	return ""
}

// waitMetric polls /metrics until the sample of name satisfies ok (the projection's
// gauges are refreshed every few seconds).
func waitMetric(t *testing.T, base, name string, ok func(string) bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for v := metricLine(t, base, name); !ok(v); v = metricLine(t, base, name) {
		if time.Now().After(deadline) {
			t.Fatalf("%s = %q", name, v)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// checkKazooHolds checks CouchDB against knm field by field: each knm number's document
// in numbers/+1256 as Kazoo writes it, each owner's copy equal to it and listed only in
// its owner's database, and nothing for the numbers knm no longer has.
func checkKazooHolds(t *testing.T, couch string, s knm.Store, nums []string, owners map[string][]string) {
	t.Helper()
	ctx := context.Background()
	numberDocs := couchNumberDocs(t, couch, "numbers/+1256")
	kept := 0
	for _, num := range nums {
		n, err := s.GetNumber(ctx, num)
		if knm.IsErrorName(err, knm.ErrNotFound) {
			if _, ok := numberDocs[num]; ok {
				t.Errorf("%s left knm but its document is still in numbers/+1256", num)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		kept++
		if n.ModuleName != "knm_voxbone" {
			t.Errorf("%s: module %s", num, n.ModuleName)
		}
		kazoodoctest.CheckNumberDoc(t, "numbers/+1256", numberDocs[num], n)
	}
	if len(numberDocs) != kept {
		t.Errorf("numbers/+1256 holds %d documents, knm %d numbers", len(numberDocs), kept)
	}
	for acct, want := range owners {
		docs := couchNumberDocs(t, couch, kazooAccountDB(acct))
		var got []string
		for id, d := range docs {
			got = append(got, id)
			if diff := kazoodoctest.CopyDiff(d, numberDocs[id]); len(diff) > 0 {
				t.Errorf("%s's copy of %s differs from numbers/+1256 in %v", acct, id, diff)
			}
		}
		slices.Sort(got)
		want = slices.Sorted(slices.Values(want))
		if !slices.Equal(got, want) && len(got)+len(want) > 0 {
			t.Errorf("account %s lists %v, want %v", acct, got, want)
		}
	}
}

// kazooServe is `knm serve` running as its own process on PostgreSQL with kazoo_sync on,
// against a CouchDB on disk holding Kazoo's accounts (imported into knm) and guarded by an
// admin password, and 15 numbers in 256 bought from the Voxbone emulator.
type kazooServe struct {
	t     *testing.T
	db    string
	pouch *pouchtest.Server
	couch string // the CouchDB URL with the admin's credentials
	knmd  *process
	tok   string // the master's token
	nums  []string
}

const couchPassword, kazooMasterKey = "couch-secret-77", "kazoo-sync-master-key-0123456789"

func startKazooServe(t *testing.T, db string) *kazooServe {
	t.Helper()
	k := &kazooServe{t: t, db: db, pouch: pouchtest.StartOnDisk(t)}
	seedKazooAccounts(t, k.pouch.URL)
	configureVoxbone(t, k.db, emulator256(t))
	mustCLI(t, k.db, "kazoo", "accounts", "import", "--couch", k.pouch.URL)
	req, _ := http.NewRequest(http.MethodPut, k.pouch.URL+"/_config/admins/admin",
		strings.NewReader(`"`+couchPassword+`"`))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("create CouchDB admin: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	k.couch = strings.Replace(k.pouch.URL, "http://", "http://admin:"+couchPassword+"@", 1)
	for _, kv := range [][2]string{{"couch_url", `"` + k.couch + `"`}, {"enabled", "true"},
		{"poll_interval_ms", "100"}, {"max_backoff_ms", "1000"}, {"request_timeout_ms", "5000"}} {
		mustCLI(t, k.db, "config", "set", "kazoo_sync", kv[0], kv[1])
	}
	k.knmd = startProcess(t, map[string]string{"KNM_MASTER_API_KEY": kazooMasterKey}, "--db", k.db, "serve",
		"--listen", "127.0.0.1:0")
	_, env := call(t, "PUT", k.knmd.url+"/v2/api_auth", "", `{"data":{"api_key":"`+kazooMasterKey+`"}}`)
	k.tok = field(env, "auth_token")
	k.nums = buy256(t, k.knmd.url, k.tok)
	return k
}

// do sends a request on one of the account's numbers, which must succeed.
func (k *kazooServe) do(method, acct, num, suffix string) {
	k.t.Helper()
	u := k.knmd.url + "/v2/accounts/" + acct + "/phone_numbers/" + url.PathEscape(num) + suffix
	if code, env := call(k.t, method, u, k.tok, ""); code/100 != 2 { // PUT answers 201
		k.t.Fatalf("%s %s: %d %s", method, u, code, env["error"])
	}
}

// TestKazooSyncThroughServe is the acceptance case on the real outbox, through
// `knm serve` running as its own process with kazoo_sync on: assign 5 of the 15 numbers
// bought in 256 to an account imported from Kazoo, move one, release one; CouchDB then
// holds what Kazoo would, field by field, and a full sync finds nothing. CouchDB stopped
// mid-run: /readyz stays ready and reports the lag, and after the restart the projection
// catches up with nothing lost. Disabled and enabled again without a restart, it resumes
// where it stopped. CouchDB's password shows nowhere. On PostgreSQL and on SQLite.
func TestKazooSyncThroughServe(t *testing.T) {
	t.Parallel()
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		kazooSyncThroughServe(t, startKazooServe(t, pgSchemaDSN(t)))
	})
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		kazooSyncThroughServe(t, startKazooServe(t, sqliteDB(t)))
	})
}

// kazooSyncThroughServe runs TestKazooSyncThroughServe's case on k's database.
func kazooSyncThroughServe(t *testing.T, k *kazooServe) {
	nums := k.nums
	for _, num := range nums[:5] {
		k.do("PUT", kzSubA, num, "/activate")
	}
	k.do("PUT", kzSubB, nums[0], "/activate") // moved
	k.do("DELETE", kzSubA, nums[1], "")       // released: Voxbone takes it back, knm deletes it
	waitReady(t, k.knmd.url, "the projection to catch up", caughtUp)
	s, err := store.Open(context.Background(), k.db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	checkKazooHolds(t, k.couch, s, nums, map[string][]string{kzSubA: nums[2:5], kzSubB: nums[:1], kzReseller: nil})
	waitMetric(t, k.knmd.url, "knm_kazoo_sync_enabled", func(v string) bool { return v == "1" })
	waitMetric(t, k.knmd.url, "knm_kazoo_sync_lag_events", func(v string) bool { return v == "0" })
	fullSyncFindsNothing(t, k.db)

	k.pouch.Stop()
	for _, num := range nums[5:8] {
		k.do("PUT", kzSubB, num, "/activate")
	}
	k.do("PUT", kzSubB, nums[2], "/activate")
	k.do("DELETE", kzSubA, nums[3], "")
	st := waitReady(t, k.knmd.url, "the outage in /readyz", func(st kazooSyncReady) bool {
		return st.LagEvents >= 5 && st.LastError != "" && st.LagSecs > 0
	})
	if strings.Contains(st.LastError, couchPassword) {
		t.Errorf("/readyz shows CouchDB's password: %s", st.LastError)
	}
	waitMetric(t, k.knmd.url, "knm_kazoo_sync_lag_events", func(v string) bool { return v != "0" && v != "" })
	k.pouch.Restart(t)
	waitReady(t, k.knmd.url, "the projection to catch up after the outage", func(st kazooSyncReady) bool {
		return caughtUp(st) && st.LastError == ""
	})
	owners := map[string][]string{kzSubA: nums[4:5], kzSubB: append([]string{nums[0], nums[2]}, nums[5:8]...)}
	checkKazooHolds(t, k.couch, s, nums, owners)
	fullSyncFindsNothing(t, k.db)

	k.disableAndEnable(s, nums[8])
	owners[kzSubA] = append(owners[kzSubA], nums[8])
	checkKazooHolds(t, k.couch, s, nums, owners)
	if code := k.knmd.stop(t); code != 0 {
		t.Errorf("knm serve exited %d", code)
	}
	if logs := k.knmd.stdout.String() + k.knmd.stderr.String(); strings.Contains(logs, couchPassword) ||
		strings.Contains(logs, kazooMasterKey) {
		t.Errorf("a secret reached knm serve's output")
	}
}

// disableAndEnable turns kazoo_sync off: the projection stops and a change to num waits
// in the outbox; turned on again, the projection resumes and applies it.
func (k *kazooServe) disableAndEnable(s knm.Store, num string) {
	t := k.t
	t.Helper()
	mustCLI(t, k.db, "config", "set", "kazoo_sync", "enabled", "false")
	waitReady(t, k.knmd.url, "the projection disabled", func(st kazooSyncReady) bool { return !st.Enabled })
	waitMetric(t, k.knmd.url, "knm_kazoo_sync_enabled", func(v string) bool { return v == "0" })
	before, err := s.GetEventCursor(context.Background(), "kazoo_sync")
	if err != nil {
		t.Fatal(err)
	}
	k.do("PUT", kzSubA, num, "/activate")
	time.Sleep(time.Second) // several polls of a projector that should no longer run
	if after, err := s.GetEventCursor(context.Background(), "kazoo_sync"); err != nil || after.LastID != before.LastID {
		t.Fatalf("disabled projection moved: %d -> %+v, %v", before.LastID, after, err)
	}
	mustCLI(t, k.db, "config", "set", "kazoo_sync", "enabled", "true")
	waitReady(t, k.knmd.url, "the projection enabled again", func(st kazooSyncReady) bool {
		return caughtUp(st) && st.Cursor > before.LastID
	})
}

// buy256 searches 15 numbers in 256 for Sub A through the API: knm_voxbone buys them.
func buy256(t *testing.T, base, tok string) []string {
	t.Helper()
	code, env := call(t, "GET", base+"/v2/accounts/"+kzSubA+"/phone_numbers?prefix=256&quantity=15&country=US",
		tok, "")
	var found []struct{ Number string }
	json.Unmarshal(env["data"], &found)
	if code != 200 || len(found) != 15 {
		t.Fatalf("search: %d, %d numbers: %s", code, len(found), env["data"])
	}
	nums := make([]string, len(found))
	for i, f := range found {
		nums[i] = f.Number
	}
	return nums
}

// fullSyncFindsNothing runs `knm kazoo sync --full --dry-run` from kazoo_sync's settings.
func fullSyncFindsNothing(t *testing.T, db string) {
	t.Helper()
	code, out, errs := cli(t, db, "kazoo", "sync", "--full", "--dry-run")
	if code != 0 || !strings.Contains(out, " 0 difference(s)") {
		t.Fatalf("full sync: exit %d\n%s%s", code, out, errs)
	}
}
