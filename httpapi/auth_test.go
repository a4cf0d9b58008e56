package httpapi

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/config"
	"github.com/knmproject/knm/manager"
	"github.com/knmproject/knm/store"
)

func TestAuthTokens(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, "", nil)
	wantError(t, e.do("PUT", "/v2/api_auth", "", `{"data":{"api_key":"nope"}}`), 401)
	wantError(t, e.do("GET", "/v2/accounts/"+e.masterID, "garbage.token", nil), 401)
	tok := e.login(e.masterKey)
	// A token signed by another secret (another database) is refused.
	forged, _ := tokenSigner{secret: []byte("another-secret-entirely"), ttl: DefaultTokenTTL,
		now: e.api.now}.issue(e.masterID)
	wantError(t, e.do("GET", "/v2/accounts/"+e.masterID, forged, nil), 401)
	expired, _ := tokenSigner{secret: e.api.signer.secret, ttl: -1, now: e.api.now}.issue(e.masterID)
	wantError(t, e.do("GET", "/v2/accounts/"+e.masterID, expired, nil), 401)
	r := e.do("GET", "/v2/accounts/"+e.masterID, tok, nil)
	if r.Status != 200 || r.str("auth_token") != tok {
		t.Fatalf("account read: %d %s", r.Status, r.Raw)
	}
	if strings.Contains(string(r.Raw), "api_key") {
		t.Fatalf("account read shows an api key: %s", r.Raw)
	}
	if id := r.Header.Get("X-Request-Id"); id == "" {
		t.Fatal("no X-Request-Id")
	}
}

// TestEnsureMasterKeyLength: a master key shorter than 16 characters is refused before
// anything is written; 16 is enough; an empty key still means "keep or generate".
func TestEnsureMasterKeyLength(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := store.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "knm.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	cfg := config.New(s, "test", "")
	refuse := func(t *testing.T, key string) {
		t.Helper()
		_, err := EnsureMaster(ctx, s, cfg, key)
		var ke *knm.Error
		if !errors.As(err, &ke) || ke.Name != knm.ErrInvalid ||
			ke.Message != "KNM_MASTER_API_KEY must be at least 16 characters" {
			t.Fatalf("EnsureMaster(%q): %v, want invalid KNM_MASTER_API_KEY must be at least 16 characters", key, err)
		}
	}
	short := []string{"short", "x", "0123456789abcde", "ééééééééééééééé" /* 15 characters, 30 bytes */}
	for _, key := range short {
		t.Run("new master/"+key, func(t *testing.T) {
			refuse(t, key)
			if raw, _ := cfg.Lookup(ctx, authCategory, []string{"master_account_id"}, nil); raw != nil {
				t.Fatalf("refused key made a master: %s", raw)
			}
		})
	}
	for _, key := range []string{"0123456789abcdef", "", manager.NewAPIKey(), "éééééééééééééééé"} {
		t.Run("accepted/"+key, func(t *testing.T) {
			if m, err := EnsureMaster(ctx, s, cfg, key); err != nil || m.ID == "" || m.GeneratedKey != "" {
				t.Fatalf("EnsureMaster(%q): %+v %v", key, m, err)
			}
		})
	}
	for _, key := range short {
		t.Run("existing master/"+key, func(t *testing.T) { refuse(t, key) })
	}
}
