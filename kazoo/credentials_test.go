package kazoo

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/knmproject/knm/config"
)

// TestCouchCredentials: credentials written in the URL are sent with HTTP Basic
// authentication, never in the request URL, and appear in no error.
func TestCouchCredentials(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var auths, urls []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auths, urls = append(auths, r.Header.Get("Authorization")), append(urls, r.URL.String())
		mu.Unlock()
		http.Error(w, `{"error":"internal","reason":"boom"}`, http.StatusInternalServerError)
	}))
	defer srv.Close()
	c, err := Dial(strings.Replace(srv.URL, "http://", "http://kazoo:s3cret@", 1), "", "", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.get(context.Background(), "numbers/+1256", "+12565550100")
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("error %v", err)
	}
	if strings.Contains(c.URL(), "s3cret") {
		t.Errorf("URL() = %s", c.URL())
	}
	mu.Lock()
	defer mu.Unlock()
	if len(auths) == 0 || auths[0] != "Basic a2F6b286czNjcmV0" || strings.Contains(strings.Join(urls, " "), "s3cret") {
		t.Errorf("sent %v to %v", auths, urls)
	}

	dead, err := Dial("http://kazoo:s3cret@127.0.0.1:1/", "", "", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dead.get(context.Background(), "accounts", "x"); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("unreachable server: %v", err)
	}
	for _, bad := range []string{"", "ftp://h/", "127.0.0.1:5984", "http://"} {
		if _, err := Dial(bad, "", "", time.Second); err == nil {
			t.Errorf("Dial(%q) accepted", bad)
		}
	}
}

// TestProjectorFromSettings: kazoo_sync's values reach the projector and its outbox
// consumer; disabled settings or a missing store are refused.
func TestProjectorFromSettings(t *testing.T) {
	t.Parallel()
	o := Options{Store: openSQLite(t)}
	k := config.KazooSyncConfig{Enabled: true, CouchURL: "http://admin:pw@127.0.0.1:5984", BatchSize: 7,
		PollInterval: time.Second, RequestTimeout: time.Second, MaxBackoff: 3 * time.Second}
	p, err := NewProjectorFromSettings(k, o)
	if err != nil {
		t.Fatal(err)
	}
	if p.o.BatchSize != 7 || p.o.MaxBackoff != 3*time.Second || p.o.Couch.URL() != "http://127.0.0.1:5984" {
		t.Errorf("options: %+v", p.o)
	}
	if c := p.consumer; c.Name != Consumer || c.Batch != 7 || c.Poll != time.Second || c.MaxBackoff != 3*time.Second ||
		c.Start != 0 {
		t.Errorf("consumer: %+v", c)
	}
	k.Enabled = false
	if _, err := NewProjectorFromSettings(k, o); err == nil {
		t.Error("disabled settings accepted")
	}
	k.Enabled, o.Store = true, nil
	if _, err := NewProjectorFromSettings(k, o); err == nil {
		t.Error("a projector without a store")
	}
}
