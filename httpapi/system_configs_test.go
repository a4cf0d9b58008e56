package httpapi

import (
	"strings"
	"testing"

	// knm_voxbone registers the validator of number_manager.voxbone, which these tests write.
	_ "github.com/knmproject/knm/carriers/knmvoxbone"
)

func TestSystemConfigsRedacted(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, "", nil)
	master := e.login(e.masterKey)
	r := e.do("POST", "/v2/system_configs/number_manager.voxbone", master,
		`{"data":{"default":{"username":"u","password":"hunter2","api_key":"k-123"}}}`)
	if r.Status != 200 || strings.Contains(string(r.Raw), "hunter2") || strings.Contains(string(r.Raw), "k-123") {
		t.Fatalf("post echo: %d %s", r.Status, r.Raw)
	}
	r = e.do("GET", "/v2/system_configs/number_manager.voxbone", master, nil)
	if r.Status != 200 || strings.Contains(string(r.Raw), "hunter2") || !strings.Contains(string(r.Raw),
		`"username":"u"`) {
		t.Fatalf("get: %d %s", r.Status, r.Raw)
	}
	r = e.do("GET", "/v2/system_configs/knm.auth", master, nil)
	var doc struct{ Default map[string]any }
	r.data(t, &doc)
	if doc.Default["token_secret"] != "***" {
		t.Fatalf("token secret not redacted: %s", r.Raw)
	}
	// Posting the redaction marker back would destroy the credential: refused.
	wantError(t, e.do("POST", "/v2/system_configs/number_manager.voxbone", master,
		`{"data":{"default":{"password":"***"}}}`), 400)
	// Values knm could not use are refused where they are written, as by knm config set,
	// and nothing is stored.
	before := e.do("GET", "/v2/system_configs/number_manager", master, nil)
	for _, body := range []string{
		`{"data":{"default":{"carrier_modules":"x"}}}`,
		`{"data":{"default":{"number_search_timeout_ms":-5}}}`,
		`{"data":{"default":"not an object"}}`,
	} {
		wantError(t, e.do("POST", "/v2/system_configs/number_manager", master, body), 400)
	}
	wantError(t, e.do("POST", "/v2/system_configs/number_manager.voxbone", master,
		`{"data":{"default":{"environment":"bogus"}}}`), 400)
	if after := e.do("GET", "/v2/system_configs/number_manager", master,
		nil); string(after.Env["data"]) != string(before.Env["data"]) {
		t.Fatalf("a refused POST changed the document:\n%s\n%s", before.Env["data"], after.Env["data"])
	}
	wantError(t, e.do("GET", "/v2/system_configs/nope", master, nil), 404)
}
