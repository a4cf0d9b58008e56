package kazoo

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	kivik "github.com/go-kivik/kivik/v4"
	"github.com/go-kivik/kivik/v4/couchdb"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/internal/pouchtest"
	"github.com/knmproject/knm/store"
)

// openSQLite opens a fresh SQLite store for one test.
func openSQLite(t testing.TB) knm.Store {
	t.Helper()
	s, err := store.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "knm.db"))
	if err == nil {
		t.Cleanup(func() { s.Close() })
		return s
	}
	t.Fatal(err)
	return nil
}

// kazooAndKnm starts an in-memory CouchDB holding Kazoo's test accounts (seedKazoo) and
// opens an empty knm store.
func kazooAndKnm(t testing.TB) (*Couch, knm.Store) {
	t.Helper()
	c := dial(t, pouchtest.Start(t))
	seedKazoo(t, c)
	return c, openSQLite(t)
}

// dial connects to a test server.
func dial(t testing.TB, srv *pouchtest.Server) *Couch {
	t.Helper()
	c, err := Dial(srv.URL, "", "", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Kazoo's account tree of these tests: master (superduper admin) > reseller > two
// sub-accounts, plus an account Kazoo has deleted.
const (
	accMaster   = "1a2b3c4d5e6f708192a3b4c5d6e7f801"
	accReseller = "2b3c4d5e6f708192a3b4c5d6e7f80192"
	accSubA     = "3c4d5e6f708192a3b4c5d6e7f8019203"
	accSubB     = "4d5e6f708192a3b4c5d6e7f801920314"
	accGone     = "5e6f708192a3b4c5d6e7f80192031425"
)

// kazooAccountDoc is an account document as Kazoo's accounts database holds it (the shape
// of core/kazoo_fixturedb/priv/dbs/accounts/docs/*.json, trimmed of unrelated settings).
func kazooAccountDoc(id, name string, tree []string, extra map[string]any) map[string]any {
	d := map[string]any{
		"_id": id, "name": name, "realm": name + ".sip.example.net", "timezone": "America/Los_Angeles",
		"enabled": true, "pvt_type": "account", "pvt_vsn": "1", "pvt_tree": tree,
		"pvt_account_id": id, "pvt_account_db": "account%2F" + id[:2] + "%2F" + id[2:4] + "%2F" + id[4:],
		"pvt_enabled": true, "pvt_created": 63636183145, "pvt_modified": 63667898685,
		"pvt_api_key": "apikey0000000000000000000000000000000000000000000000000000000001",
	}
	for k, v := range extra {
		d[k] = v
	}
	return d
}

// seedKazoo writes Kazoo's accounts: their documents in the accounts database and their
// own account databases, as Kazoo's account creation leaves them.
func seedKazoo(t testing.TB, c *Couch) {
	t.Helper()
	ctx := context.Background()
	docs := []map[string]any{
		kazooAccountDoc(accMaster, "Master", []string{}, map[string]any{"pvt_superduper_admin": true}),
		kazooAccountDoc(accReseller, "Reseller", []string{accMaster},
			map[string]any{"pvt_reseller": true, "is_reseller": true, "pvt_reseller_id": accMaster}),
		kazooAccountDoc(accSubA, "Sub A", []string{accMaster, accReseller}, map[string]any{"pvt_reseller_id": accReseller}),
		kazooAccountDoc(accSubB, "Sub B", []string{accMaster, accReseller},
			map[string]any{"pvt_reseller_id": accReseller, "pvt_wnm_allow_additions": true}),
	}
	if err := c.ensureDB(ctx, AccountsDB); err != nil {
		t.Fatal(err)
	}
	for _, d := range docs {
		id := d["_id"].(string)
		putJSON(t, c, AccountsDB, id, d)
		if err := c.ensureDB(ctx, AccountDB(id)); err != nil {
			t.Fatal(err)
		}
		putJSON(t, c, AccountDB(id), id, d) // Kazoo keeps the account document in its own database too
	}
}

// putJSON writes a document (a new one, or over the current revision).
func putJSON(t testing.TB, c *Couch, db, id string, v any) {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var d Doc
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	if _, err := c.writeDoc(context.Background(), docWrite{db: db, id: id, want: d, createDB: true}); err != nil {
		t.Fatalf("put %s/%s: %v", db, id, err)
	}
}

// drain projects events until the projector has handled them all.
func drain(t testing.TB, p *Projector) {
	t.Helper()
	ctx := context.Background()
	for range 1000 {
		if _, err := p.Step(ctx); err != nil {
			t.Fatalf("step: %v", err)
		}
		lag, err := p.Lag(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if lag.Events == 0 {
			return
		}
	}
	t.Fatal("the projector never caught up")
}

// revs returns the _rev of every phone_number document of the given databases.
func revs(t testing.TB, c *Couch, dbs ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, db := range dbs {
		docs, err := c.numberDocs(context.Background(), db)
		if err != nil {
			t.Fatal(err)
		}
		for id, d := range docs {
			out[db+"/"+id] = string(d["_rev"])
		}
	}
	return out
}

// couchVia connects to a test server through rt, so a test can watch or interfere with
// the requests.
func couchVia(t testing.TB, base string, rt http.RoundTripper) *Couch {
	t.Helper()
	kc, err := kivik.New("couch", base, couchdb.OptionHTTPClient(&http.Client{Transport: rt, Timeout: 10 * time.Second}))
	if err != nil {
		t.Fatal(err)
	}
	return &Couch{client: kc, base: base}
}
