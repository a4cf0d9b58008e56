package kazooauth

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/config"
)

// Issuer is the iss of every token crossbar issues.
const Issuer = "kazoo"

// Algorithms are the only signing algorithms accepted, those Kazoo signs with: never
// "none", never an HMAC (which would let a public key serve as a shared secret).
var Algorithms = []string{"RS256", "RS384", "RS512"}

// Claims are the payload fields of a Kazoo token that knm uses.
type Claims struct {
	AccountID   string `json:"account_id"`
	OwnerID     string `json:"owner_id,omitempty"`
	DeviceID    string `json:"device_id,omitempty"`
	Method      string `json:"method,omitempty"` // the crossbar module that signed in, e.g. cb_user_auth
	IdentitySig string `json:"identity_sig,omitempty"`
	// As is crossbar's masquerade: the holder acts as this account (and user), which
	// crossbar allows only for a descendant of AccountID.
	As *Masquerade `json:"as,omitempty"`
	jwt.RegisteredClaims
}

// Masquerade is the "as" claim.
type Masquerade struct {
	AccountID string `json:"account_id"`
	OwnerID   string `json:"owner_id"`
}

// Refusal is the error of a token that is not accepted. Reason is one of a few fixed
// phrases (never a part of the token), fit for logs and replies.
type Refusal struct{ Reason string }

func (r *Refusal) Error() string { return "kazoo token refused: " + r.Reason }

func refuse(reason string) error { return &Refusal{Reason: reason} }

// Options configure a Verifier. Config is required.
type Options struct {
	// Config reads the kazoo_auth settings, again every refresh interval.
	Config *config.Config
	// Store is the store under Config; with it a kid unknown after the refresh budget is
	// spent still finds a PEM just added to kazoo_auth. nil: such a key waits for the
	// next refresh.
	Store knm.ConfigStore
	// Keys is a key source beside the configured PEMs and couchdb_url; nil for none.
	Keys KeySource
	// Secrets replaces CouchDB as the source of identity secrets; nil uses couchdb_url.
	Secrets SecretSource
	// HTTPClient reaches CouchDB; default a client with a 10 s timeout.
	HTTPClient *http.Client
	Now        func() time.Time
	Logger     *slog.Logger
}

// Verifier checks Kazoo tokens. It is safe for concurrent use.
type Verifier struct {
	opts    Options
	cfg     *config.Config
	now     func() time.Time
	logger  *slog.Logger
	secrets secretCache

	state      atomic.Pointer[snapshot]
	refreshMu  sync.Mutex // one refresh at a time; guards lastForced
	lastForced time.Time
}

// NewVerifier returns a Verifier; it reads nothing until the first token.
func NewVerifier(o Options) (*Verifier, error) {
	if o.Config == nil {
		return nil, errors.New("kazooauth: Options.Config is required")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	return &Verifier{opts: o, cfg: o.Config, now: o.Now, logger: o.Logger}, nil
}

// LooksLikeJWT reports whether a token has a JWT's three dot-separated parts, which
// knm's own tokens never have; it does not say the token is valid.
func LooksLikeJWT(token string) bool { return strings.Count(token, ".") == 2 }

// Verify checks a token as Kazoo's kz_auth_jwt does, and more strictly: an RS algorithm,
// a known kid, a valid signature, iss "kazoo", an exp not past (iat, when present, not
// in the future; both within the clock skew), an account_id, and the identity signature
// as the identity mode asks. A bad token is a *Refusal; a failure to read secrets when
// they are required is a knm unavailable error.
func (v *Verifier) Verify(ctx context.Context, token string) (Claims, error) {
	snap := v.current(ctx)
	claims, err := v.parse(snap, token)
	var unknown *unknownKeyError
	if errors.As(err, &unknown) || (errors.Is(err, jwt.ErrTokenSignatureInvalid) && allowedAlg(token)) {
		// A new kid, or a key replaced under the same kid (Kazoo's reset_private_key):
		// look again, within the budget.
		if again := v.refreshForUnknown(ctx, snap); again != snap {
			snap = again
			claims, err = v.parse(snap, token)
		}
	}
	if err != nil {
		return Claims{}, classify(err, token)
	}
	if !knm.ValidAccountID(claims.AccountID) {
		return Claims{}, refuse("account_id is missing or not a Kazoo account id")
	}
	if err := v.checkIdentity(ctx, snap, claims); err != nil {
		return Claims{}, err
	}
	return claims, nil
}

// unknownKeyError is a kid the snapshot does not hold.
type unknownKeyError struct{}

func (*unknownKeyError) Error() string { return "unknown kid" }

// allowedAlg reports whether an invalid-signature error came from an allowed algorithm
// (a key mismatch worth a refresh) rather than from a refused one.
func allowedAlg(token string) bool {
	t, _, err := jwt.NewParser().ParseUnverified(token, &Claims{})
	return err == nil && isAllowed(t.Method.Alg())
}

func isAllowed(alg string) bool {
	for _, a := range Algorithms {
		if a == alg {
			return true
		}
	}
	return false
}

func (v *Verifier) parse(snap *snapshot, token string) (Claims, error) {
	var c Claims
	p := jwt.NewParser(
		jwt.WithValidMethods(Algorithms),
		jwt.WithIssuer(Issuer),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(snap.settings.ClockSkew),
		jwt.WithTimeFunc(v.now),
		jwt.WithStrictDecoding(), // one spelling per token: no other padding bits
	)
	_, err := p.ParseWithClaims(token, &c, func(t *jwt.Token) (any, error) {
		if typ, ok := t.Header["typ"]; ok && typ != "JWT" {
			return nil, refuse("typ is not JWT")
		}
		kid, _ := t.Header["kid"].(string)
		if kid == "" {
			return nil, refuse("no kid")
		}
		k, ok := snap.keys[kid]
		if !ok {
			return nil, &unknownKeyError{}
		}
		return k, nil
	})
	return c, err
}

// classify turns a parse error into a Refusal with a fixed reason.
func classify(err error, token string) error {
	var r *Refusal
	var unknown *unknownKeyError
	switch {
	case errors.As(err, &r):
		return r
	case errors.As(err, &unknown):
		return refuse("unknown kid")
	case errors.Is(err, jwt.ErrTokenMalformed):
		return refuse("malformed token")
	case errors.Is(err, jwt.ErrTokenSignatureInvalid) && !allowedAlg(token):
		return refuse("algorithm not allowed")
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return refuse("bad signature")
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return refuse("exp or iss missing")
	case errors.Is(err, jwt.ErrTokenExpired):
		return refuse("expired")
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued), errors.Is(err, jwt.ErrTokenNotValidYet):
		return refuse("issued in the future")
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return refuse("iss is not kazoo")
	}
	return refuse("invalid token")
}

// checkIdentity verifies identity_sig as the identity mode asks. With the secrets at
// hand the signature must be present and match; without them, required refuses and
// when_available lets the token through.
func (v *Verifier) checkIdentity(ctx context.Context, snap *snapshot, c Claims) error {
	mode := snap.settings.Identity
	if mode == IdentityOff {
		return nil
	}
	if snap.secrets == nil {
		if mode == IdentityRequired {
			return refuse("identity signature cannot be checked")
		}
		return nil
	}
	idSecret, sysSecret, err := v.secretsFor(ctx, snap, c)
	switch {
	case errors.Is(err, ErrNoSecret) && mode == IdentityRequired:
		return refuse("identity signature cannot be checked")
	case errors.Is(err, ErrNoSecret):
		return nil
	case err != nil && mode == IdentityRequired:
		v.logger.WarnContext(ctx, "Kazoo identity secrets unreadable", slog.String("error", err.Error()))
		return knm.Errorf(knm.ErrUnavailable, "Kazoo identity secrets cannot be read now")
	case err != nil:
		v.logger.WarnContext(ctx, "Kazoo identity secrets unreadable; identity signature not checked",
			slog.String("error", err.Error()))
		return nil
	}
	if c.IdentitySig == "" {
		return refuse("no identity signature")
	}
	if !identityMatches(c.IdentitySig, c.Identity(), idSecret, sysSecret) {
		return refuse("identity signature does not match")
	}
	return nil
}
