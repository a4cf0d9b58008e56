package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/carriers/knmvoxbone"
	"github.com/knmproject/knm/voxbone/emulator"
)

func key(k string) http.Header { return http.Header{"Idempotency-Key": {k}} }

// TestCollectionActivateIdempotencyKey: a retry of collection/activate with the same key
// replays the first reply and changes nothing; the key with other numbers is a 400.
func TestCollectionActivateIdempotencyKey(t *testing.T) {
	t.Parallel()
	e, master, base := newBulkEnv(t, "+12565550301", "+12565550302")
	body := `{"data":{"numbers":["+12565550301","+12565550302"]}}`
	first := e.doWith("PUT", base+"/collection/activate", master, body, key("a1"))
	if first.Status != 201 {
		t.Fatalf("first: %d %s", first.Status, first.Raw)
	}
	ctx := context.Background()
	n, err := e.store.GetNumber(ctx, "+12565550301")
	if err != nil || n.State != knm.StateInService {
		t.Fatalf("after the first: %+v, %v", n, err)
	}
	if r := e.do("DELETE", base+"/collection", master, `{"data":{"numbers":["+12565550301"]}}`); r.Status != 200 {
		t.Fatalf("release: %d %s", r.Status, r.Raw)
	}
	again := e.doWith("PUT", base+"/collection/activate", master, body, key("a1"))
	if again.Status != 201 || again.Header.Get("Idempotent-Replayed") != "true" ||
		string(again.Env["data"]) != string(first.Env["data"]) {
		t.Fatalf("retry: %d %s\nfirst: %s", again.Status, again.Env["data"], first.Env["data"])
	}
	if n, err := e.store.GetNumber(ctx, "+12565550301"); err == nil && n.State == knm.StateInService {
		t.Fatalf("the retry activated again: %+v", n)
	}
	other := e.doWith("PUT", base+"/collection/activate", master, `{"data":{"numbers":["+12565550302"]}}`, key("a1"))
	wantError(t, other, 400)
	long := e.doWith("PUT", base+"/collection/activate", master, body, key(strings.Repeat("k", 201)))
	wantError(t, long, 400)
}

// voxboneSearchEnv is an API whose searches use knm_voxbone against the emulator at rps
// requests per second, with a search deadline of timeout.
func voxboneSearchEnv(t *testing.T, rps int, timeout time.Duration) (*testEnv, *emulator.Emulator, string, string) {
	t.Helper()
	return voxboneSearchEnvVia(t, rps, timeout, 0)
}

// voxboneSearchEnvVia is voxboneSearchEnv with the emulator's DID listings (the settle
// phase, after the checkout) slowed by slow.
func voxboneSearchEnvVia(t *testing.T, rps int, timeout, slow time.Duration) (*testEnv, *emulator.Emulator, string,
	string) {
	t.Helper()
	e := newTestEnv(t, "", nil)
	em := emulator.New(emulator.Config{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/inventory/did") {
			time.Sleep(slow)
		}
		em.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	s := knmvoxbone.DefaultSettings()
	s.BaseURL, s.RateLimitRPS = srv.URL+"/ws-voxbone/services/rest", rps
	c, err := knmvoxbone.New(s, knmvoxbone.Deps{Store: e.store})
	if err != nil {
		t.Fatal(err)
	}
	e.api.registry.Register(knmvoxbone.ModuleName, func() (knm.Carrier, error) { return c, nil })
	ctx := context.Background()
	for k, v := range map[string]string{"carrier_modules": `["knm_voxbone"]`,
		"number_search_timeout_ms": strconv.Itoa(int(timeout.Milliseconds()))} {
		if err := e.api.cfg.Set(ctx, "number_manager", k, json.RawMessage(v), ""); err != nil {
			t.Fatal(err)
		}
	}
	master := e.login(e.masterKey)
	acc, _ := e.createAccount(master, "buyer", nil)
	return e, em, master, "/v2/accounts/" + acc + "/phone_numbers"
}

// TestSearchRefusedWithRetryAfter: a purchase the rate budget cannot carry before the
// deadline is refused at once: 429 with Retry-After and the carrier's report, nothing sent.
func TestSearchRefusedWithRetryAfter(t *testing.T) {
	t.Parallel()
	e, em, master, base := voxboneSearchEnv(t, 2, 500*time.Millisecond)
	r := e.do("GET", base+"?prefix=256&quantity=2", master, nil)
	wantError(t, r, 429)
	if after, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || after < 1 {
		t.Fatalf("Retry-After %q", r.Header.Get("Retry-After"))
	}
	var reports []struct {
		Module     string `json:"module"`
		Status     string `json:"status"`
		RetryAfter int    `json:"retry_after_s"`
	}
	if err := json.Unmarshal(r.Env["carriers"], &reports); err != nil || len(reports) == 0 {
		t.Fatalf("carriers %s", r.Env["carriers"])
	}
	found := false
	for _, rep := range reports {
		found = found || rep.Module == knmvoxbone.ModuleName && rep.Status == "refused" && rep.RetryAfter >= 1
	}
	if !found {
		t.Fatalf("no refused report: %s", r.Env["carriers"])
	}
	if n := len(em.Requests()); n != 0 {
		t.Fatalf("%d requests sent to Voxbone for a refused search", n)
	}
}

// TestSearchIdempotencyKeyBuysOnce: a search with an Idempotency-Key, repeated, buys once;
// a key over 200 characters is a 400.
func TestSearchIdempotencyKeyBuysOnce(t *testing.T) {
	t.Parallel()
	e, em, master, base := voxboneSearchEnv(t, 100, 10*time.Second)
	first := e.doWith("GET", base+"?prefix=256&quantity=2", master, nil, key("s1"))
	again := e.doWith("GET", base+"?prefix=256&quantity=2", master, nil, key("s1"))
	if first.Status != 200 || again.Status != 200 || string(first.Env["data"]) != string(again.Env["data"]) {
		t.Fatalf("first %d %s, again %d %s", first.Status, first.Env["data"], again.Status, again.Env["data"])
	}
	if n := len(em.Orders()); n != 1 {
		t.Fatalf("%d orders for one search and its retry", n)
	}
	wantError(t, e.doWith("GET", base+"?prefix=256&quantity=2", master, nil, key(strings.Repeat("k", 201))), 400)
}

// TestSearchServedPastTheDeadlineOnceBought: a search whose checkout was sent before the
// deadline waits for the order to settle and answers with its numbers, not an empty reply.
func TestSearchServedPastTheDeadlineOnceBought(t *testing.T) {
	t.Parallel()
	e, em, master, base := voxboneSearchEnvVia(t, 100, 1500*time.Millisecond, 2*time.Second)
	start := time.Now()
	r := e.do("GET", base+"?prefix=256&quantity=2", master, nil)
	took := time.Since(start)
	var numbers []map[string]string
	r.data(t, &numbers)
	if r.Status != 200 || len(numbers) != 2 || took < 1500*time.Millisecond {
		t.Fatalf("%d after %v: %s", r.Status, took, r.Raw)
	}
	if n := len(em.Orders()); n != 1 {
		t.Fatalf("%d orders", n)
	}
}
