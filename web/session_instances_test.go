package web

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/knmproject/knm/internal/dbtest"
)

// twoInstances returns two consoles, each with its own store handle, on one database: two
// knm instances behind a load balancer.
func twoInstances(t *testing.T, db dbtest.DB) (a, b *env) {
	t.Helper()
	return newEnvOn(t, db.Open(t), false), newEnvOn(t, db.Open(t), false)
}

// sessionCookieOf returns the browser's session cookie for e.
func (b *browser) sessionCookie() *http.Cookie {
	u, _ := url.Parse(b.e.srv.URL)
	for _, c := range b.jar.Cookies(u) {
		if c.Name == sessionCookie {
			return c
		}
	}
	return nil
}

// on returns a browser on e carrying b's session cookie: the same browser sent by the
// load balancer to another instance.
func (b *browser) on(e *env) *browser {
	c := e.browser()
	if k := b.sessionCookie(); k != nil {
		u, _ := url.Parse(e.srv.URL)
		c.jar.SetCookies(u, []*http.Cookie{{Name: k.Name, Value: k.Value}})
	}
	return c
}

// TestSessionsAcrossInstances: a session opened on one instance is valid on another
// sharing the database (the secret is in the database), and its forms' CSRF tokens too.
func TestSessionsAcrossInstances(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db dbtest.DB) {
		a, b := twoInstances(t, db)
		onA := a.browser()
		onA.signIn(a.masterKey)
		onB := onA.on(b)
		if p := onB.get("/numbers"); p.status != http.StatusOK {
			t.Fatalf("instance B refused A's session: %d", p.status)
		}
		// A form rendered by A is accepted by B.
		form := url.Values{"name": {"Acme"}, "csrf": {onA.csrf("/accounts")}}
		if p := onB.do("POST", "/accounts", form); p.status != http.StatusCreated {
			t.Fatalf("B refused A's form: %d\n%s", p.status, p.body)
		}
	})
}

// TestSignOutEverywhere ends every session of one account on every instance, and no
// other account's; signing in again works.
func TestSignOutEverywhere(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db dbtest.DB) {
		a, b := twoInstances(t, db)
		_, acmeKey := a.subAccount("Acme", a.masterID)
		laptop, phone := a.browser(), b.browser()
		laptop.signIn(a.masterKey)
		phone.signIn(b.masterKey)
		acme := b.browser()
		acme.signIn(acmeKey)
		if p := laptop.post("/accounts", "/signout/everywhere", url.Values{}); p.status != http.StatusSeeOther ||
			p.header.Get("Location") != "/signin" {
			t.Fatalf("sign out everywhere: %d to %q", p.status, p.header.Get("Location"))
		}
		if p := phone.get("/numbers"); p.status != http.StatusSeeOther {
			t.Errorf("the master's session on B survived: %d", p.status)
		}
		if p := laptop.on(a).get("/numbers"); p.status != http.StatusSeeOther {
			t.Errorf("the master's session on A survived: %d", p.status)
		}
		if p := acme.get("/numbers"); p.status != http.StatusOK {
			t.Errorf("Acme's session ended too: %d", p.status)
		}
		// A later sign-in is a new session, valid everywhere.
		again := a.browser()
		again.signIn(a.masterKey)
		if p := again.on(b).get("/numbers"); p.status != http.StatusOK {
			t.Errorf("signing in again: %d", p.status)
		}
	})
}

// TestSessionKeyRotation: the master's rotation ends every session of every account, on
// this instance at once and on the others within keyRefresh; a sub-account may not rotate.
func TestSessionKeyRotation(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db dbtest.DB) {
		a, b := twoInstances(t, db)
		_, acmeKey := a.subAccount("Acme", a.masterID)
		acme := b.browser()
		acme.signIn(acmeKey)
		if p := acme.post("/accounts", "/sessions/rotate", url.Values{}); p.status != http.StatusForbidden {
			t.Fatalf("Acme rotated the key: %d", p.status)
		}
		master := a.browser()
		master.signIn(a.masterKey)
		masterOnB := master.on(b)
		if p := master.post("/accounts", "/sessions/rotate", url.Values{}); p.status != http.StatusSeeOther {
			t.Fatalf("rotate: %d", p.status)
		}
		if p := master.on(a).get("/"); p.status != http.StatusSeeOther {
			t.Errorf("the master's session survived on A: %d", p.status)
		}
		b.clock.add(keyRefresh + time.Millisecond)
		for who, br := range map[string]*browser{"Acme": acme, "the master": masterOnB} {
			if p := br.get("/numbers"); p.status != http.StatusSeeOther {
				t.Errorf("%s's session survived on B: %d", who, p.status)
			}
		}
		// Sessions opened with the new key are valid on both.
		fresh := b.browser()
		fresh.signIn(b.masterKey)
		if p := fresh.on(a).get("/numbers"); p.status != http.StatusOK {
			t.Errorf("a session after the rotation: %d", p.status)
		}
	})
}
