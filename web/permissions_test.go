package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/carriers/knmvoxbone"
)

func TestSubAccountSeesOnlyItsTree(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	acme, acmeKey := e.subAccount("Acme", e.masterID)
	globex, _ := e.subAccount("Globex", e.masterID)
	e.number("+14155550101", knm.StateInService, acme.ID)
	e.number("+14155550102", knm.StateInService, globex.ID)
	b := e.browser()
	b.signIn(acmeKey)
	p := b.get("/numbers")
	if p.status != 200 || !strings.Contains(p.body, "+14155550101") || strings.Contains(p.body, "+14155550102") {
		t.Fatalf("Acme's table: %d\n%s", p.status, p.body)
	}
	if strings.Contains(p.body, "Globex") {
		t.Fatal("Acme sees the Globex account")
	}
	// Another account's numbers, or one of them, are refused as the API refuses them.
	if p := b.get("/numbers?account=" + globex.ID); p.status != http.StatusForbidden {
		t.Errorf("Globex's listing: %d", p.status)
	}
	if p := b.get("/numbers/+14155550102"); p.status != http.StatusNotFound {
		t.Errorf("Globex's number: %d", p.status)
	}
	for _, path := range []string{"/settings", "/reconcile"} {
		if p := b.get(path); p.status != http.StatusForbidden {
			t.Errorf("%s as a sub-account: %d", path, p.status)
		}
	}
	// Moving a number into another tree is refused, and nothing changes.
	p = b.post("/numbers", "/numbers/bulk", url.Values{"action": {"activate"}, "account": {globex.ID},
		"n": {"+14155550101"}, "confirm": {"yes"}})
	if p.status != http.StatusForbidden {
		t.Fatalf("activate for Globex: %d", p.status)
	}
	n, _ := e.store.GetNumber(t.Context(), "+14155550101")
	if n.AssignedTo != acme.ID {
		t.Fatal("the number moved")
	}
}

func TestMasterReleaseReviewChangesNothingUntilConfirmed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	e.number("+14155550103", knm.StateInService, e.masterID)
	b := e.browser()
	b.signIn(e.masterKey)
	p := b.post("/numbers", "/numbers/bulk", url.Values{"action": {"release"}, "n": {"+14155550103"}})
	if p.status != 200 || !strings.Contains(p.body, "Confirm: release 1 number(s)") ||
		!strings.Contains(p.body, "owned by nobody, available") {
		t.Fatalf("review: %d\n%s", p.status, p.body)
	}
	if n, _ := e.store.GetNumber(t.Context(), "+14155550103"); n.State != knm.StateInService {
		t.Fatalf("the review changed the number: %s", n.State)
	}
	p = b.post(
		"/numbers",
		"/numbers/bulk",
		url.Values{"action": {"release"}, "n": {"+14155550103"}, "confirm": {"yes"}},
	)
	if n, _ := e.store.GetNumber(t.Context(), "+14155550103"); p.status != 200 || n.State != knm.StateAvailable {
		t.Fatalf("confirmed release: %d, state %s", p.status, n.State)
	}
}

func TestFeatureErrorsAreShownNextToTheirField(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	e.number("+14155550104", knm.StateInService, e.masterID)
	b := e.browser()
	b.signIn(e.masterKey)
	p := b.post(
		"/numbers/+14155550104",
		"/numbers/+14155550104/features",
		url.Values{"cnam.display_name": {"SIXTEEN CHARS XX"}},
	)
	if p.status != http.StatusBadRequest ||
		!strings.Contains(p.body, `id="cnam.display_name-error">cnam.display_name must be 1 to 15 characters`) {
		t.Fatalf("bad cnam: %d\n%s", p.status, p.body)
	}
	p = b.post(
		"/numbers/+14155550104",
		"/numbers/+14155550104/features",
		url.Values{"cnam.display_name": {"ACME"}, "cnam.inbound_lookup": {"on"}},
	)
	if p.status != http.StatusSeeOther {
		t.Fatalf("good cnam: %d\n%s", p.status, p.body)
	}
	n, _ := e.store.GetNumber(t.Context(), "+14155550104")
	if got := string(n.Public["cnam"]); got != `{"display_name":"ACME","inbound_lookup":true}` {
		t.Fatalf("stored cnam %s", got)
	}
}

func TestErrorsArePagesAndTheAPIStaysJSON(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	b := e.browser()
	b.signIn(e.masterKey)
	p := b.get("/no/such/page")
	if p.status != http.StatusNotFound || !strings.Contains(p.header.Get("Content-Type"), "text/html") ||
		!strings.Contains(p.body, "no such page") {
		t.Fatalf("unknown page: %d %s", p.status, p.header.Get("Content-Type"))
	}
	p = b.get("/v2/accounts/" + e.masterID)
	if p.status != http.StatusUnauthorized || mustJSON(t, p.body)["status"] != "error" {
		t.Fatalf("API without a token: %d %s", p.status, p.body)
	}
	if p := b.get("/healthz"); p.status != 200 {
		t.Fatalf("healthz: %d", p.status)
	}
	if p := b.get("/numbers?sort=sideways"); p.status != http.StatusBadRequest ||
		!strings.Contains(p.body, "sort must be") {
		t.Fatalf("bad sort: %d", p.status)
	}
}

func TestSettingsShowSecretsOnlyAsSetAndRefuseBadValuesInline(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	b := e.browser()
	b.signIn(e.masterKey)
	secret := "s3cr3t-password-value"
	p := b.post(
		"/settings",
		"/settings/number_manager.voxbone",
		url.Values{"password": {secret}, "max_order_quantity": {"20"},
			"page_size": {
				"20",
			}, "rate_limit_rps": {"20"}, "request_timeout_ms": {"15000"}, "max_order_cost": {"0"}, "cart_ttl_minutes": {"30"},
			"environment": {"sandbox"}, "search_mode": {"order"}},
	)
	if p.status != http.StatusSeeOther {
		t.Fatalf("save: %d\n%s", p.status, p.body)
	}
	p = b.get("/settings")
	if strings.Contains(p.body, secret) || !strings.Contains(p.body, "<strong>set</strong>") {
		t.Fatalf("settings page shows the secret, or not that it is set:\n%s", p.body)
	}
	p = b.post(
		"/settings",
		"/settings/number_manager.voxbone",
		url.Values{"page_size": {"9000"}, "max_order_quantity": {"20"},
			"rate_limit_rps": {
				"20",
			}, "request_timeout_ms": {"15000"}, "max_order_cost": {"0"}, "cart_ttl_minutes": {"30"},
			"environment": {"sandbox"}, "search_mode": {"order"}},
	)
	if p.status != http.StatusBadRequest ||
		!strings.Contains(p.body, `id="number_manager-voxbone-page_size-error">page_size must be between 1 and 5000`) {
		t.Fatalf("bad page_size: %d\n%s", p.status, p.body)
	}
	vc, err := knmvoxbone.ReadSettings(t.Context(), e.web.cfg)
	if err != nil || vc.PageSize != 20 || vc.Password != secret {
		t.Fatalf("stored settings after a refused form: %+v %v", vc.PageSize, err)
	}
}
