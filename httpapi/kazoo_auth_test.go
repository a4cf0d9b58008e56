package httpapi

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/internal/pouchtest"
	kazooauth "github.com/knmproject/knm/kazoo/auth"
	"github.com/knmproject/knm/kazoo/auth/kazootest"
)

// kazooEnv is the API of a testEnv served again, over the same database, with an injected
// clock for Kazoo's tokens and a log to read.
type kazooEnv struct {
	*testEnv
	master string // knm token of the master account
	key    kazootest.Key
	now    time.Time
	mu     sync.Mutex
	logs   *logRecorder
}

// logRecorder is a slog.Handler keeping every record's message and attributes.
type logRecorder struct {
	mu      sync.Mutex
	records []map[string]string
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }

func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	rec := map[string]string{"msg": r.Message}
	r.Attrs(func(a slog.Attr) bool { rec[a.Key] = a.Value.String(); return true })
	l.mu.Lock()
	defer l.mu.Unlock()
	l.records = append(l.records, rec)
	return nil
}

func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return l }

func (l *logRecorder) WithGroup(string) slog.Handler { return l }

// all returns the records so far.
func (l *logRecorder) all() []map[string]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.records)
}

func (k *kazooEnv) clock() time.Time { k.mu.Lock(); defer k.mu.Unlock(); return k.now }

func (k *kazooEnv) advance(d time.Duration) { k.mu.Lock(); k.now = k.now.Add(d); k.mu.Unlock() }

func newKazooEnv(t *testing.T, dsn string) *kazooEnv {
	t.Helper()
	base := newTestEnv(t, dsn, nil)
	k := &kazooEnv{testEnv: base, key: kazootest.NewKey(t), now: time.Now(), logs: &logRecorder{}}
	v, err := kazooauth.NewVerifier(kazooauth.Options{Config: base.api.cfg, Store: base.store, Now: k.clock})
	if err != nil {
		t.Fatal(err)
	}
	api, err := New(Options{Manager: base.mgr, Store: base.store, Config: base.api.cfg, Registry: base.api.registry,
		Node: "test", MaxBodyBytes: 4096, KazooAuth: v, Logger: slog.New(k.logs)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(srv.Close)
	k.testEnv = &testEnv{t: t, srv: srv, api: api, store: base.store, mgr: base.mgr, masterKey: base.masterKey,
		masterID: base.masterID, router: base.router}
	k.master = k.login(k.masterKey)
	k.trust(k.key)
	return k
}

// trust makes exactly these keys trusted, through the API as an operator would.
func (k *kazooEnv) trust(keys ...kazootest.Key) {
	k.t.Helper()
	pems := map[string]string{}
	for _, key := range keys {
		pems[key.ID] = key.PublicPEM()
	}
	settings := map[string]any{"public_keys_pem": pems, "refresh_interval_s": 60}
	body := map[string]any{"data": map[string]any{"default": settings}}
	if r := k.do("POST", "/v2/system_configs/kazoo_auth", k.master, body); r.Status != 200 {
		k.t.Fatalf("configure kazoo_auth: %d %s", r.Status, r.Raw)
	}
}

// token mints a Kazoo token for a knm account, valid for an hour.
func (k *kazooEnv) token(key kazootest.Key, account string, edit func(*kazootest.Token)) string {
	tok := kazootest.Token{AccountID: account, OwnerID: kazootest.RandHex(16), Exp: k.clock().Add(time.Hour)}
	if edit != nil {
		edit(&tok)
	}
	return kazootest.Mint(k.t, key, tok)
}

// wantInvalidCredentials checks crossbar's refusal: 401, invalid_credentials.
func wantInvalidCredentials(t *testing.T, r reply, why string) {
	t.Helper()
	var data struct{ Error string }
	r.data(t, &data)
	if r.Status != http.StatusUnauthorized || r.str("message") != "invalid_credentials" ||
		data.Error != "invalid_credentials" {
		t.Fatalf("%s: want 401 invalid_credentials, got %d %s", why, r.Status, r.Raw)
	}
}

func TestKazooTokensSQLite(t *testing.T) {
	t.Parallel()
	kazooTokens(t, newKazooEnv(t, ""))
}

func TestKazooTokensPostgres(t *testing.T) {
	t.Parallel()
	kazooTokens(t, newKazooEnv(t, freshSchemaDSN(t)))
}

// kazooTokens proves a Kazoo token acts as its account, exactly, and that every kind of
// bad token is refused.
func kazooTokens(t *testing.T, k *kazooEnv) {
	k.importNumbers("+12565550111", "+12565550112")
	reseller, _ := k.createAccount(k.master, "reseller", map[string]any{"is_reseller": true})
	rtok := k.token(k.key, reseller, nil)
	child, _ := k.createAccount(rtok, "child", nil)
	ctok := k.token(k.key, child, nil)
	mtok := k.token(k.key, k.masterID, nil)

	// Master rights.
	if r := k.do("GET", "/v2/system_configs/number_manager", mtok, nil); r.Status != 200 || r.str("auth_token") != mtok {
		t.Fatalf("master reads system_config: %d %s", r.Status, r.Raw)
	}
	// Reseller rights: a sub-account made with the Kazoo token sits under the reseller, which
	// buys a number into it; the reseller may not read the system settings.
	if r := k.do("PUT", "/v2/accounts/"+child+"/phone_numbers/+12565550111/activate", rtok, nil); r.Status/100 != 2 {
		t.Fatalf("reseller activates into its child: %d %s", r.Status, r.Raw)
	}
	wantError(t, k.do("GET", "/v2/system_configs/number_manager", rtok, nil), 403)
	// Sub-account scoping: the child sees its number, not its reseller.
	r := k.do("GET", "/v2/accounts/"+child+"/phone_numbers", ctok, nil)
	if r.Status != 200 || !strings.Contains(string(r.Raw), "+12565550111") {
		t.Fatalf("child lists its numbers: %d %s", r.Status, r.Raw)
	}
	wantError(t, k.do("GET", "/v2/accounts/"+reseller, ctok, nil), 403)
	wantError(t, k.do("PUT", "/v2/accounts/"+reseller+"/phone_numbers/+12565550112/activate", ctok, nil), 403)
	// Masquerading ("as"): the reseller's user acting as the child has the child's rights
	// only; "as" an account outside the tree is refused.
	as := func(account string) func(*kazootest.Token) {
		return func(tok *kazootest.Token) {
			tok.Claims = map[string]any{"as": map[string]string{"account_id": account, "owner_id": kazootest.RandHex(16)}}
		}
	}
	asChild := k.token(k.key, reseller, as(child))
	if r := k.do("GET", "/v2/accounts/"+child, asChild, nil); r.Status != 200 {
		t.Fatalf("reseller as child reads the child: %d %s", r.Status, r.Raw)
	}
	wantError(t, k.do("GET", "/v2/accounts/"+reseller, asChild, nil), 403)
	wantInvalidCredentials(t, k.do("GET", "/v2/accounts/"+child, k.token(k.key, child, as(reseller)), nil), "as an ancestor")

	kazooRefusals(t, k, child)
	kazooRotation(t, k, child)

	// Metrics and logs say which kind of token authenticated, never the token.
	metrics := k.do("GET", "/metrics", "", nil)
	for _, want := range []string{`knm_auth_attempts_total{kind="kazoo",result="ok"}`,
		`knm_auth_attempts_total{kind="kazoo",result="refused"}`, `knm_auth_attempts_total{kind="knm",result="ok"}`} {
		if !strings.Contains(string(metrics.Raw), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	kinds := map[string]bool{}
	for _, rec := range k.logs.all() {
		if rec["msg"] == "http request" {
			kinds[rec["auth"]] = true
		}
		for _, v := range rec {
			for _, tok := range []string{rtok, ctok, mtok, k.master} {
				_, payload, sig := kazootest.Parts(tok)
				if strings.Contains(v, tok) || strings.Contains(v, payload) || (sig != "" && strings.Contains(v, sig)) {
					t.Fatalf("a token is in the log: %v", rec)
				}
			}
		}
	}
	if !kinds["kazoo"] || !kinds["knm"] || !kinds[""] {
		t.Errorf("request log lines name these kinds of token: %v; want kazoo, knm and none", kinds)
	}
	if strings.Contains(string(metrics.Raw), mtok) {
		t.Fatal("a token is in the metrics")
	}
}

func kazooRefusals(t *testing.T, k *kazooEnv, child string) {
	path := "/v2/accounts/" + child
	valid := k.token(k.key, child, nil)
	h, p, _ := kazootest.Parts(valid)
	enc := base64.RawURLEncoding
	none := enc.EncodeToString([]byte(`{"alg":"none","typ":"JWT","kid":"`+k.key.ID+`"}`)) + "." + p + "."
	hsHeader := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT","kid":"` + k.key.ID + `"}`))
	mac := hmac.New(sha256.New, []byte(k.key.PublicPEM()))
	mac.Write([]byte(hsHeader + "." + p))
	other := kazootest.NewKey(t)
	disabled, _ := k.createAccount(k.master, "disabled", nil)
	acc, err := k.store.GetAccount(context.Background(), disabled)
	if err != nil {
		t.Fatal(err)
	}
	acc.Enabled = false
	if err := k.store.UpdateAccount(context.Background(), acc); err != nil {
		t.Fatal(err)
	}
	_, _, sig := kazootest.Parts(valid)
	tampered := h + "." + enc.EncodeToString([]byte(`{"account_id":"`+k.masterID+`","exp":`+
		strconv.FormatInt(k.clock().Add(time.Hour).Unix(), 10)+`,"iss":"kazoo"}`)) + "." + sig
	expired := k.token(k.key, child, func(tok *kazootest.Token) { tok.Exp = k.clock().Add(-time.Hour) })
	cases := map[string]string{
		"alg none":                        none,
		"HS256 keyed with the public key": hsHeader + "." + p + "." + enc.EncodeToString(mac.Sum(nil)),
		"RS256 by another key":            k.token(kazootest.Key{ID: k.key.ID, Priv: other.Priv}, child, nil),
		"unknown kid":                     k.token(other, child, nil),
		"expired":                         expired,
		"tampered payload":                tampered,
		"wrong iss":                       k.token(k.key, child, func(tok *kazootest.Token) { tok.Issuer = "not-kazoo" }),
		"unknown account":                 k.token(k.key, knm.NewAccountID(), nil),
		"disabled account":                k.token(k.key, disabled, nil),
	}
	for name, tok := range cases {
		wantInvalidCredentials(t, k.do("GET", path, tok, nil), name)
	}
	// Refused on a route that takes a token optionally too, rather than served anonymously.
	search := k.do("GET", "/v2/phone_numbers?prefix=256&quantity=1", cases["unknown kid"], nil)
	wantInvalidCredentials(t, search, "optional auth")
}

// kazooRotation: a key added under a new kid works at once; a removed one stops within the
// refresh interval (60 s here).
func kazooRotation(t *testing.T, k *kazooEnv, child string) {
	second := kazootest.NewKey(t)
	k.trust(k.key, second)
	if r := k.do("GET", "/v2/accounts/"+child, k.token(second, child, nil), nil); r.Status != 200 {
		t.Fatalf("new kid: %d %s", r.Status, r.Raw)
	}
	first := k.token(k.key, child, nil)
	k.trust(second)
	k.advance(60 * time.Second)
	wantInvalidCredentials(t, k.do("GET", "/v2/accounts/"+child, first, nil), "removed key after the refresh interval")
	if r := k.do("GET", "/v2/accounts/"+child, k.token(second, child, nil), nil); r.Status != 200 {
		t.Fatalf("remaining key: %d %s", r.Status, r.Raw)
	}
}

func TestKazooIdentitySignatureRequired(t *testing.T) {
	t.Parallel()
	couch := kazootest.Couch{T: t, Base: pouchtest.Start(t).URL}
	k := newKazooEnv(t, "")
	acc, _ := k.createAccount(k.master, "customer", nil)
	user, userSecret, systemSecret := kazootest.RandHex(16), kazootest.RandHex(16), kazootest.RandHex(16)
	couch.CreateDB("system_auth")
	couch.CreateDB("system_config")
	couch.Put("system_config", "auth",
		map[string]any{"default": map[string]any{"secret_for_user_signature": systemSecret}})
	couch.Put(couch.AccountDB(acc), user, map[string]any{"pvt_type": "user", "pvt_signature_secret": userSecret})
	settings := map[string]any{"public_keys_pem": map[string]string{k.key.ID: k.key.PublicPEM()},
		"identity_signature": "required", "couchdb_url": couch.Base}
	if r := k.do("POST", "/v2/system_configs/kazoo_auth", k.master,
		map[string]any{"data": map[string]any{"default": settings}}); r.Status != 200 {
		t.Fatalf("configure: %d %s", r.Status, r.Raw)
	}
	signed := func(idSecret string) string {
		return k.token(k.key, acc, func(tok *kazootest.Token) {
			tok.OwnerID, tok.IdentitySecret, tok.SystemSecret = user, idSecret, systemSecret
		})
	}
	if r := k.do("GET", "/v2/accounts/"+acc, signed(userSecret), nil); r.Status != 200 {
		t.Fatalf("good identity signature: %d %s", r.Status, r.Raw)
	}
	bad := signed(kazootest.RandHex(16))
	wantInvalidCredentials(t, k.do("GET", "/v2/accounts/"+acc, bad, nil), "bad identity signature")
	wantInvalidCredentials(t, k.do("GET", "/v2/accounts/"+acc, k.token(k.key, acc, nil), nil), "no identity signature")
	// A private key posted as a trusted key is refused, and not echoed.
	r := k.do("POST", "/v2/system_configs/kazoo_auth", k.master,
		map[string]any{"data": map[string]any{"default": map[string]any{
			"public_keys_pem": map[string]string{"x": k.key.PrivatePEM()}}}})
	wantError(t, r, 400)
	if bytes.Contains(r.Raw, []byte("PRIVATE KEY-----")) {
		t.Fatalf("the private key is echoed: %s", r.Raw)
	}
}
