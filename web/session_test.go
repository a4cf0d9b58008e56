package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestSignInSetsAStrictHttpOnlyExpiringCookie(t *testing.T) {
	t.Parallel()
	for _, tls := range []bool{false, true} {
		e := newEnv(t, tls)
		b := e.browser()
		p := b.signIn(e.masterKey)
		if p.status != http.StatusSeeOther || p.header.Get("Location") != "/numbers" {
			t.Fatalf("sign in: %d to %q", p.status, p.header.Get("Location"))
		}
		var c *http.Cookie
		for _, k := range (&http.Response{Header: p.header}).Cookies() {
			if k.Name == sessionCookie {
				c = k
			}
		}
		if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.MaxAge != 3600 || c.Secure != tls {
			t.Fatalf("tls=%v: session cookie %+v", tls, c)
		}
		if strings.Contains(c.Value, e.masterKey) {
			t.Fatal("the cookie carries the API key")
		}
	}
}

func TestWrongKeyIsRefusedWithTheFormAgain(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	b := e.browser()
	p := b.signIn("0123456789abcdef0123456789abcdef")
	if p.status != http.StatusUnauthorized || !strings.Contains(p.body, "not valid") ||
		!strings.Contains(p.body, `id="api_key"`) {
		t.Fatalf("wrong key: %d\n%s", p.status, p.body)
	}
	if got := b.get("/numbers"); got.status != http.StatusSeeOther {
		t.Fatalf("a refused sign-in opened a session: %d", got.status)
	}
}

func TestExpiredSessionReturnsToSignInAndBack(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	b := e.browser()
	b.signIn(e.masterKey)
	if p := b.get("/numbers?state=available"); p.status != http.StatusOK {
		t.Fatalf("signed in: %d", p.status)
	}
	e.clock.add(time.Hour + time.Second)
	p := b.get("/numbers?state=available")
	want := "/signin?next=" + url.QueryEscape("/numbers?state=available")
	if p.status != http.StatusSeeOther || p.header.Get("Location") != want {
		t.Fatalf("expired session: %d to %q, want %q", p.status, p.header.Get("Location"), want)
	}
	// Signing in again goes back to the page asked for.
	next := b.do(
		"POST",
		"/signin",
		url.Values{"api_key": {e.masterKey}, "csrf": {b.csrf(want)}, "next": {"/numbers?state=available"}},
	)
	if next.header.Get("Location") != "/numbers?state=available" {
		t.Fatalf("after sign in: %q", next.header.Get("Location"))
	}
}

func TestForgedOrForeignCookiesAreNoSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	b := e.browser()
	b.signIn(e.masterKey)
	u, _ := url.Parse(e.srv.URL)
	var good string
	for _, c := range b.jar.Cookies(u) {
		if c.Name == sessionCookie {
			good = c.Value
		}
	}
	payload, sig, _ := strings.Cut(good, ".")
	other := newEnv(t, false) // another database: another secret
	ob := other.browser()
	ob.signIn(other.masterKey)
	ou, _ := url.Parse(other.srv.URL)
	var foreign string
	for _, c := range ob.jar.Cookies(ou) {
		if c.Name == sessionCookie {
			foreign = c.Value
		}
	}
	cookies := map[string]string{"tampered": payload + "A." + sig, "foreign": foreign, "garbage": "x.y", "empty": ""}
	for name, v := range cookies {
		c := e.browser()
		c.jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: v}})
		if p := c.get("/"); p.status != http.StatusSeeOther {
			t.Errorf("%s cookie: %d", name, p.status)
		}
	}
}

func TestSignOutEndsTheSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	b := e.browser()
	b.signIn(e.masterKey)
	if p := b.post("/", "/signout", url.Values{}); p.status != http.StatusSeeOther {
		t.Fatalf("sign out: %d", p.status)
	}
	if p := b.get("/"); p.status != http.StatusSeeOther {
		t.Fatalf("after sign out: %d", p.status)
	}
}

func TestDisabledAccountLosesItsSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	acc, key := e.subAccount("Acme", e.masterID)
	b := e.browser()
	b.signIn(key)
	if p := b.get("/numbers"); p.status != http.StatusOK {
		t.Fatalf("signed in: %d", p.status)
	}
	acc.Enabled = false
	if err := e.store.UpdateAccount(t.Context(), acc); err != nil {
		t.Fatal(err)
	}
	if p := b.get("/numbers"); p.status != http.StatusSeeOther {
		t.Fatalf("disabled account: %d", p.status)
	}
}
