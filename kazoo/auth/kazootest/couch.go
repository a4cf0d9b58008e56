package kazootest

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"
)

// Couch writes documents into a CouchDB (pouchtest.Start) the way Kazoo lays them out.
type Couch struct {
	T    testing.TB
	Base string
}

// Do sends one request and returns the decoded JSON reply; a status >= 300 fails the test.
func (c Couch) Do(method, path, contentType string, body []byte) map[string]any {
	c.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, c.Base+path, bytes.NewReader(body))
	if err != nil {
		c.T.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.T.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode >= 300 {
		c.T.Fatalf("%s %s: %d %v", method, path, resp.StatusCode, out)
	}
	return out
}

// CreateDB creates a database and returns its name escaped for a path.
func (c Couch) CreateDB(name string) string {
	c.Do("PUT", "/"+url.PathEscape(name), "", nil)
	return url.PathEscape(name)
}

// AccountDB creates an account's database, named as Kazoo names it (account/xx/yy/rest).
func (c Couch) AccountDB(accountID string) string {
	return c.CreateDB("account/" + accountID[:2] + "/" + accountID[2:4] + "/" + accountID[4:])
}

// Put stores a new document and returns its revision.
func (c Couch) Put(db, id string, doc map[string]any) string {
	raw, _ := json.Marshal(doc)
	return c.Do("PUT", "/"+db+"/"+id, "application/json", raw)["rev"].(string)
}

// Delete deletes a document.
func (c Couch) Delete(db, id string) {
	doc := c.Do("GET", "/"+db+"/"+id, "", nil)
	c.Do("DELETE", "/"+db+"/"+id+"?rev="+doc["_rev"].(string), "", nil)
}

// AddKey stores a key as kz_auth_keys:new_private_key does: a system_key document in
// system_auth with the PEM as its private_key.pem attachment.
func (c Couch) AddKey(k Key) {
	rev := c.Put("system_auth", k.ID, map[string]any{"pvt_type": "system_key"})
	c.Do("PUT", "/system_auth/"+k.ID+"/private_key.pem?rev="+rev, "application/x-pem-file", []byte(k.PrivatePEM()))
}

// AddReader creates a CouchDB user, for URLs that carry credentials.
func (c Couch) AddReader(name, password string) {
	c.Put("_users", "org.couchdb.user:"+name,
		map[string]any{"name": name, "password": password, "roles": []string{}, "type": "user"})
}
