package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/knmproject/knm/internal/pouchtest"
)

// couchPut writes a document over HTTP, as Kazoo would have.
func couchPut(t *testing.T, base, db, id string, doc map[string]any) {
	t.Helper()
	dbURL := base + "/" + url.PathEscape(db)
	for _, u := range []string{dbURL, dbURL + "/" + url.PathEscape(id)} {
		body, _ := json.Marshal(doc)
		if !strings.HasSuffix(u, url.PathEscape(id)) {
			body = nil
		}
		req, _ := http.NewRequest(http.MethodPut, u, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode >= 300 && resp.StatusCode != http.StatusPreconditionFailed {
			t.Fatalf("PUT %s: %s", u, resp.Status)
		}
	}
}

// TestKazooCLI: accounts come in from Kazoo's CouchDB, then `kazoo sync --full` finds the
// documents a new number needs, writes them, and a dry run finds nothing more.
func TestKazooCLI(t *testing.T) {
	t.Parallel()
	srv := pouchtest.Start(t)
	const master, sub = "1a2b3c4d5e6f708192a3b4c5d6e7f801", "3c4d5e6f708192a3b4c5d6e7f8019203"
	couchPut(t, srv.URL, "accounts", master, map[string]any{"_id": master, "name": "Master", "pvt_type": "account",
		"pvt_tree": []string{}, "pvt_superduper_admin": true, "pvt_enabled": true})
	couchPut(t, srv.URL, "accounts", sub, map[string]any{"_id": sub, "name": "Sub", "pvt_type": "account",
		"pvt_tree": []string{master}, "pvt_enabled": true})
	couchPut(t, srv.URL, "account/3c/4d/5e6f708192a3b4c5d6e7f8019203", sub, map[string]any{"_id": sub, "name": "Sub"})
	db := sqliteDB(t)

	if out := mustCLI(t, db, "kazoo", "accounts", "import", "--couch", srv.URL); !strings.Contains(out,
		"accounts: 2 created, 0 updated, 0 unchanged, 0 disabled, 0 skipped") {
		t.Fatalf("import: %s", out)
	}
	if out := mustCLI(t, db, "kazoo", "accounts", "import", "--couch", srv.URL); !strings.Contains(out, "2 unchanged") {
		t.Fatalf("second import: %s", out)
	}
	if out := mustCLI(t, db, "accounts", "list"); !strings.Contains(out, sub) || !strings.Contains(out, "Sub") {
		t.Fatalf("accounts list: %s", out)
	}
	mustCLI(t, db, "numbers", "create", "+12565550100", "--account", sub)

	code, out, errs := cli(t, db, "kazoo", "sync", "--full", "--dry-run", "--couch", srv.URL)
	if code == 0 || !strings.Contains(errs, "2 difference(s) found") ||
		!strings.Contains(out, "numbers/+1256\t+12565550100\tmissing") ||
		!strings.Contains(out, "account/3c/4d/5e6f708192a3b4c5d6e7f8019203\t+12565550100\tmissing") {
		t.Fatalf("dry run: exit %d\n%s%s", code, out, errs)
	}
	out = mustCLI(t, db, "kazoo", "sync", "--full", "--couch", srv.URL)
	if !strings.Contains(out, "2 difference(s), 2 fixed") {
		t.Fatalf("sync: %s", out)
	}
	// From kazoo_sync's couch_url, credentials shown redacted. The server now has an admin,
	// and refuses wrong credentials.
	req, _ := http.NewRequest(http.MethodPut, srv.URL+"/_config/admins/admin", strings.NewReader(`"pw-9"`))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("create admin: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	withCreds := strings.Replace(srv.URL, "http://", "http://admin:pw-9@", 1)
	mustCLI(t, db, "config", "set", "kazoo_sync", "couch_url", `"`+withCreds+`"`)
	if out := mustCLI(t, db, "config", "get", "kazoo_sync"); strings.Contains(out, "pw-9") {
		t.Fatalf("config get shows the password: %s", out)
	}
	mustCLI(t, db, "config", "set", "kazoo_sync", "couch_password", `"wrong"`) // the URL's password wins
	code, out, errs = cli(t, db, "kazoo", "sync", "--full", "--dry-run")
	if code != 0 || !strings.Contains(out, "0 difference(s)") || strings.Contains(out+errs, "pw-9") {
		t.Fatalf("dry run from settings: exit %d\n%s%s", code, out, errs)
	}

	for _, args := range [][]string{
		{"kazoo", "sync", "--dry-run"},
		{"kazoo", "sync", "--full", "--couch", "couch.local:5984"},
		{"kazoo", "accounts", "import", "--couch", "http://admin:pw-9@127.0.0.1:1"},
		{"kazoo", "accounts"},
		{"kazoo", "sync", "--full", "--couch", strings.Replace(srv.URL, "http://", "http://admin:wrong-pw-9@", 1)},
	} {
		code, out, errs := cli(t, db, args...)
		if code == 0 || strings.Count(strings.TrimSpace(errs), "\n") != 0 || strings.Contains(out+errs, "pw-9") {
			t.Errorf("knm %v: exit %d\nstdout %s\nstderr %s", args, code, out, errs)
		}
	}
}
