// Package kazooauth verifies the auth tokens Kazoo's crossbar issues, so a client signed in
// to Kazoo (Monster UI and the apps built on it) can call knm with the same X-Auth-Token.
//
// A Kazoo 4.x token is a JWT signed with RS256, RS384 or RS512 by a key whose id is the
// token's kid; its payload names the account (account_id), usually the user (owner_id),
// the issuer ("kazoo"), the expiry (exp) and an identity signature (identity_sig): an
// HMAC-SHA256 of the user's (or device's, or account's) id keyed with that document's
// pvt_signature_secret followed by Kazoo's system secret_for_user_signature. Verifier
// checks all of it and returns the claims; the caller maps account_id onto its account.
package kazooauth

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/config"
)

// Category is the system_config category of these settings.
const Category = "kazoo_auth"

// IdentityMode says when the identity signature of a token is checked.
type IdentityMode string

// Identity modes.
const (
	// IdentityRequired refuses a token whose identity signature cannot be checked.
	IdentityRequired IdentityMode = "required"
	// IdentityWhenAvailable checks the signature when knm can read the secrets.
	IdentityWhenAvailable IdentityMode = "when_available"
	// IdentityOff never checks it.
	IdentityOff IdentityMode = "off"
)

// Limits of the settings.
const (
	MaxClockSkew       = 5 * time.Minute
	MinRefreshInterval = time.Second
	MaxRefreshInterval = 24 * time.Hour
	// MinKeyBits is the smallest RSA key trusted; Kazoo makes 2048-bit keys.
	MinKeyBits = 2048
)

// Settings are the kazoo_auth settings.
type Settings struct {
	// PublicKeys are the keys trusted for tokens, by kid (public_keys_pem: {kid: PEM}).
	PublicKeys map[string]*rsa.PublicKey
	// Identity is identity_signature: required, when_available (default) or off.
	Identity IdentityMode
	// ClockSkew is clock_skew_s (30): how far exp and iat may be off knm's clock.
	ClockSkew time.Duration
	// RefreshInterval is refresh_interval_s (300): how long keys and secrets are cached,
	// and how often an unknown kid may make knm look for keys again.
	RefreshInterval time.Duration
	// CouchDBURL is couchdb_url: Kazoo's CouchDB, read for its signing keys and identity
	// secrets; "" reads nothing. Credentials in it are redacted on read.
	CouchDBURL string
	// SignatureSecret is secret_for_user_signature, Kazoo's system half of the identity
	// signature key (system_config auth); "" reads it from CouchDB. Redacted on read.
	SignatureSecret string
}

// String shows the settings without secrets.
func (s Settings) String() string {
	kids := make([]string, 0, len(s.PublicKeys))
	for kid := range s.PublicKeys {
		kids = append(kids, kid)
	}
	sort.Strings(kids)
	couch := ""
	if u, err := url.Parse(s.CouchDBURL); err == nil && s.CouchDBURL != "" {
		couch = u.Redacted()
	}
	return fmt.Sprintf("kazoo_auth{kids=%v identity=%s skew=%s refresh=%s couchdb=%q signature_secret_set=%t}",
		kids, s.Identity, s.ClockSkew, s.RefreshInterval, couch, s.SignatureSecret != "")
}

func init() {
	config.RegisterValidator(Category, func(ctx context.Context, c *config.Config) error {
		_, err := Load(ctx, c)
		return err
	})
}

// Load reads the kazoo_auth category, writing back missing defaults as every category
// does, and validates it; every problem is reported in one knm invalid error that never
// quotes a secret or a key.
func Load(ctx context.Context, c *config.Config) (Settings, error) {
	var s Settings
	var problems []string
	note := func(err error) {
		if err != nil {
			problems = append(problems, strings.TrimPrefix(err.Error(), "config: "+Category+" "))
		}
	}
	pems, err := c.GetObject(ctx, Category, "public_keys_pem", json.RawMessage(`{}`))
	note(err)
	if err == nil {
		s.PublicKeys, err = parsePublicKeys(pems)
		note(err)
	}
	mode, err := c.GetString(ctx, Category, "identity_signature", string(IdentityWhenAvailable))
	note(err)
	s.Identity = IdentityMode(mode)
	if err == nil && s.Identity != IdentityRequired && s.Identity != IdentityWhenAvailable && s.Identity != IdentityOff {
		problems = append(problems, "identity_signature must be required, when_available or off")
	}
	skew, err := c.GetInt(ctx, Category, "clock_skew_s", 30)
	note(err)
	s.ClockSkew = time.Duration(skew) * time.Second
	if err == nil && (s.ClockSkew < 0 || s.ClockSkew > MaxClockSkew) {
		problems = append(problems, fmt.Sprintf("clock_skew_s must be 0 to %d", int(MaxClockSkew/time.Second)))
	}
	refresh, err := c.GetInt(ctx, Category, "refresh_interval_s", 300)
	note(err)
	s.RefreshInterval = time.Duration(refresh) * time.Second
	if err == nil && (s.RefreshInterval < MinRefreshInterval || s.RefreshInterval > MaxRefreshInterval) {
		problems = append(problems, fmt.Sprintf("refresh_interval_s must be 1 to %d", int(MaxRefreshInterval/time.Second)))
	}
	s.CouchDBURL, err = c.GetString(ctx, Category, "couchdb_url", "")
	note(err)
	if err == nil && s.CouchDBURL != "" {
		note(checkCouchURL(s.CouchDBURL))
	}
	s.SignatureSecret, err = c.GetString(ctx, Category, "secret_for_user_signature", "")
	note(err)
	if len(problems) > 0 {
		return Settings{}, knm.Errorf(knm.ErrInvalid, "invalid %s: %s", Category, strings.Join(problems, "; "))
	}
	return s, nil
}

// checkCouchURL accepts an absolute http or https URL without query or fragment.
func checkCouchURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("couchdb_url must be an http or https URL")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("couchdb_url must not have a query or fragment")
	}
	return nil
}

// parsePublicKeys reads {kid: PEM}. A private key is refused (knm must never hold one),
// and so is anything that is not an RSA public key of at least MinKeyBits bits.
func parsePublicKeys(raw json.RawMessage) (map[string]*rsa.PublicKey, error) {
	var pems map[string]string
	if err := json.Unmarshal(raw, &pems); err != nil {
		return nil, fmt.Errorf("public_keys_pem must be an object of kid to PEM strings")
	}
	keys := make(map[string]*rsa.PublicKey, len(pems))
	var bad []string
	for kid, p := range pems {
		if err := checkKID(kid); err != nil {
			bad = append(bad, err.Error())
			continue
		}
		k, err := ParsePublicKeyPEM([]byte(p))
		if err != nil {
			bad = append(bad, fmt.Sprintf("public_keys_pem %q: %v", kid, err))
			continue
		}
		keys[kid] = k
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		return nil, fmt.Errorf("%s", strings.Join(bad, "; "))
	}
	return keys, nil
}

// maxKIDLen bounds a key id; Kazoo's are 32 hexadecimal characters.
const maxKIDLen = 128

func checkKID(kid string) error {
	if kid == "" || len(kid) > maxKIDLen {
		return fmt.Errorf("public_keys_pem: a kid must be 1 to %d characters", maxKIDLen)
	}
	return nil
}

// ParsePublicKeyPEM reads an RSA public key from PEM: "PUBLIC KEY" (PKIX), "RSA PUBLIC
// KEY" (PKCS #1, what Erlang's public_key writes) or a "CERTIFICATE". Private keys are
// refused without being decoded further.
func ParsePublicKeyPEM(data []byte) (*rsa.PublicKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("not PEM")
	}
	var pub any
	var err error
	switch {
	case strings.Contains(block.Type, "PRIVATE"):
		return nil, fmt.Errorf("holds a private key; give only the public key")
	case block.Type == "PUBLIC KEY":
		pub, err = x509.ParsePKIXPublicKey(block.Bytes)
	case block.Type == "RSA PUBLIC KEY":
		pub, err = x509.ParsePKCS1PublicKey(block.Bytes)
	case block.Type == "CERTIFICATE":
		var cert *x509.Certificate
		if cert, err = x509.ParseCertificate(block.Bytes); err == nil {
			pub = cert.PublicKey
		}
	default:
		return nil, fmt.Errorf("PEM type %q is not a public key", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("unreadable %s", block.Type)
	}
	return checkRSA(pub)
}

func checkRSA(pub any) (*rsa.PublicKey, error) {
	k, ok := pub.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("not an RSA key")
	}
	if k.N.BitLen() < MinKeyBits {
		return nil, fmt.Errorf("RSA key of %d bits; at least %d are required", k.N.BitLen(), MinKeyBits)
	}
	return k, nil
}
