package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/knmproject/knm"
	kazooauth "github.com/knmproject/knm/kazoo/auth"
)

// Kinds of token, as metrics and logs name them.
const (
	authKindKnm   = "knm"
	authKindKazoo = "kazoo"
)

// newKazooVerifier returns o.KazooAuth, or a Verifier reading kazoo_auth from o.Config.
func newKazooVerifier(o Options, s *Server) (*kazooauth.Verifier, error) {
	if o.KazooAuth != nil {
		return o.KazooAuth, nil
	}
	return kazooauth.NewVerifier(kazooauth.Options{Config: o.Config, Store: o.Store, Now: s.now, Logger: s.logger})
}

// authenticateKazoo accepts a token Kazoo's crossbar issued and acts as the knm account
// with the token's account_id, which must exist and be enabled: the caller then has
// exactly that account's rights, as with knm's own tokens. A masquerading token (claim
// "as" with an account and a user, as cb_token_auth reads it) acts as that account
// instead, which must be a descendant.
func (s *Server) authenticateKazoo(r *http.Request, tok string) (*authInfo, error) {
	claims, err := s.kazoo.Verify(r.Context(), tok)
	var refused *kazooauth.Refusal
	if errors.As(err, &refused) {
		return nil, invalidCredentials(refused.Reason)
	}
	if err != nil {
		return nil, err
	}
	acc, err := s.enabledAccount(r.Context(), claims.AccountID)
	if err != nil {
		return nil, err
	}
	if as := claims.As; as != nil && as.AccountID != "" && as.OwnerID != "" && as.AccountID != acc.ID {
		sub, err := s.enabledAccount(r.Context(), as.AccountID)
		if err != nil {
			return nil, err
		}
		if !sub.HasInHierarchy(acc.ID) {
			return nil, invalidCredentials("the account of \"as\" is not a descendant of the token's account")
		}
		acc = sub
	}
	return &authInfo{account: acc, token: tok, kind: authKindKazoo}, nil
}

// enabledAccount returns the account with Kazoo's id, refusing one knm does not have or
// has disabled.
func (s *Server) enabledAccount(ctx context.Context, id string) (*knm.Account, error) {
	if !knm.ValidAccountID(id) {
		return nil, invalidCredentials("not a Kazoo account id")
	}
	acc, err := s.store.GetAccount(ctx, id)
	if knm.IsErrorName(err, knm.ErrNotFound) || (err == nil && !acc.Enabled) {
		return nil, invalidCredentials("the token's account is unknown to knm or disabled")
	}
	return acc, err
}

// invalidCredentials is crossbar's answer to a token it does not accept: 401
// invalid_credentials. The reason is a fixed phrase, never a part of the token.
func invalidCredentials(reason string) error {
	return &statusError{status: http.StatusUnauthorized, name: "invalid_credentials",
		msg: "invalid credentials: " + reason}
}

// tokenKind names the kind of a token by its shape: Kazoo's are JWTs.
func tokenKind(tok string) string {
	if kazooauth.LooksLikeJWT(tok) {
		return authKindKazoo
	}
	return authKindKnm
}

// authNote carries, from the route to the request log line, the kind of token that
// authenticated the request ("" for none).
type authNote struct{ kind string }

type authNoteKey struct{}

func withAuthNote(ctx context.Context) (context.Context, *authNote) {
	n := &authNote{}
	return context.WithValue(ctx, authNoteKey{}, n), n
}

// noteAuth records the outcome of authenticating r: the auth metric by kind and result,
// and the kind for the request log line. Neither ever holds the token.
func (s *Server) noteAuth(r *http.Request, a *authInfo, err error) {
	tok := r.Header.Get("X-Auth-Token")
	if tok == "" {
		return
	}
	kind, result := tokenKind(tok), "ok"
	switch {
	case a != nil:
		kind = a.kind
		if n, _ := r.Context().Value(authNoteKey{}).(*authNote); n != nil {
			n.kind = kind
		}
	case isUnauthorized(err):
		result = "refused"
		s.logger.InfoContext(r.Context(), "token refused", slog.String("request_id", requestID(r)),
			slog.String("kind", kind), slog.String("reason", err.Error()))
	default:
		result = "error"
	}
	s.metrics.ObserveAuth(kind, result)
}

func isUnauthorized(err error) bool {
	var se *statusError
	return knm.IsErrorName(err, knm.ErrUnauthorized) || (errors.As(err, &se) && se.status == http.StatusUnauthorized)
}
