package kazoo

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"time"

	kivik "github.com/go-kivik/kivik/v4"
	"github.com/go-kivik/kivik/v4/couchdb" // the CouchDB driver, registered as "couch"

	"github.com/knmproject/knm"
)

// Doc is a CouchDB document, its top-level keys kept as raw JSON so that fields knm does
// not know pass through untouched.
type Doc map[string]json.RawMessage

// Couch is a connection to Kazoo's CouchDB through kivik. Credentials are sent with HTTP
// Basic authentication and never kept in the URL, so no error or log line can carry them.
type Couch struct {
	client *kivik.Client
	base   string // the server URL without user information
}

// maxWriteAttempts bounds the re-read and re-apply loop of a write that keeps meeting a
// newer _rev (another writer, such as Kazoo itself, between our read and our write).
const maxWriteAttempts = 8

// pageSize is how many rows one _all_docs or _changes request returns.
const pageSize = 1000

// Dial returns a client of the CouchDB server at rawURL. User information in the URL wins
// over username and password. TLS certificates are verified. Dial sends no request.
func Dial(rawURL, username, password string, timeout time.Duration) (*Couch, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, knm.Errorf(knm.ErrInvalid, "kazoo: the CouchDB URL must be an absolute http or https URL")
	}
	if u.User != nil {
		username = u.User.Username()
		if pw, ok := u.User.Password(); ok {
			password = pw
		}
		u.User = nil
	}
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	opts := []kivik.Option{couchdb.OptionHTTPClient(&http.Client{Timeout: timeout})}
	if username != "" || password != "" {
		opts = append(opts, couchdb.BasicAuth(username, password))
	}
	c, err := kivik.New("couch", u.String(), opts...)
	if err != nil {
		return nil, knm.Errorf(knm.ErrInvalid, "kazoo: CouchDB client for %s", u.Redacted()).Wrap(err)
	}
	return &Couch{client: c, base: u.String()}, nil
}

// URL returns the server's URL without user information.
func (c *Couch) URL() string { return c.base }

// Close releases the client.
func (c *Couch) Close() error { return c.client.Close() }

// couchErr turns a CouchDB failure into a knm error naming the operation: a 404 is
// not_found, a 409 conflict, a 401/403 unauthorized, anything else (the server down, a 5xx)
// unavailable, so the worker knows to wait and retry.
func couchErr(err error, op, db, id string) error {
	if err == nil {
		return nil
	}
	what := "kazoo: CouchDB " + op + " " + db
	if id != "" {
		what += "/" + id
	}
	name := knm.ErrUnavailable
	switch kivik.HTTPStatus(err) {
	case http.StatusNotFound:
		name = knm.ErrNotFound
	case http.StatusConflict:
		name = knm.ErrConflict
	case http.StatusUnauthorized, http.StatusForbidden:
		name = knm.ErrUnauthorized
	case http.StatusBadRequest:
		name = knm.ErrInvalid
	}
	return knm.Errorf(name, "%s", what).Wrap(err)
}

// get returns a document, or nil when it (or its database) does not exist.
func (c *Couch) get(ctx context.Context, db, id string) (Doc, error) {
	var d Doc
	err := c.client.DB(db).Get(ctx, id).ScanDoc(&d)
	if kivik.HTTPStatus(err) == http.StatusNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, couchErr(err, "read", db, id)
	}
	return d, nil
}

// dbExists reports whether a database exists.
func (c *Couch) dbExists(ctx context.Context, db string) (bool, error) {
	ok, err := c.client.DBExists(ctx, db)
	if err != nil {
		return false, couchErr(err, "look up database", db, "")
	}
	return ok, nil
}

// ensureDB creates a database unless it exists.
func (c *Couch) ensureDB(ctx context.Context, db string) error {
	err := c.client.CreateDB(ctx, db)
	if err == nil || kivik.HTTPStatus(err) == http.StatusPreconditionFailed {
		return nil
	}
	return couchErr(err, "create database", db, "")
}

// docWrite is one document to make equal to want. have is the document as last read when
// haveRead is set, which spares the first read.
type docWrite struct {
	db, id   string
	want     Doc
	createDB bool // create a missing database (number databases); else skip the write
	have     Doc
	haveRead bool
}

// writeDoc makes the document equal w.want (every key but _rev), writing only when it
// differs. A conflict re-reads the document and applies w.want again on its new revision.
// A missing database is created when w.createDB is set, else the write is skipped (Kazoo
// writes an account's copy only where the account's database exists). It reports whether
// it wrote.
func (c *Couch) writeDoc(ctx context.Context, w docWrite) (bool, error) {
	have, haveRead := w.have, w.haveRead
	for range maxWriteAttempts {
		if !haveRead {
			var err error
			if have, err = c.get(ctx, w.db, w.id); err != nil {
				return false, err
			}
		}
		haveRead = false
		if have != nil && len(diffDocs(w.want, have)) == 0 {
			return false, nil
		}
		body := make(Doc, len(w.want)+1)
		for k, v := range w.want {
			body[k] = v
		}
		delete(body, "_rev")
		if have != nil {
			body["_rev"] = have["_rev"]
		}
		_, err := c.client.DB(w.db).Put(ctx, w.id, body)
		switch {
		case err == nil:
			return true, nil
		case kivik.HTTPStatus(err) == http.StatusConflict:
			continue // someone wrote in between: read again and re-apply
		case kivik.HTTPStatus(err) == http.StatusNotFound && !w.createDB:
			return false, nil
		case kivik.HTTPStatus(err) == http.StatusNotFound:
			if err := c.ensureDB(ctx, w.db); err != nil {
				return false, err
			}
		default:
			return false, couchErr(err, "write", w.db, w.id)
		}
	}
	return false, knm.Errorf(knm.ErrConflict, "kazoo: CouchDB write %s/%s: still conflicting after %d attempts",
		w.db, w.id, maxWriteAttempts)
}

// deleteDoc removes document id from db if it is there; a missing document or database is
// not an error. A conflict re-reads the revision and deletes again. It reports whether it
// deleted.
func (c *Couch) deleteDoc(ctx context.Context, db, id string) (bool, error) {
	for range maxWriteAttempts {
		have, err := c.get(ctx, db, id)
		if err != nil || have == nil {
			return false, err
		}
		var rev string
		if err := json.Unmarshal(have["_rev"], &rev); err != nil {
			return false, knm.Errorf(knm.ErrInternal, "kazoo: CouchDB document %s/%s has no _rev", db, id)
		}
		_, err = c.client.DB(db).Delete(ctx, id, rev)
		switch {
		case err == nil:
			return true, nil
		case kivik.HTTPStatus(err) == http.StatusConflict:
			continue
		case kivik.HTTPStatus(err) == http.StatusNotFound:
			return false, nil
		default:
			return false, couchErr(err, "delete", db, id)
		}
	}
	return false, knm.Errorf(knm.ErrConflict, "kazoo: CouchDB delete %s/%s: still conflicting after %d attempts",
		db, id, maxWriteAttempts)
}

// numberDocs returns every phone_number document of a database (ids from "+" on), by id;
// an empty map when the database does not exist.
func (c *Couch) numberDocs(ctx context.Context, db string) (map[string]Doc, error) {
	out := map[string]Doc{}
	start, skip := "+", 0
	for {
		rows := c.client.DB(db).AllDocs(ctx, kivik.Params(map[string]any{
			"include_docs": true, "startkey": start, "endkey": "+" + kivik.EndKeySuffix,
			"limit": pageSize, "skip": skip,
		}))
		n := 0
		for rows.Next() {
			n++
			var d Doc
			if err := rows.ScanDoc(&d); err != nil {
				rows.Close()
				return nil, couchErr(err, "list", db, "")
			}
			id, _ := rows.ID()
			out[id], start, skip = d, id, 1
		}
		err := rows.Err()
		if kivik.HTTPStatus(err) == http.StatusNotFound {
			return out, nil
		}
		if err != nil {
			return nil, couchErr(err, "list", db, "")
		}
		if n < pageSize {
			return out, nil
		}
	}
}

// allDBs lists the server's databases.
func (c *Couch) allDBs(ctx context.Context) ([]string, error) {
	dbs, err := c.client.AllDBs(ctx)
	if err != nil {
		return nil, couchErr(err, "list databases", "", "")
	}
	return dbs, nil
}

// diffDocs returns the top-level keys whose values differ between want and have, _rev
// aside, in a stable order: want's keys sorted, then keys only have holds.
func diffDocs(want, have Doc) []string {
	var diff []string
	for _, k := range sortedKeys(want) {
		if k != "_rev" && !jsonEqual(want[k], have[k]) {
			diff = append(diff, k)
		}
	}
	for _, k := range sortedKeys(have) {
		if _, ok := want[k]; !ok && k != "_rev" {
			diff = append(diff, k)
		}
	}
	return diff
}

// jsonEqual compares two JSON values by meaning (key order and spacing aside); a missing
// value equals only another missing value.
func jsonEqual(a, b json.RawMessage) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	if bytes.Equal(a, b) {
		return true
	}
	var x, y any
	if decode(a, &x) != nil || decode(b, &y) != nil {
		return false
	}
	return equalValues(x, y)
}

// decode reads JSON keeping numbers exact (Gregorian seconds exceed float64's comfort).
func decode(raw json.RawMessage, v *any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	return dec.Decode(v)
}

func equalValues(x, y any) bool {
	switch a := x.(type) {
	case map[string]any:
		b, ok := y.(map[string]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for k, v := range a {
			w, ok := b[k]
			if !ok || !equalValues(v, w) {
				return false
			}
		}
		return true
	case []any:
		b, ok := y.([]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for i := range a {
			if !equalValues(a[i], b[i]) {
				return false
			}
		}
		return true
	case json.Number:
		b, ok := y.(json.Number)
		return ok && numbersEqual(a, b)
	default:
		return x == y
	}
}

// numbersEqual compares two JSON numbers written differently (1 and 1.0).
func numbersEqual(a, b json.Number) bool {
	if a == b {
		return true
	}
	x, errX := a.Float64()
	y, errY := b.Float64()
	return errX == nil && errY == nil && x == y
}

// sortedKeys returns a map's keys in order.
func sortedKeys[V any](d map[string]V) []string {
	keys := make([]string, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
