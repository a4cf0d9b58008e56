package web

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/knmproject/knm/carriers/knmvoxbone"
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
