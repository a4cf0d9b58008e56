package httpapi

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/knmproject/knm"
)

func hookBody(fields map[string]any) map[string]any {
	data := map[string]any{"name": "numbers to billing", "uri": "https://billing.example.com/knm?k=1"}
	for k, v := range fields {
		if v == nil {
			delete(data, k)
		} else {
			data[k] = v
		}
	}
	return map[string]any{"data": data}
}

// TestWebhooksAPIRefuses: only resellers and the master manage hooks, within their tree,
// and bad settings are 400 naming the field.
func TestWebhooksAPIRefuses(t *testing.T) {
	t.Parallel()
	f := newEventsFixture(t, "")
	e := f.e
	hooks := "/v2/accounts/" + f.cust + "/webhooks"

	// Only resellers and the master manage hooks, within their tree.
	custKeyTok := func() string {
		_, key := e.createAccount(f.resTok, "plain customer", nil)
		return e.login(key)
	}()
	wantError(t, e.do("GET", hooks, custKeyTok, nil), http.StatusForbidden)
	wantError(t, e.do("PUT", hooks, f.oTok, hookBody(nil)), http.StatusForbidden)
	wantError(t, e.do("PUT", "/v2/accounts/"+f.other+"/webhooks", f.resTok, hookBody(nil)), http.StatusForbidden)
	wantError(t, e.do("GET", hooks, "", nil), http.StatusUnauthorized)

	// Bad settings are 400 naming the field.
	for _, c := range []struct {
		fields map[string]any
		cause  string
	}{
		{map[string]any{"uri": "https://user:secret@billing.example.com/"}, "uri"},
		{map[string]any{"uri": "ftp://billing.example.com/"}, "uri"},
		{map[string]any{"uri": "file:///etc/passwd"}, "uri"},
		{map[string]any{"uri": nil}, "uri"},
		{map[string]any{"name": nil}, "name"},
		{map[string]any{"http_verb": "get"}, "http_verb"},
		{map[string]any{"hook": "channel_create"}, "hook"},
		{map[string]any{"custom_data": map[string]any{"n": 1}}, "custom_data"},
		{map[string]any{"custom_data": map[string]any{"event": "x"}}, "custom_data"},
		{map[string]any{"max_concurrency": 99}, "max_concurrency"},
		{map[string]any{"enabled": "yes"}, "enabled"},
	} {
		r := e.do("PUT", hooks, f.resTok, hookBody(c.fields))
		wantInvalid(t, r, c.cause, "")
	}
	wantError(t, e.do("PUT", hooks, f.resTok, `{"name":"no data envelope"}`), http.StatusBadRequest)
}

// TestWebhooksAPILifecycle creates, reads, edits, disables, re-enables and deletes a hook.
func TestWebhooksAPILifecycle(t *testing.T) {
	t.Parallel()
	f := newEventsFixture(t, "")
	e := f.e
	hooks := "/v2/accounts/" + f.cust + "/webhooks"

	// Create: the secret is in this reply and never again.
	r := e.do("PUT", hooks, f.resTok, hookBody(map[string]any{"custom_data": map[string]string{"tenant": "acme"}}))
	if r.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.Status, r.Raw)
	}
	var created struct {
		ID, Secret, HTTPVerb string
		Hook                 string
		Enabled              bool
	}
	r.data(t, &created)
	if len(created.Secret) != 64 || !created.Enabled {
		t.Fatalf("created hook: %s", r.Raw)
	}
	hook := hooks + "/" + created.ID
	for _, path := range []string{hooks, hook} {
		r := e.do("GET", path, f.resTok, nil)
		if r.Status != 200 || strings.Contains(string(r.Raw), created.Secret) || strings.Contains(string(r.Raw), `"secret"`) {
			t.Fatalf("GET %s shows the secret or failed: %d %s", path, r.Status, r.Raw)
		}
	}
	r = e.do("GET", hook, f.master, nil)
	var got map[string]any
	got = nil
	r.data(t, &got)
	if got["http_verb"] != "post" || got["hook"] != "numbers" || got["max_concurrency"] != float64(4) ||
		got["custom_data"].(map[string]any)["tenant"] != "acme" || got["account_id"] != f.cust {
		t.Fatalf("hook as created: %s", r.Raw)
	}
	// The hook belongs to C: under another account's path it does not exist.
	wantError(t, e.do("GET", "/v2/accounts/"+f.res+"/webhooks/"+created.ID, f.resTok, nil), http.StatusNotFound)
	wantError(t, e.do("GET", hooks+"/nothex", f.resTok, nil), http.StatusBadRequest)

	// PATCH changes what it names; POST replaces everything.
	r = e.do("PATCH", hook, f.resTok, map[string]any{"data": map[string]any{"enabled": false, "max_concurrency": 2}})
	got = nil
	r.data(t, &got)
	if r.Status != 200 || got["enabled"] != false || got["max_concurrency"] != float64(2) ||
		got["name"] != "numbers to billing" {
		t.Fatalf("patch: %d %s", r.Status, r.Raw)
	}
	creds := map[string]any{"data": map[string]any{"uri": "https://a:b@x.example/"}}
	wantError(t, e.do("PATCH", hook, f.resTok, creds), http.StatusBadRequest)
	r = e.do("POST", hook, f.resTok, hookBody(map[string]any{"name": "renamed", "http_verb": "put"}))
	got = nil
	r.data(t, &got)
	if r.Status != 200 || got["name"] != "renamed" || got["enabled"] != true || got["http_verb"] != "put" ||
		got["max_concurrency"] != float64(4) || len(got["custom_data"].(map[string]any)) != 0 {
		t.Fatalf("post: %d %s", r.Status, r.Raw)
	}

	checkDisableAndReenable(t, e, hook, created.ID, f.cust, f.resTok)

	r = e.do("GET", hooks, f.master, nil)
	var list []map[string]any
	r.data(t, &list)
	if len(list) != 1 || list[0]["id"] != created.ID {
		t.Fatalf("list: %s", r.Raw)
	}
	if r := e.do("DELETE", hook, f.resTok, nil); r.Status != 200 {
		t.Fatalf("delete: %d %s", r.Status, r.Raw)
	}
	wantError(t, e.do("GET", hook, f.resTok, nil), http.StatusNotFound)
	wantError(t, e.do("DELETE", hook, f.resTok, nil), http.StatusNotFound)
}

// checkDisableAndReenable has the store disable the hook after a failure and checks that
// the API shows why, and that PATCH enabled re-enables it.
func checkDisableAndReenable(t *testing.T, e *testEnv, path, id, account, tok string) {
	t.Helper()
	disableByFailures(t, e.store, id, account)
	r := e.do("GET", path, tok, nil)
	var got map[string]any
	r.data(t, &got)
	reason, _ := got["disable_reason"].(string)
	if got["enabled"] != false || !strings.Contains(reason, "HTTP 503") || got["last_error"] != "HTTP 503" ||
		got["pending_deliveries"] != float64(1) {
		t.Fatalf("disabled hook: %s", r.Raw)
	}
	r = e.do("PATCH", path, tok, map[string]any{"data": map[string]any{"enabled": true}})
	got = nil
	r.data(t, &got)
	if got["enabled"] != true || got["disable_reason"] != nil || got["consecutive_failures"] != float64(0) {
		t.Fatalf("re-enabled hook: %s", r.Raw)
	}
}

// disableByFailures queues an event for the hook and fails its delivery until the store
// disables the hook, as the delivery worker does against a receiver answering 503.
func disableByFailures(t *testing.T, s knm.Store, hookID, account string) {
	t.Helper()
	ctx := context.Background()
	cur, err := s.GetEventCursor(ctx, knm.WebhookConsumer(hookID))
	if err != nil {
		t.Fatal(err)
	}
	n := &knm.Number{Number: "+12565550199", State: knm.StateInService, AssignedTo: account}
	if err := s.CreateNumber(ctx, n); err != nil {
		t.Fatal(err)
	}
	evs, err := s.Events(ctx, cur.LastID, 10)
	if err != nil || len(evs) != 1 {
		t.Fatalf("events: %v %v", evs, err)
	}
	if err := s.QueueWebhookDeliveries(ctx, hookID, cur.LastID, evs[0].ID, evs); err != nil {
		t.Fatal(err)
	}
	ds, err := s.ClaimWebhookDeliveries(ctx, hookID, "test", time.Minute)
	if err != nil || len(ds) != 1 {
		t.Fatalf("claim: %v %v", ds, err)
	}
	disabled, err := s.FailWebhookDelivery(ctx, hookID, ds[0].Event.ID, "test",
		knm.WebhookFailure{RetryIn: time.Hour, Reason: "HTTP 503", DisableAfter: 1})
	if err != nil || !disabled {
		t.Fatalf("fail: disabled %v, %v", disabled, err)
	}
}
