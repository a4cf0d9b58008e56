package config

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/knmproject/knm"
)

// VoxboneCategory is the system_config category of the Voxbone carrier.
const VoxboneCategory = "number_manager.voxbone"

// Voxbone environments.
const (
	VoxboneProduction = "production"
	VoxboneSandbox    = "sandbox"
	VoxboneBeta       = "beta"
)

// Voxbone search modes.
const (
	SearchModeOrder = "order" // a search buys what the pool lacks (Kazoo's behaviour)
	SearchModePool  = "pool"  // a search only offers numbers already bought
)

// VoxboneConfig is every number_manager.voxbone setting (DESIGN §3). Its String, GoString
// and LogValue never show Password or APIKey.
type VoxboneConfig struct {
	Username         string        // username (api_username)
	Password         string        // password (api_password); secret
	APIKey           string        // api_key, for the beta environment; secret
	Environment      string        // production | sandbox | beta
	PageSize         int           // page_size (max_page_size), 1..5000
	BaseURL          string        // replaces the environment's base URL when set
	RateLimitRPS     int           // rate_limit_rps, at least 1
	RequestTimeout   time.Duration // request_timeout_ms
	SearchMode       string        // order | pool
	MaxOrderQuantity int           // max_order_quantity, at least 1
	MaxOrderCost     float64       // max_order_cost; 0 means only the balance limits it
	CartTTL          time.Duration // cart_ttl_minutes
}

// Voxbone reads number_manager.voxbone, writing back missing defaults, and validates it.
//
// Three settings have two spellings. DESIGN §3 makes the seed's spelling (username,
// password, page_size, from Kazoo's doc/knm_voxbone.md) primary and the one master's code
// reads (api_username, api_password, max_page_size) the alias: when one section holds
// both, the primary wins; a more specific section wins over either spelling in a less
// specific one. (kazoo-knm §5.3 suggests the opposite preference; DESIGN is the contract.)
// All problems are reported together in one knm.ErrInvalid error.
func (c *Config) Voxbone(ctx context.Context) (VoxboneConfig, error) {
	const cat = VoxboneCategory
	var v VoxboneConfig
	p := &problems{category: cat}
	var err error
	v.Username, err = c.GetStringAlias(ctx, cat, []string{"username", "api_username"}, "")
	p.add(err)
	v.Password, err = c.GetStringAlias(ctx, cat, []string{"password", "api_password"}, "")
	p.add(err)
	v.APIKey, err = c.GetString(ctx, cat, "api_key", "")
	p.add(err)
	v.Environment, err = c.GetString(ctx, cat, "environment", VoxboneSandbox)
	p.add(err)
	switch v.Environment {
	case VoxboneProduction, VoxboneSandbox, VoxboneBeta:
	default:
		p.check(err != nil, "environment", fmt.Sprintf("must be production, sandbox or beta, got %q", v.Environment))
	}
	v.PageSize, err = c.GetIntAlias(ctx, cat, []string{"page_size", "max_page_size"}, 20)
	p.add(err)
	p.check(err != nil || v.PageSize >= 1 && v.PageSize <= 5000, "page_size", fmt.Sprintf("must be between 1 and 5000, got %d", v.PageSize))
	v.BaseURL, err = c.GetString(ctx, cat, "base_url", "")
	p.add(err)
	if v.BaseURL != "" {
		u, perr := url.Parse(v.BaseURL)
		p.check(perr == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "", "base_url",
			"must be an absolute http or https URL") // the value itself may hold a password
	}
	v.RateLimitRPS, err = c.GetInt(ctx, cat, "rate_limit_rps", 20)
	p.add(err)
	p.check(err != nil || v.RateLimitRPS >= 1, "rate_limit_rps", fmt.Sprintf("must be at least 1, got %d", v.RateLimitRPS))
	ms, err := c.GetInt(ctx, cat, "request_timeout_ms", 15000)
	p.add(err)
	p.check(err != nil || ms >= 1, "request_timeout_ms", fmt.Sprintf("must be at least 1, got %d", ms))
	v.RequestTimeout = time.Duration(ms) * time.Millisecond
	v.SearchMode, err = c.GetString(ctx, cat, "search_mode", SearchModeOrder)
	p.add(err)
	p.check(err != nil || v.SearchMode == SearchModeOrder || v.SearchMode == SearchModePool, "search_mode",
		fmt.Sprintf("must be order or pool, got %q", v.SearchMode))
	v.MaxOrderQuantity, err = c.GetInt(ctx, cat, "max_order_quantity", 20)
	p.add(err)
	p.check(err != nil || v.MaxOrderQuantity >= 1, "max_order_quantity", fmt.Sprintf("must be at least 1, got %d", v.MaxOrderQuantity))
	v.MaxOrderCost, err = c.GetFloat(ctx, cat, "max_order_cost", 0)
	p.add(err)
	p.check(err != nil || v.MaxOrderCost >= 0, "max_order_cost", fmt.Sprintf("must not be negative, got %g", v.MaxOrderCost))
	minutes, err := c.GetInt(ctx, cat, "cart_ttl_minutes", 30)
	p.add(err)
	p.check(err != nil || minutes >= 1, "cart_ttl_minutes", fmt.Sprintf("must be at least 1, got %d", minutes))
	v.CartTTL = time.Duration(minutes) * time.Minute
	return v, p.err()
}

// mask shows whether a secret is set without showing it.
func mask(s string) string {
	if s == "" {
		return ""
	}
	return "***"
}

// redactURL hides a password written into a URL's user information.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return mask(s) // unparseable: it may hold anything
	}
	return u.Redacted()
}

// String describes the settings with secrets masked.
func (v VoxboneConfig) String() string {
	return fmt.Sprintf("voxbone{environment=%s base_url=%q username=%q password=%q api_key=%q page_size=%d rate_limit_rps=%d request_timeout=%s search_mode=%s max_order_quantity=%d max_order_cost=%g cart_ttl=%s}",
		v.Environment, redactURL(v.BaseURL), v.Username, mask(v.Password), mask(v.APIKey), v.PageSize, v.RateLimitRPS,
		v.RequestTimeout, v.SearchMode, v.MaxOrderQuantity, v.MaxOrderCost, v.CartTTL)
}

// GoString keeps %#v from printing the secrets.
func (v VoxboneConfig) GoString() string { return v.String() }

// LogValue implements slog.LogValuer with secrets masked.
func (v VoxboneConfig) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("environment", v.Environment),
		slog.String("base_url", redactURL(v.BaseURL)),
		slog.String("username", v.Username),
		slog.String("password", mask(v.Password)),
		slog.String("api_key", mask(v.APIKey)),
		slog.Int("page_size", v.PageSize),
		slog.Int("rate_limit_rps", v.RateLimitRPS),
		slog.Duration("request_timeout", v.RequestTimeout),
		slog.String("search_mode", v.SearchMode),
		slog.Int("max_order_quantity", v.MaxOrderQuantity),
		slog.Float64("max_order_cost", v.MaxOrderCost),
		slog.Duration("cart_ttl", v.CartTTL),
	)
}

// Configured reports whether number_manager.voxbone names any credential or a base_url:
// without one, knm runs without Voxbone.
func (v VoxboneConfig) Configured() bool {
	return v.Username != "" || v.Password != "" || v.APIKey != "" || v.BaseURL != ""
}

// CheckCredentials says what is missing before any request is made: production and
// sandbox need a username and a password, beta an api_key. With a base_url (a proxy, the
// emulator) credentials may be left out, but a username still needs its password.
func (v VoxboneConfig) CheckCredentials() error {
	bad := func(format string, args ...any) error {
		return knm.Errorf(knm.ErrInvalid, "number_manager.voxbone: "+format, args...).
			WithCause("knm config set number_manager.voxbone KEY '\"VALUE\"'")
	}
	switch {
	case (v.Username == "") != (v.Password == "") && (v.BaseURL != "" || v.Environment != VoxboneBeta):
		return bad("username and password go together (one of them is empty)")
	case v.BaseURL != "":
		return nil
	case v.Environment == VoxboneBeta && v.APIKey == "":
		return bad("environment beta needs api_key")
	case v.Environment != VoxboneBeta && (v.Username == "" || v.Password == ""):
		return bad("environment %s needs username and password", v.Environment)
	}
	return nil
}
