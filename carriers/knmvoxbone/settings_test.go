package knmvoxbone

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/config"
	"github.com/knmproject/knm/ratelimit"
)

func TestSettingsValidate(t *testing.T) {
	t.Parallel()
	if err := DefaultSettings().Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	for name, mut := range map[string]func(*Settings){
		"environment": func(s *Settings) { s.Environment = "staging" },
		"page_size":   func(s *Settings) { s.PageSize = 5001 },
		"base_url":    func(s *Settings) { s.BaseURL = "ftp://x" },
		"creds url":   func(s *Settings) { s.BaseURL = "http://u:secretpw@127.0.0.1/" },
		"rps":         func(s *Settings) { s.RateLimitRPS = -1 },
		"timeout":     func(s *Settings) { s.RequestTimeout = -1 },
		"search_mode": func(s *Settings) { s.SearchMode = "buy" },
		"max_qty":     func(s *Settings) { s.MaxOrderQuantity = -3 },
		"max_cost":    func(s *Settings) { s.MaxOrderCost = -1 },
		"cart_ttl":    func(s *Settings) { s.CartTTL = -time.Minute },
	} {
		s := DefaultSettings()
		s.Password, s.APIKey = "secretpw", "secretkey"
		mut(&s)
		err := s.Validate()
		if !knm.IsErrorName(err, knm.ErrInvalid) {
			t.Errorf("%s: err = %v, want invalid", name, err)
			continue
		}
		if strings.Contains(err.Error(), "secret") || strings.Contains(s.String(), "secret") {
			t.Errorf("%s: a secret leaked: %v / %s", name, err, s)
		}
	}
	// Zero fields take defaults in New.
	c, err := New(Settings{}, Deps{Store: openSQLite(t)})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Settings(); got != DefaultSettings() {
		t.Errorf("defaults = %+v", got)
	}
	if _, err := New(Settings{}, Deps{}); !knm.IsErrorName(err, knm.ErrInvalid) {
		t.Errorf("no store: %v", err)
	}
	if c.Name() != "knm_voxbone" || c.Info().MaximalPrefixLength != 3 || c.IsLocal() || !c.IsNumberBillable(nil) {
		t.Error("carrier identity differs from kazoo-knm §1")
	}
}

// TestReadSettingsDefaults: an empty category reads as the defaults, which are written back
// under the primary spelling.
func TestReadSettingsDefaults(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openSQLite(t)
	got, err := ReadSettings(ctx, config.New(s, "", ""))
	if err != nil {
		t.Fatal(err)
	}
	if got != DefaultSettings() {
		t.Errorf("defaults = %+v", got)
	}
	doc, err := s.GetConfig(ctx, "", Category)
	if err != nil {
		t.Fatal(err)
	}
	if b := string(doc.Body); !strings.Contains(b, `"username":""`) || strings.Contains(b, "api_username") ||
		!strings.Contains(b, `"page_size":20`) {
		t.Errorf("defaults not written under the primary spelling: %s", b)
	}
}

// TestReadSettingsSpellings: Kazoo master's spellings are read; when one section holds both,
// the seed's wins, and a more specific section beats either.
func TestReadSettingsSpellings(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openSQLite(t)
	putSettings(t, s, `{"_id":"number_manager.voxbone","default":{"api_username":"mu","api_password":"mp",`+
		`"max_page_size":"100","environment":"production"}}`)
	v, err := ReadSettings(ctx, config.New(s, "", ""))
	if err != nil || v.Username != "mu" || v.Password != "mp" || v.PageSize != 100 || v.Environment != EnvProduction {
		t.Errorf("master spellings: %+v, %v", v, err)
	}
	s = openSQLite(t)
	putSettings(t, s, `{"_id":"number_manager.voxbone","default":{"api_username":"mu","username":"su",`+
		`"password":"sp","api_password":"mp","page_size":5,"max_page_size":50},"n1":{"api_password":"node"}}`)
	v, err = ReadSettings(ctx, config.New(s, "n1", ""))
	if err != nil || v.Username != "su" || v.Password != "node" || v.PageSize != 5 {
		t.Errorf("both spellings: %+v, %v", v, err)
	}
}

// TestReadSettingsInvalid: every problem is reported at once, each key once.
func TestReadSettingsInvalid(t *testing.T) {
	t.Parallel()
	s := openSQLite(t)
	putSettings(t, s, `{"_id":"number_manager.voxbone","default":{"environment":"prod","page_size":5001,`+
		`"rate_limit_rps":0,"search_mode":"buy","max_order_quantity":0,"max_order_cost":-1,"cart_ttl_minutes":0,`+
		`"request_timeout_ms":0,"base_url":"ftp:/x","username":["a"]}}`)
	_, err := ReadSettings(context.Background(), config.New(s, "", ""))
	if !knm.IsErrorName(err, knm.ErrInvalid) {
		t.Fatalf("err = %v", err)
	}
	for _, want := range []string{`environment must be production, sandbox or beta, got "prod"`,
		"page_size must be between 1 and 5000, got 5001", "rate_limit_rps must be at least 1",
		`search_mode must be order or pool, got "buy"`, "max_order_quantity must be at least 1",
		"cart_ttl_minutes must be at least 1", "request_timeout_ms must be at least 1",
		"base_url must be an absolute http or https URL", "invalid number_manager.voxbone: ",
		"username must be a string", "max_order_cost must not be negative"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err does not mention %q:\n%v", want, err)
		}
	}
	// A value of the wrong type is reported as such, not also as breaking its rule.
	s = openSQLite(t)
	putSettings(t, s, `{"_id":"number_manager.voxbone","default":{"page_size":"big"}}`)
	_, err = ReadSettings(context.Background(), config.New(s, "", ""))
	if !strings.Contains(err.Error(), "page_size must be an integer") || strings.Contains(err.Error(), "between") {
		t.Errorf("wrong type: %v", err)
	}
}

// TestSettingsNeverShowSecrets: the password, the API key and a password in base_url never
// show in any rendering of the settings.
func TestSettingsNeverShowSecrets(t *testing.T) {
	t.Parallel()
	v := Settings{Username: "user", Password: "hunter2", APIKey: "k-123", Environment: EnvBeta,
		BaseURL: "https://u:urlpass@example.com/rest"}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("cfg", "voxbone", v)
	for name, out := range map[string]string{
		"String": v.String(), "%v": fmt.Sprintf("%v", v), "%+v": fmt.Sprintf("%+v", v),
		"%#v": fmt.Sprintf("%#v", v), "slog": logged.String(),
	} {
		for _, secret := range []string{"hunter2", "k-123", "urlpass"} {
			if strings.Contains(out, secret) {
				t.Errorf("%s shows %q: %s", name, secret, out)
			}
		}
		if !strings.Contains(out, "user") {
			t.Errorf("%s hides the username: %s", name, out)
		}
	}
}

func TestSettingsCredentials(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		v          Settings
		configured bool
		err        string
	}{
		{Settings{Environment: EnvProduction}, false, "needs username and password"},
		{Settings{Environment: EnvSandbox, Username: "u"}, true, "go together"},
		{Settings{Environment: EnvSandbox, Username: "u", Password: "p"}, true, ""},
		{Settings{Environment: EnvBeta}, false, "needs api_key"},
		{Settings{Environment: EnvBeta, APIKey: "k"}, true, ""},
		{Settings{Environment: EnvSandbox, BaseURL: "http://127.0.0.1:1/ws"}, true, ""},
		{Settings{Environment: EnvSandbox, BaseURL: "http://127.0.0.1:1/ws", Password: "p"}, true, "go together"},
	} {
		if got := tt.v.Configured(); got != tt.configured {
			t.Errorf("%v: Configured = %v", tt.v, got)
		}
		err := tt.v.CheckCredentials()
		if tt.err == "" && err != nil || tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("%v: CheckCredentials = %v, want %q", tt.v, err, tt.err)
		}
		if err != nil && strings.Contains(err.Error(), "p\"") {
			t.Errorf("error shows a secret: %v", err)
		}
	}
}

// TestSettingsRefusedOnWrite: with the validator registered, a write that would make the
// category unreadable, in any section, is refused and the stored document left as it was.
func TestSettingsRefusedOnWrite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := config.New(openSQLite(t), "node1", "")
	if err := c.Set(ctx, Category, "environment", json.RawMessage(`"production"`), ""); err != nil {
		t.Fatal(err)
	}
	if err := c.Set(ctx, Category, "environment", json.RawMessage(`"mars"`), ""); !knm.IsErrorName(err,
		knm.ErrInvalid) ||
		!strings.Contains(err.Error(), "section default: ") {
		t.Fatalf("invalid environment stored: %v", err)
	}
	if err := c.Set(ctx, Category, "page_size", json.RawMessage(`0`), "node1"); !knm.IsErrorName(err, knm.ErrInvalid) ||
		!strings.Contains(err.Error(), "section node1: ") {
		t.Fatalf("invalid node value stored: %v", err)
	}
	v, err := ReadSettings(ctx, c)
	if err != nil || v.Environment != EnvProduction || v.PageSize != 20 {
		t.Fatalf("after refused writes: %+v, %v", v, err)
	}
	doc := `[{"_id":"number_manager.voxbone","default":{"environment":"mars"}}]`
	if _, err := c.Import(ctx, strings.NewReader(doc)); !knm.IsErrorName(err, knm.ErrInvalid) {
		t.Fatalf("import of an invalid document: %v", err)
	}
}

// TestRateLimitMarginReachesTheLimiter: rate_limit_margin_ms widens the window of the
// carrier's limiter, shared or its own.
func TestRateLimitMarginReachesTheLimiter(t *testing.T) {
	s := testSettings("http://127.0.0.1:1")
	s.RateLimitMargin = 200 * time.Millisecond
	shared := ratelimit.NewLocal(20)
	newTestCarrier(t, s, Deps{Limiter: shared})
	if shared.Margin != 200*time.Millisecond {
		t.Fatalf("shared limiter margin %v", shared.Margin)
	}
	own := newTestCarrier(t, s, Deps{})
	if l, ok := own.limiter.(*ratelimit.Local); !ok || l.Margin != 200*time.Millisecond {
		t.Fatalf("own limiter %T %+v", own.limiter, own.limiter)
	}
}
