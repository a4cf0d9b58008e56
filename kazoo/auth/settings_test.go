package kazooauth_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/config"
	kazooauth "github.com/knmproject/knm/kazoo/auth"
	"github.com/knmproject/knm/kazoo/auth/kazootest"
)

func TestSettingsDefaultsWrittenBack(t *testing.T) {
	e := newEnv(t, kazooauth.Options{})
	s, err := kazooauth.Load(e.ctx, e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if s.Identity != kazooauth.IdentityWhenAvailable || s.ClockSkew != 30*time.Second ||
		s.RefreshInterval != 5*time.Minute || s.CouchDBURL != "" || s.SignatureSecret != "" || len(s.PublicKeys) != 1 {
		t.Fatalf("defaults: %v", s)
	}
	for _, key := range []string{"identity_signature", "clock_skew_s", "refresh_interval_s", "couchdb_url",
		"secret_for_user_signature"} {
		if raw, err := e.cfg.Lookup(e.ctx, kazooauth.Category, []string{key}, nil); err != nil || raw == nil {
			t.Errorf("%s not written back: %s %v", key, raw, err)
		}
	}
}

func TestSettingsRefusedOnWrite(t *testing.T) {
	e := newEnv(t, kazooauth.Options{})
	priv := kazootest.NewKey(t).PrivatePEM()
	weak, _ := rsa.GenerateKey(rand.Reader, 1024)
	weakPEM := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY",
		Bytes: x509.MarshalPKCS1PublicKey(&weak.PublicKey)}))
	cases := []struct {
		key   string
		value any
		want  string
	}{
		{"identity_signature", "sometimes", "identity_signature must be required, when_available or off"},
		{"clock_skew_s", 301, "clock_skew_s must be 0 to 300"},
		{"clock_skew_s", -1, "clock_skew_s must be 0 to 300"},
		{"refresh_interval_s", 0, "refresh_interval_s must be 1 to 86400"},
		{"refresh_interval_s", "soon", "refresh_interval_s must be an integer"},
		{"couchdb_url", "ftp://couch.example", "couchdb_url must be an http or https URL"},
		{"couchdb_url", "http://couch.example/?x=1", "couchdb_url must not have a query or fragment"},
		{"public_keys_pem", map[string]string{"k1": priv}, "holds a private key"},
		{"public_keys_pem", map[string]string{"k1": weakPEM}, "RSA key of 1024 bits"},
		{"public_keys_pem", map[string]string{"k1": "not a key"}, "not PEM"},
		{"public_keys_pem", map[string]string{"": kazootest.NewKey(t).PublicPEM()}, "a kid must be 1 to 128 characters"},
		{"public_keys_pem", []string{"x"}, "public_keys_pem must be a JSON object"},
	}
	for _, c := range cases {
		raw, _ := json.Marshal(c.value)
		err := e.cfg.Set(e.ctx, kazooauth.Category, c.key, raw, "")
		if !knm.IsErrorName(err, knm.ErrInvalid) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s=%s: %v, want invalid %q", c.key, raw, err, c.want)
			continue
		}
		if strings.Contains(err.Error(), "BEGIN") || strings.Contains(err.Error(), "MII") {
			t.Errorf("%s: the error quotes key material: %v", c.key, err)
		}
	}
	// A node section is checked too.
	err := e.cfg.Set(e.ctx, kazooauth.Category, "clock_skew_s", json.RawMessage(`999`), "node1")
	if !knm.IsErrorName(err, knm.ErrInvalid) {
		t.Fatalf("node section: %v", err)
	}
}

func TestSettingsSecretsRedacted(t *testing.T) {
	e := newEnv(t, kazooauth.Options{})
	e.set("secret_for_user_signature", "s3cr3t-system-half")
	e.set("couchdb_url", "https://knm-reader:couch-pass@couch.example:6984")
	doc, err := e.store.GetConfig(e.ctx, "", kazooauth.Category)
	if err != nil {
		t.Fatal(err)
	}
	shown := string(config.Redact(doc.Body))
	for _, secret := range []string{"s3cr3t-system-half", "couch-pass", "knm-reader"} {
		if strings.Contains(shown, secret) {
			t.Errorf("%q shown: %s", secret, shown)
		}
	}
	if !strings.Contains(shown, e.key.ID) || !strings.Contains(shown, "BEGIN RSA PUBLIC KEY") {
		t.Errorf("public keys hidden, though they are not secret: %s", shown)
	}
	s, err := kazooauth.Load(e.ctx, e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if str := s.String(); strings.Contains(str, "s3cr3t") || strings.Contains(str, "couch-pass") {
		t.Errorf("String shows a secret: %s", str)
	}
	// Writing the marker back is refused, so a shown document edited and stored keeps its secret.
	err = e.cfg.Set(e.ctx, kazooauth.Category, "secret_for_user_signature", json.RawMessage(`"***"`), "")
	if !knm.IsErrorName(err, knm.ErrInvalid) {
		t.Fatalf("marker written back: %v", err)
	}
}
