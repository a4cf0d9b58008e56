package web

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/knmproject/knm/carriers/knmvoxbone"
	"github.com/knmproject/knm/lease"
	"github.com/knmproject/knm/voxbone/emulator"
)

// TestOrdersNameTheirInstance: an order placed by a process holding an instance lease
// names that instance's host and process on the orders page and the order's page, running
// while the lease lasts, and stopped or ended once it is released.
func TestOrdersNameTheirInstance(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	e := newEnv(t, false)
	l, err := lease.Acquire(ctx, e.store, lease.Options{TTL: time.Minute, Host: "knm-test-host", PID: 4242})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(emulator.New(emulator.Config{}))
	t.Cleanup(srv.Close)
	s := knmvoxbone.DefaultSettings()
	s.BaseURL = srv.URL + "/ws-voxbone/services/rest"
	c, err := knmvoxbone.New(s, knmvoxbone.Deps{Store: e.store, Owner: l.ID})
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Order(ctx, knmvoxbone.OrderRequest{GroupID: 1404, Quantity: 1})
	if err != nil || res.Instance != l.ID() {
		t.Fatalf("order %+v (instance %q, want %q), %v", res, res.Instance, l.ID(), err)
	}
	e.withVoxbone(c)
	b := e.browser()
	b.signIn(e.masterKey)
	for _, path := range []string{"/orders", "/orders/" + res.OrderID} {
		if p := b.get(path); !strings.Contains(p.body, "knm-test-host, process 4242 (running)") {
			t.Fatalf("%s does not name the running instance:\n%s", path, p.body)
		}
	}
	if err := l.Release(ctx); err != nil {
		t.Fatal(err)
	}
	e.clock.add(time.Minute) // the page's clock, frozen at the test's start, passes the release
	if p := b.get("/orders"); !strings.Contains(p.body, "knm-test-host, process 4242 (stopped since") &&
		!strings.Contains(p.body, res.Instance+" (ended") {
		t.Fatalf("the orders page does not say the instance stopped:\n%s", p.body)
	}
}
