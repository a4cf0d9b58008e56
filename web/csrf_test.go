package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestStateChangingFormsNeedTheSessionsToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	b := e.browser()
	b.signIn(e.masterKey)
	other := e.browser()
	other.signIn(e.masterKey)
	otherToken := other.csrf("/accounts")
	for name, form := range map[string]url.Values{
		"missing":       {"name": {"Forged"}},
		"other session": {"name": {"Forged"}, "csrf": {otherToken}},
		"wrong":         {"name": {"Forged"}, "csrf": {"AAAA"}},
	} {
		p := b.do("POST", "/accounts", form)
		if p.status != http.StatusForbidden || !strings.Contains(p.body, "security token") {
			t.Errorf("%s token: %d", name, p.status)
		}
	}
	accs, _ := e.mgr.ListAccounts(t.Context(), e.masterID)
	if len(accs) != 1 {
		t.Fatalf("a refused form created an account: %d accounts", len(accs))
	}
	p := b.post("/accounts", "/accounts", url.Values{"name": {"Real"}, "parent_id": {e.masterID}})
	if p.status != http.StatusCreated {
		t.Fatalf("with the token: %d", p.status)
	}
}

func TestSignInFormNeedsItsToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	b := e.browser()
	p := b.do("POST", "/signin", url.Values{"api_key": {e.masterKey}})
	if p.status != http.StatusForbidden {
		t.Fatalf("sign in without token: %d", p.status)
	}
}

func TestCrossOriginPostIsRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	b := e.browser()
	b.signIn(e.masterKey)
	form := url.Values{"name": {"X"}, "csrf": {b.csrf("/accounts")}}
	req, _ := http.NewRequest("POST", e.srv.URL+"/accounts", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site post: %d", resp.StatusCode)
	}
}

func TestLostSessionOnAFormGoesToSignInAndBackToThePage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	b := e.browser()
	req, _ := http.NewRequest("POST", e.srv.URL+"/accounts", strings.NewReader("name=x"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Referer", e.srv.URL+"/accounts")
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/signin?next=%2Faccounts" {
		t.Fatalf("post without a session: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}
