package kazooauth_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/internal/pouchtest"
	kazooauth "github.com/knmproject/knm/kazoo/auth"
	"github.com/knmproject/knm/kazoo/auth/kazootest"
)

// couch writes documents into a CouchDB the way Kazoo lays them out.
type couch struct {
	t    *testing.T
	base string
}

func (c couch) do(method, path, contentType string, body []byte) map[string]any {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode >= 300 {
		c.t.Fatalf("%s %s: %d %v", method, path, resp.StatusCode, out)
	}
	return out
}

func (c couch) db(name string) string {
	c.do("PUT", "/"+url.PathEscape(name), "", nil)
	return url.PathEscape(name)
}

func (c couch) put(db, id string, doc map[string]any) string {
	raw, _ := json.Marshal(doc)
	return c.do("PUT", "/"+db+"/"+id, "application/json", raw)["rev"].(string)
}

// addKey stores a key as kz_auth_keys:new_private_key does: a system_key document with
// the PEM as its private_key.pem attachment.
func (c couch) addKey(k kazootest.Key) {
	rev := c.put("system_auth", k.ID, map[string]any{"pvt_type": "system_key"})
	c.do("PUT", "/system_auth/"+k.ID+"/private_key.pem?rev="+rev, "application/x-pem-file", []byte(k.PrivatePEM()))
}

func (c couch) deleteDoc(db, id string) {
	var doc map[string]any
	raw := c.do("GET", "/"+db+"/"+id, "", nil)
	doc = raw
	c.do("DELETE", "/"+db+"/"+id+"?rev="+doc["_rev"].(string), "", nil)
}

func TestCouchDBKeysAndSecrets(t *testing.T) {
	c := couch{t: t, base: pouchtest.Start(t)}
	c.db("system_auth")
	c.db("system_config")
	key := kazootest.NewKey(t)
	c.addKey(key)
	c.put("system_auth", "google", map[string]any{"pvt_type": "provider"}) // not a key
	systemSecret := kazootest.RandHex(16)
	c.put("system_config", "auth", map[string]any{"default": map[string]any{"system_key": key.ID, "secret_for_user_signature": systemSecret}})
	acc, user, userSecret := knm.NewAccountID(), kazootest.RandHex(16), kazootest.RandHex(16)
	accDB := c.db("account/" + acc[:2] + "/" + acc[2:4] + "/" + acc[4:])
	c.put(accDB, user, map[string]any{"pvt_type": "user", "pvt_signature_secret": userSecret})

	// A CouchDB user for knm: the URL's credentials must reach CouchDB.
	c.put("_users", "org.couchdb.user:reader", map[string]any{"name": "reader", "password": "pw", "roles": []string{}, "type": "user"})

	e := newEnv(t, kazooauth.Options{})
	e.setKeys() // nothing configured: every key comes from CouchDB
	e.set("couchdb_url", strings.Replace(c.base, "http://", "http://reader:pw@", 1))
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
	c.addKey(second)
	e.wantAccepted(mint(second, userSecret), "second key, picked up by the unknown kid")
	c.deleteDoc("system_auth", key.ID)
	e.clock.Add(60 * time.Second)
	e.wantRefused(good, "removed from CouchDB, after the refresh interval")
	e.wantAccepted(mint(second, userSecret), "the remaining key")
}

func TestCouchDBSourceDirectly(t *testing.T) {
	c := couch{t: t, base: pouchtest.Start(t)}
	src, err := kazooauth.NewCouchDB(c.base+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := src.PublicKeys(ctx); err == nil {
		t.Fatal("no system_auth database: want an error")
	}
	c.db("system_auth")
	rev := c.put("system_auth", "broken", map[string]any{"pvt_type": "system_key"})
	c.do("PUT", "/system_auth/broken/private_key.pem?rev="+rev, "application/x-pem-file", []byte("-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n"))
	_, err = src.PublicKeys(ctx)
	if err == nil || strings.Contains(err.Error(), "AAAA") {
		t.Fatalf("unreadable key: %v (must fail without quoting it)", err)
	}
	c.deleteDoc("system_auth", "broken")
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
