package web

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/config"
)

// Cookie names.
const (
	sessionCookie = "knm_session"
	// preCookie binds the CSRF token of the sign-in form before there is a session.
	preCookie = "knm_pre"
)

// sessions are cookies holding account|expiry|id|generation with an HMAC-SHA256 under a
// secret kept in system_config (knm.auth console_session_secret), so every instance sharing
// the database accepts them and nothing is stored per session. Every request checks the
// account (gone or disabled), its knm.web sessions_generation (moved on by "sign out
// everywhere") and the secret (replaced by key rotation, re-read at most keyRefresh apart).
type sessions struct {
	cfg    *config.Config
	store  knm.ConfigStore
	ttl    time.Duration
	now    func() time.Time
	logger *slog.Logger

	mu      sync.Mutex
	keys    *sessionKeys
	checked time.Time // when keys were last read from the database
}

// sessionKeys are the keys derived from one console session secret.
type sessionKeys struct {
	secret  string
	sign    []byte // signs cookies
	csrfKey []byte // derives CSRF tokens from session ids
}

// keyRefresh bounds how long an instance keeps signing with a secret another instance
// has rotated.
const keyRefresh = time.Second

// Where the session settings are kept.
const (
	authCategory          = "knm.auth"
	sessionSecretKey      = "console_session_secret"
	webCategory           = "knm.web"
	sessionsGenerationKey = "sessions_generation"
)

// session is a signed-in browser.
type session struct {
	AccountID string
	Expires   time.Time
	ID        string // random; CSRF tokens are bound to it
	Gen       int64  // the account's session generation when it was opened
}

// newSessions reads the console session secret, creating it on the first start.
func newSessions(ctx context.Context, cfg *config.Config, store knm.ConfigStore, ttl time.Duration,
	now func() time.Time, logger *slog.Logger) (*sessions, error) {
	s := &sessions{cfg: cfg, store: store, ttl: ttl, now: now, logger: logger}
	k, err := s.readKeys(ctx)
	if err != nil {
		return nil, err
	}
	s.keys, s.checked = k, now()
	return s, nil
}

func deriveKeys(secret string) *sessionKeys {
	derive := func(purpose string) []byte {
		m := hmac.New(sha256.New, []byte(secret))
		m.Write([]byte(purpose))
		return m.Sum(nil)
	}
	return &sessionKeys{secret: secret, sign: derive("knm web session v1"), csrfKey: derive("knm web csrf v1")}
}

// readKeys reads the secret from system_config, writing a random one when there is none.
// Two instances starting at once may both write: whatever is stored last is read back.
func (s *sessions) readKeys(ctx context.Context) (*sessionKeys, error) {
	raw, err := s.cfg.Lookup(ctx, authCategory, []string{sessionSecretKey}, nil)
	if err != nil {
		return nil, fmt.Errorf("web: read the console session secret: %w", err)
	}
	if raw == nil {
		if _, err := s.cfg.Lookup(ctx, authCategory, []string{sessionSecretKey}, newSecret()); err != nil {
			return nil, fmt.Errorf("web: store the console session secret: %w", err)
		}
		if raw, err = s.cfg.Lookup(ctx, authCategory, []string{sessionSecretKey}, nil); err != nil {
			return nil, fmt.Errorf("web: read the console session secret: %w", err)
		}
	}
	var secret string
	if err := json.Unmarshal(raw, &secret); err != nil || len(secret) < 16 {
		return nil, knm.Errorf(knm.ErrInvalid,
			"system_config knm.auth %s must be a string of at least 16 characters", sessionSecretKey)
	}
	return deriveKeys(secret), nil
}

func newSecret() json.RawMessage {
	v, _ := json.Marshal(randomHex(32))
	return v
}

// current returns the keys in use, re-read from the database when keyRefresh has passed.
// One request re-reads them while the others go on with the keys held, and when the
// database cannot be read the keys held go on serving until the next refresh.
func (s *sessions) current(ctx context.Context) *sessionKeys {
	s.mu.Lock()
	k, now := s.keys, s.now()
	stale := now.Sub(s.checked) >= keyRefresh || now.Before(s.checked)
	if stale {
		s.checked = now
	}
	s.mu.Unlock()
	if !stale {
		return k
	}
	return s.reload(ctx)
}

// reload reads the secret now and keeps it.
func (s *sessions) reload(ctx context.Context) *sessionKeys {
	k, err := s.readKeys(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.logger.WarnContext(ctx, "web: console session secret not re-read; keeping the one held", "error", err)
		return s.keys
	}
	if k.secret != s.keys.secret {
		s.keys = k
	}
	return s.keys
}

// rotate replaces the secret: every session of every account ends, on this instance at
// once and on the others within keyRefresh.
func (s *sessions) rotate(ctx context.Context) error {
	if err := s.cfg.Set(ctx, authCategory, sessionSecretKey, newSecret(), ""); err != nil {
		return err
	}
	k, err := s.readKeys(ctx)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys, s.checked = k, s.now()
	return nil
}

// endAll voids every session of account opened until now (sign out everywhere).
func (s *sessions) endAll(ctx context.Context, accountID string) error {
	gen, err := s.generation(ctx, accountID)
	if err != nil {
		return err
	}
	v, _ := json.Marshal(gen + 1)
	return s.cfg.AccountSet(ctx, accountID, webCategory, sessionsGenerationKey, v)
}

// generation returns the account's session generation: 0 until it first signs out
// everywhere. It is read from the account's own document only (no system-wide default).
func (s *sessions) generation(ctx context.Context, accountID string) (int64, error) {
	doc, err := s.store.GetConfig(ctx, accountID, webCategory)
	if knm.IsErrorName(err, knm.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var body map[string]json.RawMessage
	var gen int64
	if json.Unmarshal(doc.Body, &body) != nil || json.Unmarshal(body[sessionsGenerationKey], &gen) != nil {
		return 0, nil // the account never signed out everywhere
	}
	return gen, nil
}

// revoked reports whether se was opened before its account last signed out everywhere.
func (s *sessions) revoked(ctx context.Context, se session) (bool, error) {
	gen, err := s.generation(ctx, se.AccountID)
	return se.Gen != gen, err
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func (s *sessions) sign(k *sessionKeys, payload string) string {
	m := hmac.New(sha256.New, k.sign)
	m.Write([]byte(payload))
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(payload)) + "." + enc.EncodeToString(m.Sum(nil))
}

// open starts a session for account and sets its cookie.
func (s *sessions) open(w http.ResponseWriter, r *http.Request, accountID string) (session, error) {
	gen, err := s.generation(r.Context(), accountID)
	if err != nil {
		return session{}, err
	}
	se := session{AccountID: accountID, Expires: s.now().Add(s.ttl).Truncate(time.Second), ID: randomHex(16),
		Gen: gen}
	payload := se.AccountID + "|" + strconv.FormatInt(se.Expires.Unix(), 10) + "|" + se.ID + "|" +
		strconv.FormatInt(se.Gen, 10)
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: s.sign(s.current(r.Context()), payload), Path: "/", Expires: se.Expires,
		MaxAge: int(s.ttl.Seconds()), HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode,
	})
	return se, nil
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
	m := hmac.New(sha256.New, s.current(r.Context()).sign)
	m.Write(payload)
	if !hmac.Equal(mac, m.Sum(nil)) {
		return session{}, false
	}
	parts := strings.Split(string(payload), "|")
	if len(parts) != 4 {
		return session{}, false
	}
	exp, err1 := strconv.ParseInt(parts[1], 10, 64)
	gen, err2 := strconv.ParseInt(parts[3], 10, 64)
	if err1 != nil || err2 != nil || s.now().Unix() >= exp {
		return session{}, false
	}
	return session{AccountID: parts[0], Expires: time.Unix(exp, 0), ID: parts[2], Gen: gen}, true
}

// close deletes the session cookie.
func (s *sessions) close(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
}

// csrfToken is the token every state-changing form of a session (or of a pre-session,
// the sign-in form) carries: an HMAC of its id, so it needs no storage.
func (s *sessions) csrfToken(ctx context.Context, id string) string {
	m := hmac.New(sha256.New, s.current(ctx).csrfKey)
	m.Write([]byte(id))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// checkCSRF reports whether the form's csrf field is the token of id.
func (s *sessions) checkCSRF(r *http.Request, id string) bool {
	got := r.PostFormValue("csrf")
	return id != "" && got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(s.csrfToken(r.Context(), id))) == 1
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
