package httpapi

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/knmproject/knm"
)

// HashAPIKey returns the hash under which an account's API key is stored: the key itself
// is never stored, so a leaked database does not leak working credentials.
func HashAPIKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// authInfo is the caller of a request, resolved from its X-Auth-Token.
type authInfo struct {
	account *knm.Account
	token   string
}

func authOf(r *http.Request) *authInfo {
	a, _ := r.Context().Value(authKey).(*authInfo)
	return a
}

func withAuth(ctx context.Context, a *authInfo) context.Context {
	return context.WithValue(ctx, authKey, a)
}

// Tokens are stateless and signed, so any knm instance sharing the database (and so the
// signing secret) accepts a token issued by another: base64url(account "." expiry) "."
// base64url(HMAC-SHA256(secret, that payload)).
type tokenSigner struct {
	secret []byte
	ttl    time.Duration
	now    func() time.Time
}

func (t tokenSigner) issue(accountID string) (string, time.Time) {
	exp := t.now().Add(t.ttl).Truncate(time.Second)
	payload := accountID + "." + strconv.FormatInt(exp.Unix(), 10)
	mac := hmac.New(sha256.New, t.secret)
	mac.Write([]byte(payload))
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(payload)) + "." + enc.EncodeToString(mac.Sum(nil)), exp
}

// verify returns the account id of a valid, unexpired token.
func (t tokenSigner) verify(token string) (string, error) {
	bad := knm.Errorf(knm.ErrUnauthorized, "invalid credentials").WithCause("the X-Auth-Token is malformed, forged or expired")
	p, s, ok := strings.Cut(token, ".")
	if !ok {
		return "", bad
	}
	enc := base64.RawURLEncoding
	payload, err1 := enc.DecodeString(p)
	sig, err2 := enc.DecodeString(s)
	if err1 != nil || err2 != nil {
		return "", bad
	}
	mac := hmac.New(sha256.New, t.secret)
	mac.Write(payload)
	if !hmac.Equal(sig, mac.Sum(nil)) {
		return "", bad
	}
	id, expS, ok := strings.Cut(string(payload), ".")
	exp, err := strconv.ParseInt(expS, 10, 64)
	if !ok || err != nil || t.now().Unix() >= exp {
		return "", bad
	}
	return id, nil
}
