package httpapi

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/config"
	"github.com/knmproject/knm/manager"
)

// authInfo is the caller of a request, resolved from its X-Auth-Token.
type authInfo struct {
	account *knm.Account
	token   string
	kind    string // authKindKnm or authKindKazoo
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
	bad := invalidCredentials("the X-Auth-Token is malformed, forged or expired")
	p, s, ok := strings.Cut(token, ".")
	if !ok {
		return "", bad
	}
	enc := base64.RawURLEncoding.Strict() // one spelling per token: no other padding bits
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

// authCategory is the system_config category holding the API's own settings.
const authCategory = "knm.auth"

// TokenSecret returns the token signing secret from system_config knm.auth token_secret,
// creating a random one on the first start. The key name contains "secret", so every
// reader of system_config (CLI, API) shows it redacted.
func TokenSecret(ctx context.Context, cfg *config.Config) ([]byte, error) {
	raw, err := cfg.Lookup(ctx, authCategory, []string{"token_secret"}, nil)
	if err != nil {
		return nil, fmt.Errorf("httpapi: read token secret: %w", err)
	}
	if raw == nil {
		var b [32]byte
		rand.Read(b[:])
		v, _ := json.Marshal(hex.EncodeToString(b[:]))
		// Lookup writes the default back; a second instance starting at the same moment may
		// win that write, so the value is read again and whatever is stored is used.
		if _, err := cfg.Lookup(ctx, authCategory, []string{"token_secret"}, v); err != nil {
			return nil, fmt.Errorf("httpapi: store token secret: %w", err)
		}
		if raw, err = cfg.Lookup(ctx, authCategory, []string{"token_secret"}, nil); err != nil {
			return nil, fmt.Errorf("httpapi: read token secret: %w", err)
		}
	}
	var secret string
	if err := json.Unmarshal(raw, &secret); err != nil || len(secret) < 16 {
		return nil, knm.Errorf(knm.ErrInvalid,
			"system_config knm.auth token_secret must be a string of at least 16 characters")
	}
	return []byte(secret), nil
}

// MinMasterKeyLen is the shortest master API key EnsureMaster accepts.
const MinMasterKeyLen = 16

// MasterAccount is what EnsureMaster found or made.
type MasterAccount struct {
	ID string
	// GeneratedKey is the new master API key when EnsureMaster had to make one; it exists
	// nowhere else and must be shown to the operator once.
	GeneratedKey string
}

// EnsureMaster makes sure the master account exists: a root, superduper admin account
// named "master", whose id is kept in system_config knm.auth master_account_id, holding the
// SHA-256 hash of the master API key (never the key).
//
// With key set (KNM_MASTER_API_KEY) the stored hash is made to match it; a key shorter
// than MinMasterKeyLen characters is refused (invalid) before anything is written, as a
// short master key is guessable. With key empty, an existing master keeps its key; a new
// master gets a generated key, returned once in GeneratedKey.
func EnsureMaster(ctx context.Context, s knm.Store, cfg *config.Config, key string) (MasterAccount, error) {
	if key != "" && utf8.RuneCountInString(key) < MinMasterKeyLen {
		return MasterAccount{}, knm.Errorf(knm.ErrInvalid, "KNM_MASTER_API_KEY must be at least %d characters",
			MinMasterKeyLen).WithCause("KNM_MASTER_API_KEY")
	}
	setter, ok := s.(manager.APIKeyHashSetter)
	if !ok {
		return MasterAccount{}, errors.New("httpapi: the store cannot hold API key hashes")
	}
	var id string
	raw, err := cfg.Lookup(ctx, authCategory, []string{"master_account_id"}, nil)
	if err != nil {
		return MasterAccount{}, err
	}
	if raw != nil {
		json.Unmarshal(raw, &id)
	}
	var out MasterAccount
	if id != "" {
		if _, err := s.GetAccount(ctx, id); err != nil {
			return MasterAccount{}, fmt.Errorf("httpapi: master account %s: %w", id, err)
		}
	} else {
		now := time.Now().UTC()
		acc := &knm.Account{ID: knm.NewAccountID(), Name: "master", SuperduperAdmin: true, Reseller: true,
			Enabled: true, Created: now, Modified: now}
		acc.ResellerID = acc.ID
		if err := s.CreateAccount(ctx, acc); err != nil {
			return MasterAccount{}, fmt.Errorf("httpapi: create master account: %w", err)
		}
		v, _ := json.Marshal(acc.ID)
		if err := cfg.Set(ctx, authCategory, "master_account_id", v, ""); err != nil {
			return MasterAccount{}, err
		}
		id = acc.ID
		if key == "" {
			key = manager.NewAPIKey()
			out.GeneratedKey = key
		}
	}
	out.ID = id
	if key != "" {
		if err := setter.SetAccountAPIKeyHash(ctx, id, manager.HashAPIKey(key)); err != nil {
			return MasterAccount{}, fmt.Errorf("httpapi: store master API key hash: %w", err)
		}
	}
	return out, nil
}

// authenticate resolves the X-Auth-Token of r: nil without a token, an unauthorized error
// for a bad, expired or orphaned one. The account is read on every request so a disabled
// or removed account loses access at once, on every instance.
func (s *Server) authenticate(r *http.Request) (*authInfo, error) {
	tok := r.Header.Get("X-Auth-Token")
	if tok == "" {
		return nil, nil
	}
	if tokenKind(tok) == authKindKazoo {
		return s.authenticateKazoo(r, tok)
	}
	id, err := s.signer.verify(tok)
	if err != nil {
		return nil, err
	}
	acc, err := s.store.GetAccount(r.Context(), id)
	if knm.IsErrorName(err, knm.ErrNotFound) || (err == nil && !acc.Enabled) {
		return nil, invalidCredentials("the account of this token is gone or disabled")
	}
	if err != nil {
		return nil, err
	}
	return &authInfo{account: acc, token: tok, kind: authKindKnm}, nil
}

// apiAuth is PUT /v2/api_auth {"data":{"api_key":…}}: a valid key gets a signed token.
func (s *Server) apiAuth(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		APIKey string `json:"api_key"`
	}
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	acc, err := s.mgr.AccountByAPIKey(r.Context(), req.APIKey)
	if knm.IsErrorName(err, knm.ErrUnauthorized) {
		return invalidCredentials("unknown api_key") // crossbar's answer to a bad key
	}
	if err != nil {
		return err
	}
	tok, exp := s.signer.issue(acc.ID)
	r = r.WithContext(withAuth(r.Context(), &authInfo{account: acc, token: tok}))
	s.writeData(w, r, http.StatusCreated, map[string]any{
		"auth_token":          tok,
		"account_id":          acc.ID,
		"account_name":        acc.Name,
		"reseller_id":         acc.ResellerID,
		"is_reseller":         acc.Reseller,
		"is_superduper_admin": acc.SuperduperAdmin,
		"expires_at":          exp.UTC().Format(time.RFC3339),
	})
	return nil
}

// caller returns the authenticated account of r (routes with authRequired always have one).
func caller(r *http.Request) *knm.Account {
	if a := authOf(r); a != nil {
		return a.account
	}
	return nil
}

// scopedAccount loads the {account_id} of the path and checks that the caller may act on
// it: the caller itself, one of its descendants (a reseller acts on its sub-accounts), or
// anything for a superduper admin. A non-admin gets 403 for any account outside its tree,
// existing or not, so account ids cannot be probed.
func (s *Server) scopedAccount(r *http.Request) (*knm.Account, error) {
	return s.mgr.ScopedAccount(r.Context(), caller(r), r.PathValue("account_id"))
}

// requireMaster refuses callers that are not superduper admins.
func requireMaster(r *http.Request) error {
	if me := caller(r); me == nil || !me.SuperduperAdmin {
		return knm.Forbidden("master account only")
	}
	return nil
}
