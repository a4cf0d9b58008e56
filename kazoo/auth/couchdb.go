package kazooauth

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Where Kazoo keeps what the CouchDB source reads (kazoo_auth, kz_auth_keys).
const (
	authDB         = "system_auth"
	systemKeyType  = "system_key"
	keyAttachment  = "private_key.pem"
	systemConfigDB = "system_config"
	authConfigDoc  = "auth"
	maxCouchBody   = 4 << 20
)

// CouchDB reads Kazoo's signing keys and identity secrets from Kazoo's CouchDB with plain
// GETs. It derives each public key from the private key Kazoo stores as the attachment
// private_key.pem of a system_key document in system_auth, and drops the private key at
// once: it is never kept, logged or returned.
type CouchDB struct {
	base       string // without credentials or trailing slash
	user, pass string
	hasAuth    bool
	client     *http.Client
}

// NewCouchDB returns a source reading the CouchDB at rawURL (credentials may be in it).
func NewCouchDB(rawURL string, client *http.Client) (*CouchDB, error) {
	if err := checkCouchURL(rawURL); err != nil {
		return nil, err
	}
	u, _ := url.Parse(rawURL)
	c := &CouchDB{client: client}
	if u.User != nil {
		c.user = u.User.Username()
		c.pass, _ = u.User.Password()
		c.hasAuth = true
		u.User = nil
	}
	c.base = strings.TrimRight(u.String(), "/")
	if c.client == nil {
		c.client = http.DefaultClient
	}
	return c, nil
}

// errNotFound is CouchDB's 404.
var errNotFound = errors.New("not found")

// get reads db/doc[/attachment]?query (each segment escaped whole, so "account/ab/cd/…"
// stays one segment) into w; 404 is errNotFound.
func (c *CouchDB) get(ctx context.Context, w io.Writer, query string, segments ...string) error {
	path := make([]string, len(segments))
	for i, s := range segments {
		path[i] = url.PathEscape(s)
	}
	target := c.base + "/" + strings.Join(path, "/")
	if query != "" {
		target += "?" + query
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return fmt.Errorf("kazooauth: couchdb: %w", err)
	}
	if c.hasAuth {
		req.SetBasicAuth(c.user, c.pass)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is known to the operator and may carry credentials
		}
		return fmt.Errorf("kazooauth: couchdb GET %s: %w", segments[0], err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return errNotFound
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("kazooauth: couchdb GET %s: HTTP %d", segments[0], resp.StatusCode)
	}
	n, err := io.Copy(w, io.LimitReader(resp.Body, maxCouchBody+1))
	if err == nil && n > maxCouchBody {
		err = fmt.Errorf("reply larger than %d bytes", maxCouchBody)
	}
	if err != nil {
		return fmt.Errorf("kazooauth: couchdb GET %s: %w", segments[0], err)
	}
	return nil
}

func (c *CouchDB) getJSON(ctx context.Context, v any, query string, segments ...string) error {
	var buf strings.Builder
	if err := c.get(ctx, &buf, query, segments...); err != nil {
		return err
	}
	if err := json.Unmarshal([]byte(buf.String()), v); err != nil {
		return fmt.Errorf("kazooauth: couchdb GET %s: not JSON", segments[0])
	}
	return nil
}

// PublicKeys lists system_auth and derives the public key of every system_key document
// (GET system_auth/_all_docs?include_docs=true, then each private_key.pem attachment).
func (c *CouchDB) PublicKeys(ctx context.Context) (map[string]*rsa.PublicKey, error) {
	var all struct {
		Rows []struct {
			Doc *struct {
				ID          string                     `json:"_id"`
				Type        string                     `json:"pvt_type"`
				Deleted     bool                       `json:"pvt_deleted"`
				Attachments map[string]json.RawMessage `json:"_attachments"`
			} `json:"doc"`
		} `json:"rows"`
	}
	if err := c.getJSON(ctx, &all, "include_docs=true", authDB, "_all_docs"); err != nil {
		return nil, err
	}
	keys := map[string]*rsa.PublicKey{}
	for _, row := range all.Rows {
		d := row.Doc
		if d == nil || d.Type != systemKeyType || d.Deleted || d.Attachments[keyAttachment] == nil {
			continue
		}
		if checkKID(d.ID) != nil {
			continue
		}
		k, err := c.publicKey(ctx, d.ID)
		if errors.Is(err, errNotFound) {
			continue // removed between the listing and now
		}
		if err != nil {
			return nil, err
		}
		keys[d.ID] = k
	}
	return keys, nil
}

// publicKey reads one private_key.pem and keeps only its public half.
func (c *CouchDB) publicKey(ctx context.Context, kid string) (*rsa.PublicKey, error) {
	var buf strings.Builder
	if err := c.get(ctx, &buf, "", authDB, kid, keyAttachment); err != nil {
		return nil, err
	}
	k, err := publicFromPrivatePEM([]byte(buf.String()))
	if err != nil {
		return nil, fmt.Errorf("kazooauth: couchdb key %s: %w", kid, err)
	}
	return k, nil
}

// publicFromPrivatePEM derives the public key of a PKCS #1 ("RSA PRIVATE KEY", what
// Kazoo writes) or PKCS #8 private key. Errors never quote the key.
func publicFromPrivatePEM(data []byte) (*rsa.PublicKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("attachment is not PEM")
	}
	defer clear(block.Bytes)
	var priv any
	var err error
	switch block.Type {
	case "RSA PRIVATE KEY":
		priv, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "PRIVATE KEY":
		priv, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("attachment holds %q, not an RSA private key", block.Type)
	}
	if err != nil {
		return nil, errors.New("attachment is not a readable private key")
	}
	rk, ok := priv.(*rsa.PrivateKey)
	if !ok {
		return nil, errors.New("attachment is not an RSA key")
	}
	pub := rk.PublicKey
	return checkRSA(&pub)
}

// IdentitySecret reads pvt_signature_secret of identityID in the account's database
// (account/xx/yy/rest, as Kazoo names it).
func (c *CouchDB) IdentitySecret(ctx context.Context, accountID, identityID string) (string, error) {
	if len(accountID) != 32 || identityID == "" || strings.HasPrefix(identityID, "_") || len(identityID) > maxKIDLen {
		return "", ErrNoSecret
	}
	db := "account/" + accountID[:2] + "/" + accountID[2:4] + "/" + accountID[4:]
	var doc struct {
		Secret string `json:"pvt_signature_secret"`
	}
	err := c.getJSON(ctx, &doc, "", db, identityID)
	if errors.Is(err, errNotFound) || (err == nil && doc.Secret == "") {
		return "", ErrNoSecret
	}
	return doc.Secret, err
}

// SystemSecret reads secret_for_user_signature from the default section of Kazoo's
// system_config/auth.
func (c *CouchDB) SystemSecret(ctx context.Context) (string, error) {
	var doc struct {
		Default struct {
			Secret string `json:"secret_for_user_signature"`
		} `json:"default"`
	}
	err := c.getJSON(ctx, &doc, "", systemConfigDB, authConfigDoc)
	if errors.Is(err, errNotFound) || (err == nil && doc.Default.Secret == "") {
		return "", ErrNoSecret
	}
	return doc.Default.Secret, err
}
