package kazooauth_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/knmproject/knm"
	kazooauth "github.com/knmproject/knm/kazoo/auth"
	"github.com/knmproject/knm/kazoo/auth/kazootest"
)

// secrets is a SecretSource over maps, for the identity modes; CouchDB, the real source,
// is exercised in couchdb_test.go.
type secrets struct {
	mu       sync.Mutex
	identity map[string]string // account/identity -> pvt_signature_secret
	system   string
	down     bool
}

func (s *secrets) IdentitySecret(_ context.Context, account, identity string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		return "", errors.New("couchdb unreachable")
	}
	if v, ok := s.identity[account+"/"+identity]; ok {
		return v, nil
	}
	return "", kazooauth.ErrNoSecret
}

func (s *secrets) SystemSecret(context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		return "", errors.New("couchdb unreachable")
	}
	if s.system == "" {
		return "", kazooauth.ErrNoSecret
	}
	return s.system, nil
}

func TestIdentitySignatureModes(t *testing.T) {
	src := &secrets{identity: map[string]string{}, system: kazootest.RandHex(16)}
	e := newEnv(t, kazooauth.Options{Secrets: src})
	acc, user, userSecret := knm.NewAccountID(), kazootest.RandHex(16), kazootest.RandHex(16)
	src.identity[acc+"/"+user] = userSecret
	mint := func(identitySecret, systemSecret string) string {
		return e.token(e.key, func(tok *kazootest.Token) {
			tok.AccountID, tok.OwnerID, tok.IdentitySecret, tok.SystemSecret = acc, user, identitySecret, systemSecret
		})
	}
	good := mint(userSecret, src.system)
	badUser := mint(kazootest.RandHex(16), src.system)
	badSystem := mint(userSecret, kazootest.RandHex(16))
	unsigned := mint("", "")
	stranger := e.token(e.key, func(tok *kazootest.Token) { tok.IdentitySecret, tok.SystemSecret = "x", src.system })

	e.set("identity_signature", "required")
	e.wantAccepted(good, "required, good signature")
	for name, tok := range map[string]string{"wrong user secret": badUser, "wrong system secret": badSystem,
		"no identity_sig": unsigned, "identity whose secret cannot be read": stranger} {
		e.wantRefused(tok, "required, "+name)
	}

	e.set("identity_signature", "when_available")
	e.clock.Add(5 * time.Minute) // past the refresh interval: settings read again
	e.wantAccepted(good, "when_available, good signature")
	e.wantRefused(badUser, "when_available with the secrets at hand, bad signature")
	e.wantRefused(unsigned, "when_available with the secrets at hand, no signature")
	e.wantAccepted(stranger, "when_available, secret missing: not checkable")

	e.set("identity_signature", "off")
	e.clock.Add(5 * time.Minute)
	e.wantAccepted(badUser, "off")

	// The system half may be configured instead of read.
	e.set("identity_signature", "required")
	e.set("secret_for_user_signature", "configured-system-half")
	e.clock.Add(5 * time.Minute)
	e.wantRefused(good, "required, signed with the other system secret")
	e.wantAccepted(mint(userSecret, "configured-system-half"), "required, configured system secret")

	// A source that fails: required answers unavailable (not a refusal of the user).
	src.mu.Lock()
	src.down = true
	src.mu.Unlock()
	e.clock.Add(5 * time.Minute) // cached secrets expire with the interval
	if _, err := e.v.Verify(e.ctx, good); !knm.IsErrorName(err, knm.ErrUnavailable) {
		t.Fatalf("required, source down: %v, want unavailable", err)
	}
}

func TestIdentityRequiredWithoutASource(t *testing.T) {
	e := newEnv(t, kazooauth.Options{})
	e.set("identity_signature", "required")
	r := e.wantRefused(e.token(e.key, nil), "required, nothing to read secrets from")
	if r.Reason != "identity signature cannot be checked" {
		t.Fatalf("reason %q", r.Reason)
	}
}
