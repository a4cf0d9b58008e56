package config

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/knmproject/knm"
)

// TestKazooSyncDefaults: an empty kazoo_sync is valid (off), and its defaults are written
// back as Kazoo writes system_config defaults.
func TestKazooSyncDefaults(t *testing.T) {
	backends(t, func(t *testing.T, s knm.ConfigStore) {
		k, err := New(s, "node1", "").KazooSync(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if k.Enabled || k.CouchURL != "" || k.BatchSize != 100 || k.PollInterval != time.Second ||
			k.RequestTimeout != 10*time.Second || k.MaxBackoff != 30*time.Second {
			t.Errorf("defaults: %+v", k)
		}
		want := `{"_id":"kazoo_sync","default":{"enabled":false,"couch_url":"","couch_username":"","couch_password":"",` +
			`"batch_size":100,"poll_interval_ms":1000,"request_timeout_ms":10000,"max_backoff_ms":30000}}`
		if got := body(t, s, "", KazooSyncCategory); got != want {
			t.Errorf("written back: %s", got)
		}
	})
}

// TestKazooSyncInvalid: every problem is named in one error that never shows the URL's
// password, and the same rules refuse the document where it is written (Validate).
func TestKazooSyncInvalid(t *testing.T) {
	for _, c := range []struct{ doc, want string }{
		{`{"default":{"enabled":true}}`, "couch_url is required when enabled is true"},
		{`{"default":{"couch_url":"couch.local:5984"}}`, "couch_url must be an absolute http or https URL"},
		{`{"default":{"couch_url":"ftp://admin:pw-123@h/"}}`, "couch_url must be an absolute http or https URL"},
		{`{"default":{"batch_size":0,"poll_interval_ms":5}}`,
			"batch_size must be between 1 and 10000, got 0; poll_interval_ms must be at least 10"},
		{`{"default":{"enabled":"sometimes"}}`, "enabled must be a boolean"},
		{`{"default":{},"node2":{"enabled":true}}`, "section node2: invalid kazoo_sync: couch_url is required"},
	} {
		s := newMemStore()
		put(t, s, "", KazooSyncCategory, c.doc)
		_, err := New(s, "node2", "").WithoutWriteBack().KazooSync(context.Background())
		verr := Validate(context.Background(), &knm.ConfigDoc{ID: KazooSyncCategory, Body: []byte(c.doc)})
		for _, e := range []error{err, verr} {
			if e == nil || !knm.IsErrorName(e, knm.ErrInvalid) || strings.Contains(e.Error(), "pw-123") {
				t.Errorf("%s: %v", c.doc, e)
			}
		}
		if !strings.Contains(verr.Error(), c.want) && !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v / %v, want %q", c.doc, err, verr, c.want)
		}
	}
	ok := `{"_id":"kazoo_sync","default":{"enabled":true,"couch_url":"https://admin:pw-123@couch.example.net:6984"}}`
	if err := Validate(context.Background(), &knm.ConfigDoc{ID: KazooSyncCategory, Body: []byte(ok)}); err != nil {
		t.Errorf("valid document refused: %v", err)
	}
}

// TestKazooSyncSecrets: the CouchDB password, in the URL or in couch_password, is redacted
// on read and in every rendering of the settings, and Endpoint splits it from the URL.
func TestKazooSyncSecrets(t *testing.T) {
	doc := `{"_id":"kazoo_sync","default":{"enabled":true,"couch_url":"http://admin:pw-123@10.1.2.3:5984/",` +
		`"couch_username":"other","couch_password":"pw-456"}}`
	s := newMemStore()
	put(t, s, "", KazooSyncCategory, doc)
	red := string(Redact([]byte(doc)))
	if strings.Contains(red, "pw-123") || strings.Contains(red, "pw-456") || !strings.Contains(red, "10.1.2.3:5984") {
		t.Errorf("redacted document: %s", red)
	}
	k, err := New(s, "", "").KazooSync(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	base, user, pass := k.Endpoint()
	if base != "http://10.1.2.3:5984/" || user != "admin" || pass != "pw-123" {
		t.Errorf("Endpoint() = %q %q %q", base, user, pass)
	}
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("settings", "kazoo_sync", k)
	for _, shown := range []string{k.String(), fmt.Sprintf("%#v", k), fmt.Sprintf("%v", k), logged.String()} {
		if strings.Contains(shown, "pw-123") || strings.Contains(shown, "pw-456") || !strings.Contains(shown, "10.1.2.3") {
			t.Errorf("shown: %s", shown)
		}
	}
	k.CouchURL = "http://10.1.2.3:5984"
	if base, user, pass := k.Endpoint(); base != "http://10.1.2.3:5984" || user != "other" || pass != "pw-456" {
		t.Errorf("Endpoint() without URL credentials = %q %q %q", base, user, pass)
	}
}
