// Package knmvoxbone is the knm_voxbone carrier module: number search that buys safely from
// Voxbone, an order journal with crash recovery, native (idempotent) ordering, release,
// reconciliation and cart purging (DESIGN.md §4).
//
// Voxbone reveals a DID only after it is bought, so a search in "order" mode buys what the
// pool of already-bought numbers lacks, as Kazoo master does (kazoo-knm §2.8), but:
//   - it serves the pool first and buys only the shortfall, within max_order_quantity,
//     max_order_cost and the balance, never more than a DID group's stock;
//   - every order is journalled before each step, with the knm order id as the cart's
//     customerReference, so an order whose checkout may have happened is settled by looking
//     it up, never by buying again;
//   - independent requests run in parallel (the shared rate limiter keeps the budget), so a
//     15-number buy over three DID groups takes four sequential round trips;
//   - no cart of knm's is left behind, and a shortfall is an error beside the rows;
//   - DIDs Voxbone delivers late are imported by their order without an operator: Recover
//     (run by knm serve at start and every few minutes) looks again for an order's missing
//     DIDs until its delivery deadline (DeliveryDeadline), and then, a bounded batch per
//     run, for partial orders younger than LateDeliveryHorizon; reconcile --import brings
//     in any later ones.
package knmvoxbone

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/ratelimit"
	"github.com/knmproject/knm/voxbone"
)

// ModuleName is the Kazoo carrier module name of this carrier.
const ModuleName = "knm_voxbone"

// OrderPrefix starts the customerReference of every cart knm creates (and so every knm order
// id). Purge deletes only carts whose reference has it.
const OrderPrefix = "knm-"

// Search modes (number_manager.voxbone search_mode).
const (
	// SearchModeOrder makes a search buy what the pool lacks (Kazoo's behaviour).
	SearchModeOrder = "order"
	// SearchModePool makes a search offer only numbers already bought.
	SearchModePool = "pool"
)

// Settings are the number_manager.voxbone keys (DESIGN.md §3). They are decoupled from the
// config package so the carrier can be built from any source; the zero value of a field
// means its default (see DefaultSettings), except MaxOrderCost, whose zero means "no cap".
type Settings struct {
	Username         string        // username (api_username): HTTP Basic user
	Password         string        // password (api_password): never logged
	APIKey           string        // api_key: header auth of the beta environment; never logged
	Environment      string        // production | sandbox | beta
	PageSize         int           // page_size (max_page_size), 1..5000
	BaseURL          string        // replaces the environment's base URL, path included
	RateLimitRPS     int           // rate_limit_rps: most requests in any one-second window
	RequestTimeout   time.Duration // request_timeout_ms: per HTTP request
	SearchMode       string        // search_mode: order | pool
	MaxOrderQuantity int           // max_order_quantity: most DIDs one search or order buys
	MaxOrderCost     float64       // max_order_cost: most money one search or order spends; 0 = balance only
	CartTTL          time.Duration // cart_ttl_minutes: age after which purge deletes knm's unused carts
}

// DefaultSettings returns the code defaults of number_manager.voxbone.
func DefaultSettings() Settings {
	return Settings{
		Environment:      "sandbox",
		PageSize:         voxbone.DefaultPageSize,
		RateLimitRPS:     20,
		RequestTimeout:   15 * time.Second,
		SearchMode:       SearchModeOrder,
		MaxOrderQuantity: 20,
		CartTTL:          30 * time.Minute,
	}
}

// withDefaults fills zero fields with the defaults.
func (s Settings) withDefaults() Settings {
	d := DefaultSettings()
	if s.Environment == "" {
		s.Environment = d.Environment
	}
	if s.PageSize == 0 {
		s.PageSize = d.PageSize
	}
	if s.RateLimitRPS == 0 {
		s.RateLimitRPS = d.RateLimitRPS
	}
	if s.RequestTimeout == 0 {
		s.RequestTimeout = d.RequestTimeout
	}
	if s.SearchMode == "" {
		s.SearchMode = d.SearchMode
	}
	if s.MaxOrderQuantity == 0 {
		s.MaxOrderQuantity = d.MaxOrderQuantity
	}
	if s.CartTTL == 0 {
		s.CartTTL = d.CartTTL
	}
	return s
}

// Validate reports every invalid setting in one knm invalid error. Secrets are never quoted.
func (s Settings) Validate() error {
	var bad []string
	switch s.Environment {
	case "production", "sandbox", "beta":
	default:
		bad = append(bad, fmt.Sprintf("environment must be production, sandbox or beta, got %q", s.Environment))
	}
	if s.PageSize < 1 || s.PageSize > voxbone.MaxPageSize {
		bad = append(bad, fmt.Sprintf("page_size must be between 1 and %d, got %d", voxbone.MaxPageSize, s.PageSize))
	}
	if s.BaseURL != "" {
		u, err := url.Parse(s.BaseURL)
		switch {
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
			bad = append(bad, "base_url must be an absolute http or https URL")
		case u.User != nil:
			bad = append(bad, "base_url must not carry credentials; use username and password")
		}
	}
	if s.RateLimitRPS < 1 {
		bad = append(bad, fmt.Sprintf("rate_limit_rps must be at least 1, got %d", s.RateLimitRPS))
	}
	if s.RequestTimeout <= 0 {
		bad = append(bad, fmt.Sprintf("request_timeout_ms must be positive, got %d", s.RequestTimeout.Milliseconds()))
	}
	if s.SearchMode != SearchModeOrder && s.SearchMode != SearchModePool {
		bad = append(bad, fmt.Sprintf("search_mode must be order or pool, got %q", s.SearchMode))
	}
	if s.MaxOrderQuantity < 1 {
		bad = append(bad, fmt.Sprintf("max_order_quantity must be at least 1, got %d", s.MaxOrderQuantity))
	}
	if s.MaxOrderCost < 0 {
		bad = append(bad, fmt.Sprintf("max_order_cost must not be negative, got %g", s.MaxOrderCost))
	}
	if s.CartTTL <= 0 {
		bad = append(bad, fmt.Sprintf("cart_ttl_minutes must be positive, got %v", s.CartTTL))
	}
	if len(bad) == 0 {
		return nil
	}
	return knm.Errorf(knm.ErrInvalid, "number_manager.voxbone: %s", strings.Join(bad, "; "))
}

// LogValue keeps the password and API key out of logs.
func (s Settings) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("username", s.Username),
		slog.Bool("password_set", s.Password != ""),
		slog.Bool("api_key_set", s.APIKey != ""),
		slog.String("environment", s.Environment),
		slog.String("base_url", redactURL(s.BaseURL)),
		slog.Int("rate_limit_rps", s.RateLimitRPS),
		slog.String("search_mode", s.SearchMode),
	)
}

// redactURL hides a password a base URL might carry (Validate refuses such URLs, but
// settings are logged before they are validated).
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable)"
	}
	return u.Redacted()
}

// String keeps the password and API key out of %v.
func (s Settings) String() string { return s.LogValue().String() }

// Metrics are optional hooks for instrumentation; they must not block.
type Metrics struct {
	// Request is called after every HTTP attempt of a client built by New.
	Request func(endpoint string, status int, d time.Duration)
	// Order is called when an order reaches a final state (imported, partial, failed),
	// with the number of DIDs it brought into knm.
	Order func(state string, dids int)
	// Search is called after every FindNumbers with the rows served from the pool and the
	// rows bought.
	Search func(fromPool, bought int, d time.Duration)
	// Spent is called when an order reaches a final state with what the DIDs it brought
	// into knm cost, in cents of the account currency (searches and native orders alike).
	Spent func(cents int)
}

// Deps are the carrier's collaborators. Store is required.
type Deps struct {
	Store knm.Store
	// Client talks to Voxbone. When nil, New builds one from Settings, sending every
	// request through Limiter (or a ratelimit.NewLocal(RateLimitRPS) when Limiter is nil).
	// A given Client keeps its own limiter: Limiter is then ignored.
	Client  *voxbone.Client
	Limiter ratelimit.Limiter
	// HTTPClient is used by a client built by New (e.g. to add a proxy); optional.
	HTTPClient *http.Client
	Logger     *slog.Logger
	Now        func() time.Time
	Metrics    Metrics
	// Reservations are shared with the other carriers of the same Voxbone account (see
	// AccountFingerprintOf); nil makes new ones.
	Reservations *Reservations
}

// Carrier is the knm_voxbone carrier module. It is safe for concurrent use; several
// Carriers (in one process or many) may share one store.
type Carrier struct {
	s       Settings
	store   knm.Store
	vx      *voxbone.Client
	log     *slog.Logger
	now     func() time.Time
	metrics Metrics
	// settleTimeout bounds the work after a checkout was sent, which runs detached from the
	// caller's context: the money may be spent, so the numbers must reach the database even
	// when the search that bought them has given up waiting.
	settleTimeout time.Duration
	// deliveryDeadline is how long a short order waits for back-ordered DIDs
	// (DeliveryDeadline; tests shorten it).
	deliveryDeadline time.Duration
	// lateDeliveryHorizon and lateBatch bound Recover's look at partial orders for late
	// DIDs (LateDeliveryHorizon, LateDeliveryBatch; tests change them).
	lateDeliveryHorizon time.Duration
	lateBatch           int
	// lateInterval is how long after its last look a partial order checked out the given
	// time ago is due again (lateDeliveryInterval; tests change it).
	lateInterval func(sinceCheckout time.Duration) time.Duration
	// fp is AccountFingerprintOf(s): which Voxbone account the carrier talks to.
	fp string

	res *Reservations
}

// Reservations are the stock and money planned by orders not checked out yet, and the
// recent checkouts, that a plan takes off the listed stock and balance (Voxbone lowers them
// only at checkout). Carriers of one account that share one Reservations (a carrier rebuilt
// after a settings change and the old one finishing its orders) never plan the same stock
// or money twice. It is safe for concurrent use.
type Reservations struct {
	mu            sync.Mutex
	inflight      map[int]int   // DID group id -> DIDs planned by orders not yet checked out
	reservedCents int           // cost of the plans of orders not yet checked out
	consumed      []consumption // recent checkouts, for listings taken before them
}

// NewReservations returns empty reservations.
func NewReservations() *Reservations { return &Reservations{inflight: map[int]int{}} }

var _ knm.Carrier = (*Carrier)(nil)

// New returns the carrier. Settings' zero fields take their defaults; invalid settings or a
// missing store are an invalid error.
func New(s Settings, d Deps) (*Carrier, error) {
	s = s.withDefaults()
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if d.Store == nil {
		return nil, knm.Errorf(knm.ErrInvalid, "knm_voxbone: a store is required")
	}
	c := &Carrier{s: s, store: d.Store, vx: d.Client, log: d.Logger, now: d.Now, metrics: d.Metrics,
		settleTimeout: 6 * s.RequestTimeout, deliveryDeadline: DeliveryDeadline,
		lateDeliveryHorizon: LateDeliveryHorizon, lateBatch: LateDeliveryBatch,
		lateInterval: lateDeliveryInterval, res: d.Reservations,
		fp: AccountFingerprintOf(s)}
	if c.res == nil {
		c.res = NewReservations()
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.vx == nil {
		vx, err := buildClient(s, d, c.log)
		if err != nil {
			return nil, err
		}
		c.vx = vx
	}
	return c, nil
}

func buildClient(s Settings, d Deps, log *slog.Logger) (*voxbone.Client, error) {
	lim := d.Limiter
	if lim == nil {
		lim = ratelimit.NewLocal(s.RateLimitRPS)
	}
	opts := []voxbone.Option{
		voxbone.WithEnvironment(s.Environment),
		voxbone.WithPageSize(s.PageSize),
		voxbone.WithRequestTimeout(s.RequestTimeout),
		voxbone.WithLimiter(lim),
		voxbone.WithLogger(log),
	}
	if d.HTTPClient != nil {
		opts = append(opts, voxbone.WithHTTPClient(d.HTTPClient))
	}
	if s.BaseURL != "" {
		opts = append(opts, voxbone.WithBaseURL(s.BaseURL))
	}
	if s.Username != "" || s.Password != "" {
		opts = append(opts, voxbone.WithBasicAuth(s.Username, s.Password))
	}
	if s.APIKey != "" {
		opts = append(opts, voxbone.WithAPIKey(s.APIKey))
	}
	if d.Metrics.Request != nil {
		opts = append(opts, voxbone.WithObserver(d.Metrics.Request))
	}
	vx, err := voxbone.New(opts...)
	if err != nil {
		// The client's errors never hold credentials; wrap for the operator.
		return nil, knm.Errorf(knm.ErrInvalid, "knm_voxbone: %v", err)
	}
	return vx, nil
}

// AccountFingerprintOf names the Voxbone account settings s talk to, without revealing
// any secret: a short hash of the effective base URL (base_url, or else the environment's
// URL; normalised: scheme and host lower-cased, a default port and a trailing "/"
// dropped), the username when one is set and a SHA-256 of the API key whenever one is
// sent. The environment only chooses the URL and the password only proves the username,
// so neither is part of it. Orders record it, so that a carrier built for another account
// (the settings were switched while an order was unfinished) leaves them alone.
func AccountFingerprintOf(s Settings) string {
	s = s.withDefaults()
	id := "knm_voxbone/2\x00" + normalBaseURL(effectiveBaseURL(s))
	if s.Username != "" {
		id += "\x00user:" + s.Username
	}
	if s.APIKey != "" {
		key := sha256.Sum256([]byte(s.APIKey))
		id += "\x00api_key:" + hex.EncodeToString(key[:])
	}
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:6])
}

// effectiveBaseURL is the base URL the client of s sends requests to: base_url when set,
// else the environment's.
func effectiveBaseURL(s Settings) string {
	if s.BaseURL != "" {
		return s.BaseURL
	}
	switch s.Environment {
	case "production":
		return voxbone.ProductionURL
	case "beta":
		return voxbone.BetaURL
	default:
		return voxbone.SandboxURL
	}
}

// normalBaseURL spells equivalent base URLs alike: scheme and host lower-cased, the
// scheme's default port (:443 for https, :80 for http) dropped, no trailing "/". A URL
// that does not parse (Validate refuses it) is only trimmed.
func normalBaseURL(raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" {
		return strings.TrimRight(raw, "/")
	}
	scheme := strings.ToLower(u.Scheme)
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if scheme == "https" && port == "443" || scheme == "http" && port == "80" {
		port = ""
	}
	if port != "" || strings.Contains(host, ":") {
		host = net.JoinHostPort(host, port)
		host = strings.TrimSuffix(host, ":") // an IPv6 host without a port: [::1]
	}
	return scheme + "://" + host + strings.TrimRight(u.EscapedPath(), "/")
}

// ownAccount reports whether a row recorded with fingerprint fp was written for the
// carrier's account.
func (c *Carrier) ownAccount(fp string) bool { return fp == c.fp }

// AccountFingerprint is AccountFingerprintOf the carrier's settings, computed once.
func (c *Carrier) AccountFingerprint() string { return c.fp }

// Client returns the Voxbone client the carrier uses (for the CLI's balance and groups).
func (c *Carrier) Client() *voxbone.Client { return c.vx }

// Settings returns the carrier's settings, defaults filled in.
func (c *Carrier) Settings() Settings { return c.s }

// Name returns "knm_voxbone".
func (c *Carrier) Name() string { return ModuleName }

// Info reports a maximal prefix length of 3, as every HTTP carrier in Kazoo.
func (c *Carrier) Info() knm.CarrierInfo { return knm.CarrierInfo{MaximalPrefixLength: 3} }

// IsLocal is false: the module calls Voxbone.
func (c *Carrier) IsLocal() bool { return false }

// IsNumberBillable is true: Voxbone numbers cost money.
func (c *Carrier) IsNumberBillable(*knm.Number) bool { return true }

// ShouldLookupCNAM is true, as for Kazoo's other HTTP carriers.
func (c *Carrier) ShouldLookupCNAM() bool { return true }

// AcquireNumber makes no Voxbone call: a knm_voxbone number was bought when it was found,
// and activation only moves it from available to in_service in the database.
func (c *Carrier) AcquireNumber(context.Context, *knm.Number) error { return nil }
