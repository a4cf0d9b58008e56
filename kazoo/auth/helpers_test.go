package kazooauth_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/config"
	kazooauth "github.com/knmproject/knm/kazoo/auth"
	"github.com/knmproject/knm/kazoo/auth/kazootest"
	"github.com/knmproject/knm/store"
)

// clock is an injected clock tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// env is a Verifier over the kazoo_auth settings of a real SQLite store.
type env struct {
	t     *testing.T
	ctx   context.Context
	store knm.Store
	cfg   *config.Config
	clock *clock
	key   kazootest.Key
	v     *kazooauth.Verifier
}

// newEnv stores one trusted key in kazoo_auth and builds a Verifier with o (Config and Now
// are filled in).
func newEnv(t *testing.T, o kazooauth.Options) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	s, err := store.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "knm.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	e := &env{t: t, ctx: ctx, store: s, cfg: config.New(s, "test", ""), clock: &clock{t: time.Now()},
		key: kazootest.NewKey(t)}
	e.setKeys(e.key)
	o.Config, o.Store, o.Now = e.cfg, s, e.clock.Now
	if e.v, err = kazooauth.NewVerifier(o); err != nil {
		t.Fatal(err)
	}
	return e
}

// set writes one kazoo_auth setting through the validating path.
func (e *env) set(key string, value any) {
	e.t.Helper()
	raw, _ := json.Marshal(value)
	if err := e.cfg.Set(e.ctx, kazooauth.Category, key, raw, ""); err != nil {
		e.t.Fatal(err)
	}
}

// setKeys makes exactly these keys trusted (public_keys_pem).
func (e *env) setKeys(keys ...kazootest.Key) {
	e.t.Helper()
	pems := map[string]string{}
	for _, k := range keys {
		pems[k.ID] = k.PublicPEM()
	}
	e.set("public_keys_pem", pems)
}

// token mints a valid token of a fresh account, expiring in an hour, changed by edit.
func (e *env) token(key kazootest.Key, edit func(*kazootest.Token)) string {
	e.t.Helper()
	tok := kazootest.Token{AccountID: knm.NewAccountID(), OwnerID: kazootest.RandHex(16),
		Exp: e.clock.Now().Add(time.Hour)}
	if edit != nil {
		edit(&tok)
	}
	return kazootest.Mint(e.t, key, tok)
}

// wantRefused checks that the token is refused with a Refusal and returns it.
func (e *env) wantRefused(token, why string) *kazooauth.Refusal {
	e.t.Helper()
	_, err := e.v.Verify(e.ctx, token)
	var r *kazooauth.Refusal
	if !errors.As(err, &r) {
		e.t.Fatalf("%s: got %v, want a refusal", why, err)
	}
	return r
}

// wantAccepted checks that the token is accepted and returns its claims.
func (e *env) wantAccepted(token, why string) kazooauth.Claims {
	e.t.Helper()
	c, err := e.v.Verify(e.ctx, token)
	if err != nil {
		e.t.Fatalf("%s: %v", why, err)
	}
	return c
}
