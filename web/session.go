package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Cookie names.
const (
	sessionCookie = "knm_session"
	// preCookie binds the CSRF token of the sign-in form before there is a session.
	preCookie = "knm_pre"
)

// Sessions are signed cookies, not server-side rows: every knm instance sharing the
// database shares the signing secret (system_config knm.auth token_secret), so a session
// opened on one instance is valid on all of them, and nothing has to be cleaned up. The
// cookie holds account "|" expiry "|" session id, and an HMAC-SHA256 of that under a key
// derived for the console alone, so an API token is never a valid session nor the reverse.
// The account is read on every request, so a disabled account loses access at once.
// Signing out deletes the cookie; a copy taken before stays valid until it expires, which
// is why sessions are short (DefaultSessionTTL).
type sessions struct {
	key     []byte // signs cookies
	csrfKey []byte // derives CSRF tokens from session ids
	ttl     time.Duration
	now     func() time.Time
}

// session is a signed-in browser.
type session struct {
	AccountID string
	Expires   time.Time
	ID        string // random; CSRF tokens are bound to it
}

func newSessions(secret []byte, ttl time.Duration, now func() time.Time) *sessions {
	derive := func(purpose string) []byte {
		m := hmac.New(sha256.New, secret)
		m.Write([]byte(purpose))
		return m.Sum(nil)
	}
	return &sessions{key: derive("knm web session v1"), csrfKey: derive("knm web csrf v1"), ttl: ttl, now: now}
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func (s *sessions) sign(payload string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(payload))
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(payload)) + "." + enc.EncodeToString(m.Sum(nil))
}

// open starts a session for account and sets its cookie.
func (s *sessions) open(w http.ResponseWriter, r *http.Request, accountID string) session {
	se := session{AccountID: accountID, Expires: s.now().Add(s.ttl).Truncate(time.Second), ID: randomHex(16)}
	payload := se.AccountID + "|" + strconv.FormatInt(se.Expires.Unix(), 10) + "|" + se.ID
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: s.sign(payload), Path: "/", Expires: se.Expires, MaxAge: int(s.ttl.Seconds()),
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode,
	})
	return se
}

// read returns the session of r, or false when there is none or it is forged or expired.
func (s *sessions) read(r *http.Request) (session, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return session{}, false
	}
	p, sig, ok := strings.Cut(c.Value, ".")
	enc := base64.RawURLEncoding.Strict() // one spelling per cookie: no other padding bits
	payload, err1 := enc.DecodeString(p)
	mac, err2 := enc.DecodeString(sig)
	if !ok || err1 != nil || err2 != nil {
		return session{}, false
	}
	m := hmac.New(sha256.New, s.key)
	m.Write(payload)
	if !hmac.Equal(mac, m.Sum(nil)) {
		return session{}, false
	}
	parts := strings.Split(string(payload), "|")
	if len(parts) != 3 {
		return session{}, false
	}
	exp, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || s.now().Unix() >= exp {
		return session{}, false
	}
	return session{AccountID: parts[0], Expires: time.Unix(exp, 0), ID: parts[2]}, true
}

// close deletes the session cookie.
func (s *sessions) close(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
}

// csrfToken is the token every state-changing form of a session (or of a pre-session,
// the sign-in form) carries: an HMAC of its id, so it needs no storage.
func (s *sessions) csrfToken(id string) string {
	m := hmac.New(sha256.New, s.csrfKey)
	m.Write([]byte(id))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// checkCSRF reports whether the form's csrf field is the token of id.
func (s *sessions) checkCSRF(r *http.Request, id string) bool {
	got := r.PostFormValue("csrf")
	return id != "" && got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(s.csrfToken(id))) == 1
}

// preSession returns the id the sign-in form's CSRF token is bound to, setting its
// cookie when the browser has none yet.
func (s *sessions) preSession(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(preCookie); err == nil && len(c.Value) == 32 {
		return c.Value
	}
	id := randomHex(16)
	http.SetCookie(w, &http.Cookie{Name: preCookie, Value: id, Path: "/", MaxAge: 3600,
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	return id
}
