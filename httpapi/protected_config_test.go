package httpapi

import (
	"net/http"
	"strings"
	"testing"

	// knm.events registers its settings' validator, which makes it writable settings.
	_ "github.com/knmproject/knm/events"
)

// TestInternalConfigNotWritable: knm.auth is knm's internal state; a master writing it
// through the API is refused with 403 and nothing changes, so the next start still works.
func TestInternalConfigNotWritable(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, "", nil)
	master := e.login(e.masterKey)
	before := e.do("GET", "/v2/system_configs/knm.auth", master, nil)
	for _, cat := range []string{"knm.auth", "KNM.auth", "knm.anything"} {
		r := e.do("POST", "/v2/system_configs/"+cat, master, `{"data":{"default":{}}}`)
		wantError(t, r, http.StatusForbidden)
		if !strings.Contains(string(r.Env["data"]), "internal state") {
			t.Fatalf("%s: %s does not say why", cat, r.Env["data"])
		}
	}
	after := e.do("GET", "/v2/system_configs/knm.auth", master, nil)
	if string(after.Env["data"]) != string(before.Env["data"]) {
		t.Fatalf("knm.auth changed:\n%s\n%s", before.Env["data"], after.Env["data"])
	}
	e.login(e.masterKey) // the master key still works
}

// TestRegisteredKnmSettingsValidatedOnWrite: a knm.* category that a package registered as
// settings (knm.events) is writable, and validated.
func TestRegisteredKnmSettingsValidatedOnWrite(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, "", nil)
	master := e.login(e.masterKey)
	wantError(t, e.do("POST", "/v2/system_configs/knm.events", master,
		`{"data":{"default":{"retention_days":0}}}`), http.StatusBadRequest)
	if r := e.do("POST", "/v2/system_configs/knm.events", master,
		`{"data":{"default":{"retention_days":7}}}`); r.Status != http.StatusOK {
		t.Fatalf("valid knm.events: %d %s", r.Status, r.Raw)
	}
}

// TestBaseURLWithCredentialsRefusedOnWrite: a base_url carrying user:password is refused
// where it is written, saying why, and the password is not echoed.
func TestBaseURLWithCredentialsRefusedOnWrite(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, "", nil)
	master := e.login(e.masterKey)
	r := e.do("POST", "/v2/system_configs/number_manager.voxbone", master,
		`{"data":{"default":{"base_url":"https://user:s3cret-pw@proxy.example/ws-voxbone/services/rest"}}}`)
	wantError(t, r, http.StatusBadRequest)
	if !strings.Contains(string(r.Env["data"]), "base_url must not carry credentials") ||
		strings.Contains(string(r.Raw), "s3cret-pw") {
		t.Fatalf("refusal: %s", r.Raw)
	}
}

// TestAccountIDCaseInsensitive: an account addressing itself with its id in upper case is
// served, not refused with 403.
func TestAccountIDCaseInsensitive(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, "", nil)
	master := e.login(e.masterKey)
	id, key := e.createAccount(master, "upper", nil)
	tok := e.login(key)
	for _, who := range []struct{ name, token string }{{"itself", tok}, {"master", master}} {
		r := e.do("GET", "/v2/accounts/"+strings.ToUpper(id), who.token, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("%s, upper-case id: %d %s", who.name, r.Status, r.Raw)
		}
	}
	wantError(t, e.do("GET", "/v2/accounts/"+strings.ToUpper(id)[:31]+"G", tok, nil), http.StatusBadRequest)
}

// TestTokenOnlyCanonical: a valid token spelt with other padding bits in its last base64
// character (the same bytes) is refused.
func TestTokenOnlyCanonical(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, "", nil)
	master := e.login(e.masterKey)
	if r := e.do("GET", "/v2/accounts/"+e.masterID, master, nil); r.Status != http.StatusOK {
		t.Fatalf("canonical token: %d %s", r.Status, r.Raw)
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	// The signature is 32 bytes: 43 characters, the last carrying 4 bits and 2 of padding.
	last := strings.IndexByte(alphabet, master[len(master)-1])
	if last < 0 || last&3 != 0 {
		t.Fatalf("token %q does not end in a canonical character", master)
	}
	odd := master[:len(master)-1] + string(alphabet[last|1])
	wantError(t, e.do("GET", "/v2/accounts/"+e.masterID, odd, nil), http.StatusUnauthorized)
}
