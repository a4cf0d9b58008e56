package web

import (
	"context"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/knmproject/knm/carriers/knmvoxbone"
	"github.com/knmproject/knm/manager"
	"github.com/knmproject/knm/ratelimit"
	"github.com/knmproject/knm/voxbone/emulator"
)

// withVoxbone serves the console again with the knm_voxbone carrier c.
func (e *env) withVoxbone(c *knmvoxbone.Carrier) {
	e.t.Helper()
	w, err := New(Options{Manager: e.mgr, Store: e.store, Config: e.web.cfg, Now: e.clock.now, SessionTTL: time.Hour,
		Voxbone: VoxboneFrom(func(context.Context) (*knmvoxbone.Carrier, error) { return c, nil })})
	if err != nil {
		e.t.Fatal(err)
	}
	e.web, e.srv = w, httptest.NewServer(w.Handler())
	e.t.Cleanup(e.srv.Close)
}

// TestDashboardRateBudget: the master's dashboard shows how many Voxbone requests the
// limiter holds in its window, out of rate_limit_rps, counting its own balance request. The
// limiter's margin is a minute, so no request leaves the window while the test runs.
func TestDashboardRateBudget(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	srv := httptest.NewServer(emulator.New(emulator.Config{}))
	t.Cleanup(srv.Close)
	s := knmvoxbone.DefaultSettings()
	s.BaseURL = srv.URL + "/ws-voxbone/services/rest"
	lim := ratelimit.NewLocal(s.RateLimitRPS)
	lim.Margin = time.Minute
	c, err := knmvoxbone.New(s, knmvoxbone.Deps{Store: e.store, Limiter: lim})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := c.Client().AccountBalance(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	e.withVoxbone(c)
	b := e.browser()
	b.signIn(e.masterKey)
	p := b.get("/")
	if p.status != 200 || !strings.Contains(p.body, "<strong>4 of 20</strong> requests in the last second, by this knm instance") ||
		!strings.Contains(p.body, `<meter min="0" max="20" value="4"`) {
		t.Fatalf("dashboard: %d\n%s", p.status, p.body)
	}
	// A sub-account is not shown the carrier's budget.
	_, key := e.subAccount("Acme", e.masterID)
	a := e.browser()
	a.signIn(key)
	if p := a.get("/"); p.status != 200 || strings.Contains(p.body, "request budget") {
		t.Fatalf("Acme's dashboard: %d\n%s", p.status, p.body)
	}
}

// TestRoutingPendingShown: DIDs bought while Voxbone refuses their configuration are on the
// master's dashboard and marked on their number page; a sub-account sees none of them (the
// order is not its own); once Recover has routed them both pages say so.
func TestRoutingPendingShown(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	e := newEnv(t, false)
	em := emulator.New(emulator.Config{})
	srv := httptest.NewServer(em)
	t.Cleanup(srv.Close)
	s := knmvoxbone.DefaultSettings()
	s.BaseURL = srv.URL + "/ws-voxbone/services/rest"
	s.Routing.VoiceURI = "sip:{e164}@sbc.example.com"
	c, err := knmvoxbone.New(s, knmvoxbone.Deps{Store: e.store})
	if err != nil {
		t.Fatal(err)
	}
	em.AddFault(emulator.Fault{Endpoint: "configuration", Status: 500})
	res, err := c.Order(ctx, knmvoxbone.OrderRequest{GroupID: 1404, Quantity: 2})
	if err != nil || len(res.Numbers) != 2 {
		t.Fatalf("order %+v, %v", res, err)
	}
	e.withVoxbone(c)
	b := e.browser()
	b.signIn(e.masterKey)
	p := b.get("/")
	if !strings.Contains(p.body, "2 DID(s) bought but not yet routed") || !strings.Contains(p.body, res.Numbers[0]) {
		t.Fatalf("dashboard without the unrouted DIDs:\n%s", p.body)
	}
	if p := b.get("/numbers/" + res.Numbers[0]); !strings.Contains(p.body, "Not routed yet at Voxbone (pending") {
		t.Fatalf("number page without its pending routing:\n%s", p.body)
	}
	_, key := e.subAccount("Acme", e.masterID)
	acme := e.browser()
	acme.signIn(key)
	if p := acme.get("/"); strings.Contains(p.body, res.Numbers[0]) {
		t.Fatalf("Acme sees the master's unrouted DIDs:\n%s", p.body)
	}
	em.ClearFaults()
	if rep, err := c.Recover(ctx); err != nil || len(rep.Unsettled) > 0 {
		t.Fatalf("recover: %+v, %v", rep, err)
	}
	if p := b.get("/"); !strings.Contains(p.body, "None: every DID bought is routed") {
		t.Fatalf("dashboard after recovery:\n%s", p.body)
	}
	if p := b.get("/numbers/" + res.Numbers[0]); !strings.Contains(p.body, "No routing change is pending") {
		t.Fatalf("number page after recovery:\n%s", p.body)
	}
}

// TestOrderPageSettleRules: an unfinished order's page says when Settle now works, as
// SettleOrder decides it: left to a live owning instance, at once for an expired lease, after
// RecoverGrace for an order without an owner, which a settle before that is refused.
func TestOrderPageSettleRules(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	em := emulator.New(emulator.Config{})
	srv := httptest.NewServer(em)
	t.Cleanup(srv.Close)
	s := knmvoxbone.DefaultSettings()
	s.BaseURL = srv.URL + "/ws-voxbone/services/rest"
	c, err := knmvoxbone.New(s, knmvoxbone.Deps{Store: e.store})
	if err != nil {
		t.Fatal(err)
	}
	em.AddFault(emulator.Fault{Endpoint: "did.list", Status: 500})                   // bought, not imported
	_, _ = c.Order(t.Context(), knmvoxbone.OrderRequest{GroupID: 1404, Quantity: 1}) // unfinished, checked below
	os, err := c.ListOrders(t.Context())
	if err != nil || len(os) != 1 || os[0].State.Final() {
		t.Fatalf("orders %+v, %v", os, err)
	}
	e.withVoxbone(c)
	b := e.browser()
	b.signIn(e.masterKey)
	p := b.get("/orders/" + os[0].OrderID)
	for _, want := range []string{"left to that instance", "lease has expired is taken over and settled now",
		"without an owning instance can be settled once idle for " + manager.RecoverGrace.String()} {
		if !strings.Contains(p.body, want) {
			t.Fatalf("order page without %q:\n%s", want, p.body)
		}
	}
	if p := b.post("/orders/"+os[0].OrderID, "/orders/"+os[0].OrderID+"/settle", url.Values{}); p.status != 409 ||
		!strings.Contains(p.body, "once idle for "+manager.RecoverGrace.String()) {
		t.Fatalf("settle of a young unowned order: %d\n%s", p.status, p.body)
	}
}
