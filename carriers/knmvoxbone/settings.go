package knmvoxbone

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/config"
	"github.com/knmproject/knm/ratelimit"
	"github.com/knmproject/knm/voxbone"
)

// Category is the system_config category that holds the knm_voxbone settings.
const Category = "number_manager.voxbone"

// Voxbone environments (the environment key); each names one base URL of the API.
const (
	EnvProduction = "production"
	EnvSandbox    = "sandbox"
	EnvBeta       = "beta"
)

// Search modes (the search_mode key).
const (
	// SearchModeOrder makes a search buy what the pool lacks (Kazoo's behaviour).
	SearchModeOrder = "order"
	// SearchModePool makes a search offer only numbers already bought.
	SearchModePool = "pool"
)

// Settings are the keys of number_manager.voxbone (DESIGN.md §3). Password and APIKey never
// appear in String, GoString or LogValue.
type Settings struct {
	Username         string        // username (api_username): HTTP Basic user
	Password         string        // password (api_password): secret
	APIKey           string        // api_key: header auth of the beta environment; secret
	Environment      string        // environment: production, sandbox or beta
	PageSize         int           // page_size (max_page_size): 1..5000
	BaseURL          string        // base_url: replaces the environment's base URL, path included
	RateLimitRPS     int           // rate_limit_rps: most requests in any one-second window
	RequestTimeout   time.Duration // request_timeout_ms: per HTTP request
	SearchMode       string        // search_mode: order or pool
	MaxOrderQuantity int           // max_order_quantity: most DIDs one search or order buys
	MaxOrderCost     float64       // max_order_cost: most money one search or order spends; 0: only the balance
	CartTTL          time.Duration // cart_ttl_minutes: age after which purge deletes knm's unused carts
	Routing          Routing       // voice_uri, trunk_id, …: what every bought DID is configured with
	// HoldTTL (hold_ttl_minutes) is how long numbers bought for a search that had answered
	// stay reserved for its account before they return to the pool.
	HoldTTL time.Duration
	// CoalesceWindow (coalesce_window_ms) is how long a search that must buy waits for
	// others of the same DID groups to share its order.
	CoalesceWindow time.Duration
	// RateLimitMargin (rate_limit_margin_ms) widens the limiter's one-second window:
	// requests may arrive closer together than they were sent.
	RateLimitMargin time.Duration
}

// DefaultSettings returns the code defaults of number_manager.voxbone.
func DefaultSettings() Settings {
	return Settings{
		Environment:      EnvSandbox,
		PageSize:         voxbone.DefaultPageSize,
		RateLimitRPS:     20,
		RequestTimeout:   15 * time.Second,
		SearchMode:       SearchModeOrder,
		MaxOrderQuantity: 20,
		CartTTL:          30 * time.Minute,
		Routing:          Routing{BatchSize: DefaultRoutingBatchSize},
		HoldTTL:          30 * time.Minute,
		CoalesceWindow:   25 * time.Millisecond,
		RateLimitMargin:  ratelimit.DefaultLocalMargin,
	}
}

// Source is system_config as one node reads it (config.Config): a key comes from the most
// specific section that has it under any of its spellings, and a missing key is written
// back as its code default. Values of the wrong type are knm invalid errors.
type Source interface {
	GetStringAlias(ctx context.Context, category string, keys []string, def string) (string, error)
	GetIntAlias(ctx context.Context, category string, keys []string, def int) (int, error)
	GetFloat(ctx context.Context, category, key string, def float64) (float64, error)
	// GetRaw returns a key's JSON, nil when absent and def is nil (nothing written back).
	GetRaw(ctx context.Context, category, key string, def json.RawMessage) (json.RawMessage, error)
}

// Writes of number_manager.voxbone, through any path, are checked with the reader that
// start-up uses, so a bad value is refused where it is written.
func init() {
	config.RegisterValidator(Category, func(ctx context.Context, c *config.Config) error {
		_, err := ReadSettings(ctx, c)
		return err
	})
}

// ReadSettings reads number_manager.voxbone from src and validates it, reporting every
// problem in one knm invalid error. Three keys have two spellings; the seed's (username,
// password, page_size) win over Kazoo master's within one section.
func ReadSettings(ctx context.Context, src Source) (Settings, error) {
	d := DefaultSettings()
	r := &settingsReader{ctx: ctx, src: src, unread: map[string]bool{}}
	s := Settings{
		Username:         r.text("", "username", "api_username"),
		Password:         r.text("", "password", "api_password"),
		APIKey:           r.text("", "api_key"),
		Environment:      r.text(d.Environment, "environment"),
		PageSize:         r.integer(d.PageSize, "page_size", "max_page_size"),
		BaseURL:          r.text("", "base_url"),
		RateLimitRPS:     r.integer(d.RateLimitRPS, "rate_limit_rps"),
		RequestTimeout:   r.duration(d.RequestTimeout, time.Millisecond, "request_timeout_ms"),
		SearchMode:       r.text(d.SearchMode, "search_mode"),
		MaxOrderQuantity: r.integer(d.MaxOrderQuantity, "max_order_quantity"),
		MaxOrderCost:     r.number(d.MaxOrderCost, "max_order_cost"),
		CartTTL:          r.duration(d.CartTTL, time.Minute, "cart_ttl_minutes"),
		HoldTTL:          r.duration(d.HoldTTL, time.Minute, "hold_ttl_minutes"),
		CoalesceWindow:   r.duration(d.CoalesceWindow, time.Millisecond, "coalesce_window_ms"),
		RateLimitMargin:  r.duration(d.RateLimitMargin, time.Millisecond, "rate_limit_margin_ms"),
	}
	// The routing keys are optional: an absent one is not written back.
	s.Routing = readRouting(func(key string) (json.RawMessage, error) {
		return src.GetRaw(ctx, Category, key, nil)
	}, d.Routing, r.note)
	for _, p := range s.problems() {
		if !r.unread[p.key] {
			r.list = append(r.list, p.key+" "+p.rule)
		}
	}
	if r.failed != nil {
		return s, r.failed
	}
	return s, invalid(r.list)
}

// settingsReader reads keys of Category, collecting the failures instead of stopping at the
// first, so that an operator fixes every setting in one round.
type settingsReader struct {
	ctx    context.Context
	src    Source
	list   []string        // what is wrong, one entry per problem
	unread map[string]bool // keys whose value could not be read: their rules are not checked
	failed error           // the first failure that is not the settings' (the store refused a write-back)
}

func (r *settingsReader) note(key string, err error) {
	if err == nil {
		return
	}
	r.unread[key] = true
	if !knm.IsErrorName(err, knm.ErrInvalid) {
		r.failed = cmp.Or(r.failed, err)
		return
	}
	// The source's messages start "config: <category> <key> …": the category is said once.
	msg := strings.TrimPrefix(strings.TrimPrefix(err.Error(), "config: "), Category+" ")
	r.list = append(r.list, msg)
}

func (r *settingsReader) text(def string, keys ...string) string {
	v, err := r.src.GetStringAlias(r.ctx, Category, keys, def)
	r.note(keys[0], err)
	return v
}

func (r *settingsReader) integer(def int, keys ...string) int {
	v, err := r.src.GetIntAlias(r.ctx, Category, keys, def)
	r.note(keys[0], err)
	return v
}

// duration reads a key that counts units.
func (r *settingsReader) duration(def, unit time.Duration, key string) time.Duration {
	return time.Duration(r.integer(int(def/unit), key)) * unit
}

func (r *settingsReader) number(def float64, key string) float64 {
	v, err := r.src.GetFloat(r.ctx, Category, key, def)
	r.note(key, err)
	return v
}

// problem is one setting that breaks its rule.
type problem struct{ key, rule string }

// problems lists the settings that break their rule. Secrets are never quoted.
func (s Settings) problems() []problem {
	var ps []problem
	bad := func(key, format string, args ...any) { ps = append(ps, problem{key, fmt.Sprintf(format, args...)}) }
	switch s.Environment {
	case EnvProduction, EnvSandbox, EnvBeta:
	default:
		bad("environment", "must be production, sandbox or beta, got %q", s.Environment)
	}
	if s.PageSize < 1 || s.PageSize > voxbone.MaxPageSize {
		bad("page_size", "must be between 1 and %d, got %d", voxbone.MaxPageSize, s.PageSize)
	}
	if s.BaseURL != "" {
		u, err := url.Parse(s.BaseURL)
		switch {
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
			bad("base_url", "must be an absolute http or https URL")
		case u.User != nil:
			bad("base_url", "must not carry credentials; use username and password")
		}
	}
	if s.RateLimitRPS < 1 {
		bad("rate_limit_rps", "must be at least 1, got %d", s.RateLimitRPS)
	}
	if s.RequestTimeout < time.Millisecond {
		bad("request_timeout_ms", "must be at least 1, got %d", s.RequestTimeout.Milliseconds())
	}
	if s.SearchMode != SearchModeOrder && s.SearchMode != SearchModePool {
		bad("search_mode", "must be order or pool, got %q", s.SearchMode)
	}
	if s.MaxOrderQuantity < 1 {
		bad("max_order_quantity", "must be at least 1, got %d", s.MaxOrderQuantity)
	}
	if s.MaxOrderCost < 0 {
		bad("max_order_cost", "must not be negative, got %g", s.MaxOrderCost)
	}
	if s.CartTTL < time.Minute {
		bad("cart_ttl_minutes", "must be at least 1, got %d", int(s.CartTTL.Minutes()))
	}
	ps = append(ps, s.Routing.problems()...)
	if s.HoldTTL < time.Minute {
		bad("hold_ttl_minutes", "must be at least 1, got %d", int(s.HoldTTL.Minutes()))
	}
	if s.CoalesceWindow < time.Millisecond || s.CoalesceWindow > 5*time.Second {
		bad("coalesce_window_ms", "must be between 1 and 5000, got %d", s.CoalesceWindow.Milliseconds())
	}
	if s.RateLimitMargin < 0 || s.RateLimitMargin > time.Second {
		bad("rate_limit_margin_ms", "must be between 0 and 1000, got %d", s.RateLimitMargin.Milliseconds())
	}
	return ps
}

// Validate reports every setting that breaks its rule in one knm invalid error.
func (s Settings) Validate() error {
	var list []string
	for _, p := range s.problems() {
		list = append(list, p.key+" "+p.rule)
	}
	return invalid(list)
}

func invalid(list []string) error {
	if len(list) == 0 {
		return nil
	}
	return knm.Errorf(knm.ErrInvalid, "invalid %s: %s", Category, strings.Join(list, "; "))
}

// withDefaults fills zero fields with the defaults, except MaxOrderCost, whose zero means
// "no cap".
func (s Settings) withDefaults() Settings {
	d := DefaultSettings()
	s.Environment = cmp.Or(s.Environment, d.Environment)
	s.PageSize = cmp.Or(s.PageSize, d.PageSize)
	s.RateLimitRPS = cmp.Or(s.RateLimitRPS, d.RateLimitRPS)
	s.RequestTimeout = cmp.Or(s.RequestTimeout, d.RequestTimeout)
	s.SearchMode = cmp.Or(s.SearchMode, d.SearchMode)
	s.MaxOrderQuantity = cmp.Or(s.MaxOrderQuantity, d.MaxOrderQuantity)
	s.CartTTL = cmp.Or(s.CartTTL, d.CartTTL)
	s.Routing.BatchSize = cmp.Or(s.Routing.BatchSize, d.Routing.BatchSize)
	s.HoldTTL = cmp.Or(s.HoldTTL, d.HoldTTL)
	s.CoalesceWindow = cmp.Or(s.CoalesceWindow, d.CoalesceWindow)
	s.RateLimitMargin = cmp.Or(s.RateLimitMargin, d.RateLimitMargin)
	return s
}

// Configured reports whether the settings name any credential or a base_url: without one,
// knm runs without Voxbone.
func (s Settings) Configured() bool {
	return s.Username != "" || s.Password != "" || s.APIKey != "" || s.BaseURL != ""
}

// CheckCredentials says what is missing before any request is made: production and sandbox
// need a username and a password, beta an api_key. With a base_url (a proxy, the emulator)
// credentials may be left out, but a username still needs its password.
func (s Settings) CheckCredentials() error {
	bad := func(format string, args ...any) error {
		return knm.Errorf(knm.ErrInvalid, Category+": "+format, args...).
			WithCause("knm config set " + Category + " KEY '\"VALUE\"'")
	}
	switch {
	case (s.Username == "") != (s.Password == "") && (s.BaseURL != "" || s.Environment != EnvBeta):
		return bad("username and password go together (one of them is empty)")
	case s.BaseURL != "":
		return nil
	case s.Environment == EnvBeta && s.APIKey == "":
		return bad("environment beta needs api_key")
	case s.Environment != EnvBeta && (s.Username == "" || s.Password == ""):
		return bad("environment %s needs username and password", s.Environment)
	}
	return nil
}

// LogValue shows the settings with the secrets masked.
func (s Settings) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("environment", s.Environment),
		slog.String("base_url", config.RedactURL(s.BaseURL)), // may be logged before Validate refuses a password in it
		slog.String("username", s.Username),
		slog.String("password", config.MaskSecret(s.Password)),
		slog.String("api_key", config.MaskSecret(s.APIKey)),
		slog.Int("page_size", s.PageSize),
		slog.Int("rate_limit_rps", s.RateLimitRPS),
		slog.Duration("request_timeout", s.RequestTimeout),
		slog.String("search_mode", s.SearchMode),
		slog.Int("max_order_quantity", s.MaxOrderQuantity),
		slog.Float64("max_order_cost", s.MaxOrderCost),
		slog.Duration("cart_ttl", s.CartTTL),
		slog.Attr{Key: "routing", Value: s.Routing.logValue()},
		slog.Duration("hold_ttl", s.HoldTTL),
		slog.Duration("coalesce_window", s.CoalesceWindow),
		slog.Duration("rate_limit_margin", s.RateLimitMargin),
	)
}

// String shows the settings with the secrets masked, for %v and %+v.
func (s Settings) String() string { return "voxbone" + s.LogValue().String() }

// GoString keeps %#v from printing the secrets.
func (s Settings) GoString() string { return s.String() }

// AccountFingerprint names the Voxbone account the settings talk to without revealing a
// secret: a short hash of the effective base URL (normalised), the username and a SHA-256 of
// any API key. Journal rows record it, so that a carrier built for another account (the
// settings were switched while an order was unfinished) leaves them alone.
func (s Settings) AccountFingerprint() string {
	s = s.withDefaults()
	id := "knm_voxbone/2\x00" + normalBaseURL(s.effectiveBaseURL())
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

// effectiveBaseURL is the base URL requests go to: base_url when set, else the
// environment's.
func (s Settings) effectiveBaseURL() string {
	if s.BaseURL != "" {
		return s.BaseURL
	}
	switch s.Environment {
	case EnvProduction:
		return voxbone.ProductionURL
	case EnvBeta:
		return voxbone.BetaURL
	default:
		return voxbone.SandboxURL
	}
}

// normalBaseURL spells equivalent base URLs alike: scheme and host lower-cased, the scheme's
// default port and a trailing "/" dropped. A URL that does not parse is only trimmed.
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

// pageWorkers is how many pages of DID groups a listing fetches at once: a catalogue of many
// pages then takes a few round trips, within the rate budget.
const pageWorkers = 4

// clientOptions are the options of the Voxbone client these settings describe; every
// request goes through lim.
func (s Settings) clientOptions(lim ratelimit.Limiter, log *slog.Logger,
	observe func(endpoint string, status int, d time.Duration)) []voxbone.Option {
	opts := []voxbone.Option{
		voxbone.WithEnvironment(s.Environment),
		voxbone.WithPageSize(s.PageSize),
		voxbone.WithRequestTimeout(s.RequestTimeout),
		voxbone.WithLimiter(lim),
		voxbone.WithLogger(log),
		voxbone.WithPageWorkers(pageWorkers),
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
	if observe != nil {
		opts = append(opts, voxbone.WithObserver(observe))
	}
	return opts
}
