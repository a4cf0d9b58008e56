package kazooauth_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/internal/pouchtest"
	kazooauth "github.com/knmproject/knm/kazoo/auth"
	"github.com/knmproject/knm/kazoo/auth/kazootest"
)

func TestCouchDBKeysAndSecrets(t *testing.T) {
	c := kazootest.Couch{T: t, Base: pouchtest.Start(t).URL}
	c.CreateDB("system_auth")
	c.CreateDB("system_config")
	key := kazootest.NewKey(t)
	c.AddKey(key)
	c.Put("system_auth", "google", map[string]any{"pvt_type": "provider"}) // not a key
	systemSecret := kazootest.RandHex(16)
	c.Put("system_config", "auth", map[string]any{"default": map[string]any{
		"system_key": key.ID, "secret_for_user_signature": systemSecret}})
	acc, user, userSecret := knm.NewAccountID(), kazootest.RandHex(16), kazootest.RandHex(16)
	accDB := c.AccountDB(acc)
	c.Put(accDB, user, map[string]any{"pvt_type": "user", "pvt_signature_secret": userSecret})

	// A CouchDB user for knm: the URL's credentials must reach CouchDB.
	c.AddReader("reader", "pw")

	e := newEnv(t, kazooauth.Options{})
	e.setKeys() // nothing configured: every key comes from CouchDB
	e.set("couchdb_url", strings.Replace(c.Base, "http://", "http://reader:pw@", 1))
	e.set("identity_signature", "required")
	e.set("refresh_interval_s", 60)
	mint := func(k kazootest.Key, idSecret string) string {
		return e.token(k, func(tok *kazootest.Token) {
			tok.AccountID, tok.OwnerID, tok.IdentitySecret, tok.SystemSecret = acc, user, idSecret, systemSecret
		})
	}
	good := mint(key, userSecret)
	if cl := e.wantAccepted(good, "key and secrets from CouchDB"); cl.AccountID != acc || cl.OwnerID != user {
		t.Fatalf("claims %+v", cl)
	}
	e.wantRefused(mint(key, kazootest.RandHex(16)), "bad identity signature, required")

	// Rotation in Kazoo: a second key document, then the first removed.
	second := kazootest.NewKey(t)
	c.AddKey(second)
	e.wantAccepted(mint(second, userSecret), "second key, picked up by the unknown kid")
	c.Delete("system_auth", key.ID)
	e.clock.Add(60 * time.Second)
	e.wantRefused(good, "removed from CouchDB, after the refresh interval")
	e.wantAccepted(mint(second, userSecret), "the remaining key")
}

func TestCouchDBSourceDirectly(t *testing.T) {
	c := kazootest.Couch{T: t, Base: pouchtest.Start(t).URL}
	src, err := kazooauth.NewCouchDB(c.Base+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := src.PublicKeys(ctx); err == nil {
		t.Fatal("no system_auth database: want an error")
	}
	c.CreateDB("system_auth")
	rev := c.Put("system_auth", "broken", map[string]any{"pvt_type": "system_key"})
	junk := "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n"
	c.Do("PUT", "/system_auth/broken/private_key.pem?rev="+rev, "application/x-pem-file", []byte(junk))
	_, err = src.PublicKeys(ctx)
	if err == nil || strings.Contains(err.Error(), "AAAA") {
		t.Fatalf("unreadable key: %v (must fail without quoting it)", err)
	}
	c.Delete("system_auth", "broken")
	keys, err := src.PublicKeys(ctx)
	if err != nil || len(keys) != 0 {
		t.Fatalf("empty system_auth: %v %v", keys, err)
	}
	if _, err := src.IdentitySecret(ctx, knm.NewAccountID(), "nobody"); err != kazooauth.ErrNoSecret {
		t.Fatalf("missing account database: %v", err)
	}
	if _, err := src.IdentitySecret(ctx, knm.NewAccountID(), "_all_docs"); err != kazooauth.ErrNoSecret {
		t.Fatalf("a CouchDB path as identity: %v", err)
	}
	if _, err := src.SystemSecret(ctx); err != kazooauth.ErrNoSecret {
		t.Fatalf("no system_config/auth: %v", err)
	}
}
