package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/knmproject/knm/internal/pouchtest"
	"github.com/knmproject/knm/store"
)

// background runs knm in-process until the returned stop is called; stop returns the exit
// code. Its stdout is out.
func background(t *testing.T, db string, args ...string) (out *syncBuffer, stop func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out = &syncBuffer{}
	errb := &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append([]string{"--db", db}, args...), strings.NewReader(""), out, errb,
			func(string) string { return "" })
	}()
	code, stopped := 0, false
	stop = func() int {
		if !stopped {
			stopped = true
			cancel()
			select {
			case code = <-done:
			case <-time.After(30 * time.Second):
				t.Errorf("knm %v did not stop", args)
				code = -1
			}
			if code != 0 {
				t.Logf("stderr: %s", errb.String())
			}
		}
		return code
	}
	t.Cleanup(func() { stop() })
	return out, stop
}

// waitOutput waits until out matches re.
func waitOutput(t *testing.T, out *syncBuffer, re string) {
	t.Helper()
	rx := regexp.MustCompile(re)
	for deadline := time.Now().Add(30 * time.Second); !rx.MatchString(out.String()); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in:\n%s", re, out.String())
		}
	}
}

// TestKazooSyncCatchesUp: `knm kazoo sync` projects the events not yet applied and exits;
// run again it has nothing to do; while another instance holds the projection's lease it
// waits for it; bad input is one clear line and a non-zero exit.
func TestKazooSyncCatchesUp(t *testing.T) {
	t.Parallel()
	pouch := pouchtest.Start(t)
	seedKazooAccounts(t, pouch.URL)
	db := sqliteDB(t)
	mustCLI(t, db, "kazoo", "accounts", "import", "--couch", pouch.URL)
	mustCLI(t, db, "config", "set", "kazoo_sync", "couch_url", `"`+pouch.URL+`"`)
	for _, num := range []string{"+12565550100", "+12565550101", "+12565550102"} {
		mustCLI(t, db, "numbers", "create", num, "--account", kzSubA)
	}
	mustCLI(t, db, "numbers", "activate", "+12565550101", "--account", kzSubB)
	out := mustCLI(t, db, "kazoo", "sync")
	if !regexp.MustCompile(`^projected [1-9]\d* event\(s\); kazoo_sync is at event (\d+) of (\d+)\n$`).
		MatchString(out) || !strings.Contains(out, "at event 4 of 4") {
		t.Fatalf("sync: %q", out)
	}
	docs := couchNumberDocs(t, pouch.URL, kazooAccountDB(kzSubA))
	if _, moved := docs["+12565550101"]; len(docs) != 2 || moved {
		t.Fatalf("Sub A lists %d numbers after the sync", len(docs))
	}
	if len(couchNumberDocs(t, pouch.URL, kazooAccountDB(kzSubB))) != 1 {
		t.Fatal("Sub B does not list the moved number")
	}
	fullSyncFindsNothing(t, db)
	if out := mustCLI(t, db, "kazoo", "sync"); out != "projected 0 event(s); kazoo_sync is at event 4 of 4\n" {
		t.Fatalf("second sync: %q", out)
	}

	// Another instance holds the lease for a moment: the sync waits, then takes over.
	mustCLI(t, db, "numbers", "release", "+12565550102")
	s, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, ok, err := s.ClaimEventCursor(context.Background(), "kazoo_sync", "other-instance", 1500*time.Millisecond,
		0); err != nil || !ok {
		t.Fatalf("claim: %v %v", ok, err)
	}
	code, out, errs := cli(t, db, "kazoo", "sync")
	if code != 0 || out != "projected 1 event(s); kazoo_sync is at event 5 of 5\n" ||
		errs != "kazoo_sync is being projected by other-instance; waiting for it to catch up\n" {
		t.Fatalf("sync after waiting for the lease: exit %d\n%s%s", code, out, errs)
	}
	if cur, err := s.GetEventCursor(context.Background(), "kazoo_sync"); err != nil || !cur.LeaseUntil.Before(time.Now()) {
		t.Fatalf("the sync kept the lease: %+v %v", cur, err)
	}

	mustCLI(t, db, "numbers", "activate", "+12565550100", "--account", kzSubB) // an event to project
	for _, args := range [][]string{
		{"kazoo", "sync", "--dry-run"},
		{"kazoo", "sync", "--prune"},
		{"kazoo", "sync", "--couch", "http://127.0.0.1:1"}, // nothing answers there
	} {
		code, out, errs := cli(t, db, args...)
		if code == 0 || strings.Count(strings.TrimSpace(errs), "\n") != 0 || errs == "" {
			t.Errorf("knm %v: exit %d\nstdout %s\nstderr %s", args, code, out, errs)
		}
	}
}

// TestKazooAccountsFollowCLI: `knm kazoo accounts import --follow` imports Kazoo's accounts,
// then follows CouchDB's _changes: an account created in Kazoo appears in knm, one deleted
// is disabled; interrupted, it exits 0.
func TestKazooAccountsFollowCLI(t *testing.T) {
	t.Parallel()
	pouch := pouchtest.Start(t)
	seedKazooAccounts(t, pouch.URL)
	db := sqliteDB(t)
	out, stop := background(t, db, "kazoo", "accounts", "import", "--couch", pouch.URL, "--follow")
	waitOutput(t, out, `accounts: 4 created, 0 updated`)
	const late = "5e6f708192a3b4c5d6e7f80192031425"
	couchPut(t, pouch.URL, "accounts", late, map[string]any{"_id": late, "name": "Late", "pvt_type": "account",
		"pvt_tree": []string{kzMaster, kzReseller}, "pvt_enabled": true})
	waitOutput(t, out, `accounts: 1 created, 0 updated, 0 unchanged, 0 disabled`)
	couchDelete(t, pouch.URL, "accounts", kzSubB)
	waitOutput(t, out, `accounts: 0 created, 0 updated, 0 unchanged, 1 disabled`)
	if code := stop(); code != 0 {
		t.Fatalf("follow exited %d", code)
	}
	s, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if a, err := s.GetAccount(context.Background(), late); err != nil || a.Name != "Late" || a.ParentID != kzReseller {
		t.Errorf("the account made in Kazoo: %+v, %v", a, err)
	}
	if a, err := s.GetAccount(context.Background(), kzSubB); err != nil || a.Enabled {
		t.Errorf("the account deleted in Kazoo: %+v, %v", a, err)
	}
}

// couchDelete deletes a document over HTTP, as Kazoo would.
func couchDelete(t *testing.T, base, db, id string) {
	t.Helper()
	u := base + "/" + url.PathEscape(db) + "/" + url.PathEscape(id)
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Rev string `json:"_rev"`
	}
	json.NewDecoder(resp.Body).Decode(&doc)
	resp.Body.Close()
	req, _ := http.NewRequest(http.MethodDelete, u+"?rev="+url.QueryEscape(doc.Rev), nil)
	if resp, err = http.DefaultClient.Do(req); err != nil || resp.StatusCode >= 300 {
		t.Fatalf("delete %s: %v %v", u, resp, err)
	}
	resp.Body.Close()
}
