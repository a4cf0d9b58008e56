package kazooauth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"sync"
	"time"
)

// ErrNoSecret is what a SecretSource returns when the identity, or its secret, does not
// exist: the signature cannot be checked, which is not a failure of the source.
var ErrNoSecret = errors.New("kazooauth: no identity secret")

// SecretSource reads the two halves of the key of Kazoo's identity signature.
type SecretSource interface {
	// IdentitySecret returns pvt_signature_secret of the document identityID (a user, a
	// device or the account itself) in the account's database; ErrNoSecret when the
	// document or its secret is missing.
	IdentitySecret(ctx context.Context, accountID, identityID string) (string, error)
	// SystemSecret returns Kazoo's system_config auth secret_for_user_signature;
	// ErrNoSecret when it is not set.
	SystemSecret(ctx context.Context) (string, error)
}

// Identity returns whose id Kazoo signs in identity_sig: the device, else the user (the
// owner), else the account, as kz_auth_identity chooses.
func (c Claims) Identity() string {
	switch {
	case c.DeviceID != "":
		return c.DeviceID
	case c.OwnerID != "":
		return c.OwnerID
	}
	return c.AccountID
}

// IdentitySignature is Kazoo's identity_sig for an identity: base64url without padding of
// HMAC-SHA256(identitySecret followed by systemSecret, identity).
func IdentitySignature(identity, identitySecret, systemSecret string) string {
	mac := hmac.New(sha256.New, []byte(identitySecret+systemSecret))
	mac.Write([]byte(identity))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// identityMatches compares a token's identity_sig with the expected one in constant time.
// Kazoo decodes base64url with or without padding, so both are accepted.
func identityMatches(sig, identity, identitySecret, systemSecret string) bool {
	got, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(sig, "="))
	if err != nil {
		return false
	}
	want, _ := base64.RawURLEncoding.DecodeString(IdentitySignature(identity, identitySecret, systemSecret))
	return hmac.Equal(got, want)
}

// maxCachedSecrets bounds the identity secrets kept; when full the cache starts again.
const maxCachedSecrets = 10000

// secretCache keeps identity secrets for a refresh interval, so a busy client does not
// cost a CouchDB read per request, and a secret Kazoo resets (to log a user out
// everywhere) stops matching within the interval.
type secretCache struct {
	mu      sync.Mutex
	entries map[string]cachedSecret
}

type cachedSecret struct {
	value   string
	fetched time.Time
}

func (c *secretCache) get(key string, now time.Time, ttl time.Duration) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || now.Sub(e.fetched) >= ttl || now.Before(e.fetched) {
		return "", false
	}
	return e.value, true
}

func (c *secretCache) put(key, value string, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil || len(c.entries) >= maxCachedSecrets {
		c.entries = make(map[string]cachedSecret)
	}
	c.entries[key] = cachedSecret{value: value, fetched: now}
}

// secretsFor returns the identity and system secrets of the claims' identity, from the
// settings (the system secret, when configured), the cache or the source.
func (v *Verifier) secretsFor(ctx context.Context, snap *snapshot, c Claims) (identity, system string, err error) {
	now := v.now()
	system = snap.settings.SignatureSecret
	if system == "" {
		if system, err = v.cachedSecret(snap, "\x00system", now, func() (string, error) {
			return snap.secrets.SystemSecret(ctx)
		}); err != nil {
			return "", "", err
		}
	}
	key := c.AccountID + "/" + c.Identity()
	identity, err = v.cachedSecret(snap, key, now, func() (string, error) {
		return snap.secrets.IdentitySecret(ctx, c.AccountID, c.Identity())
	})
	return identity, system, err
}

func (v *Verifier) cachedSecret(snap *snapshot, key string, now time.Time,
	fetch func() (string, error)) (string, error) {
	if s, ok := v.secrets.get(key, now, snap.settings.RefreshInterval); ok {
		return s, nil
	}
	s, err := fetch()
	if err == nil && s == "" {
		err = ErrNoSecret
	}
	if err != nil {
		return "", err
	}
	v.secrets.put(key, s, now)
	return s, nil
}
