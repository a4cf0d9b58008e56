package httpapi

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/knmproject/knm/config"
)

// TestPutAnswers201: every successful PUT is 201, and PUT {N} takes no body.
func TestPutAnswers201(t *testing.T) {
	t.Parallel()
	f := newKazooRoutesFixture(t)
	e := f.e
	e.importNumbers("+12565550901", "+12565550902", "+12565550903")
	for _, c := range []struct{ path, body string }{
		{url.PathEscape("+14155550901"), ""},
		{url.PathEscape("+14155550902"), `{"data":{"note":"x"}}`},
		{url.PathEscape("+12565550901") + "/activate", ""},
		{url.PathEscape("+12565550902") + "/reserve", `{}`},
		{"collection", `{"data":{"numbers":["+14155550903"]}}`},
		{"collection/activate", `{"data":{"numbers":["+12565550903"]}}`},
		{url.PathEscape("+14155550904") + "/port", ""},
	} {
		var body any
		if c.body != "" {
			body = c.body
		}
		if r := e.do("PUT", pnPath(f.cust, c.path), f.master, body); r.Status != 201 {
			t.Errorf("PUT %s: %d %s", c.path, r.Status, r.Raw)
		}
	}
}

// TestMoveKeepsPublicFields: the public fields of an activate or reserve body are kept
// on the number, and the features they ask for are computed.
func TestMoveKeepsPublicFields(t *testing.T) {
	t.Parallel()
	f := newKazooRoutesFixture(t)
	e := f.e
	e.importNumbers("+12565550911", "+12565550912")
	r := e.do("PUT", pnPath(f.cust, url.PathEscape("+12565550911")+"/activate"), f.master,
		`{"data":{"cnam":{"display_name":"ACME"},"nickname":"front desk"}}`)
	var got map[string]any
	r.data(t, &got)
	if r.Status != 201 || got["nickname"] != "front desk" || !strings.Contains(string(r.Raw), `"outbound_cnam"`) {
		t.Fatalf("activate with fields: %d %s", r.Status, r.Raw)
	}
	r = e.do("PUT", pnPath(f.cust, url.PathEscape("+12565550912")+"/reserve"), f.master, `{"data":{"note":"hold"}}`)
	n, _ := e.store.GetNumber(context.Background(), "+12565550912")
	if r.Status != 201 || string(n.Public["note"]) != `"hold"` {
		t.Fatalf("reserve with fields: %d %s", r.Status, r.Raw)
	}
	wantInvalid(t, e.do("PUT", pnPath(f.cust, url.PathEscape("+12565550912")+"/activate"), f.master,
		`{"data":{"cnam":{"display_name":7}}}`), "cnam.display_name", "")
}

// TestValidationErrorShape: bad input is crossbar's 400 "invalid data" with
// data {field: {rule: {message}}}.
func TestValidationErrorShape(t *testing.T) {
	t.Parallel()
	f := newKazooRoutesFixture(t)
	for _, c := range []struct{ method, path, body, field, rule string }{
		{"PUT", "collection", `{"data":{}}`, "numbers", "required"},
		{"PUT", "collection", `{"data":{"numbers":["+14155550001","14155550001"]}}`, "numbers", "uniqueItems"},
		{"POST", url.PathEscape("+14155550001"), `{"data":{"cnam":{"display_name":5}}}`, "cnam.display_name", "type"},
	} {
		r := f.e.do(c.method, pnPath(f.cust, c.path), f.master, c.body)
		var data map[string]map[string]map[string]string
		r.data(t, &data)
		if r.Status != 400 || r.str("error") != "400" || r.str("message") != "invalid data" ||
			data[c.field][c.rule]["message"] == "" {
			t.Errorf("%s %s: %d %s", c.method, c.path, r.Status, r.Raw)
		}
	}
}

// TestBadTokensAreInvalidCredentials: a forged knm token and a JWT knm does not accept
// are both 401 invalid_credentials.
func TestBadTokensAreInvalidCredentials(t *testing.T) {
	t.Parallel()
	f := newKazooRoutesFixture(t)
	forged := f.ctok[:len(f.ctok)-2] + "xx"
	jwt := "eyJhbGciOiJub25lIn0.eyJhY2NvdW50X2lkIjoiMCJ9.sig"
	for _, tok := range []string{forged, "garbage", jwt} {
		r := f.e.do("GET", "/v2/accounts/"+f.cust+"/phone_numbers", tok, nil)
		if r.Status != 401 || r.str("message") != "invalid_credentials" {
			t.Errorf("token %.12s…: %d %s", tok, r.Status, r.Raw)
		}
	}
	r := f.e.do("PUT", "/v2/api_auth", "", `{"data":{"api_key":"not-a-key"}}`)
	if r.Status != 401 || r.str("message") != "invalid_credentials" {
		t.Errorf("bad api key: %d %s", r.Status, r.Raw)
	}
}

// TestCheckKazooShape: POST check answers {number: "success" | "error"}.
func TestCheckKazooShape(t *testing.T) {
	t.Parallel()
	f := newKazooRoutesFixture(t)
	r := f.e.do("POST", pnPath(f.cust, "check"), f.master, `{"data":{"numbers":["+14155550001","4155550002"]}}`)
	var got map[string]string
	r.data(t, &got)
	if r.Status != 200 || got["+14155550001"] != "error" || got["+14155550002"] != "error" || len(got) != 2 {
		t.Fatalf("check: %d %s", r.Status, r.Raw)
	}
	for in, want := range map[string]string{"active": "success", "success": "success", "missing": "error",
		"": "error"} {
		if got := kazooCheckStatus(in); got != want {
			t.Errorf("kazooCheckStatus(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestGlobalSearchResellerID: ?reseller_id= searches as that reseller when its
// unauthorized_numbers_lookup allows it, and is refused otherwise.
func TestGlobalSearchResellerID(t *testing.T) {
	t.Parallel()
	f := newKazooRoutesFixture(t)
	e := f.e
	e.importNumbers("+12565550921", "+12565550922")
	search := func(reseller string) reply {
		return e.do("GET", "/v2/phone_numbers?prefix=256&quantity=2&reseller_id="+reseller, "", nil)
	}
	r := search(f.reseller)
	if r.Status != 404 || !strings.Contains(string(r.Raw), "number search restricted") {
		t.Fatalf("not allowed: %d %s", r.Status, r.Raw)
	}
	cfg := config.New(e.store, "test", "")
	ctx := context.Background()
	if err := cfg.AccountSet(ctx, f.reseller, config.NumberManagerCategory, "unauthorized_numbers_lookup",
		json.RawMessage(`true`)); err != nil {
		t.Fatal(err)
	}
	r = search(f.reseller)
	var got []map[string]string
	r.data(t, &got)
	if r.Status != 200 || len(got) != 2 {
		t.Fatalf("allowed: %d %s", r.Status, r.Raw)
	}
	// A customer is no reseller, whatever its settings say.
	if err := cfg.AccountSet(ctx, f.cust, config.NumberManagerCategory, "unauthorized_numbers_lookup",
		json.RawMessage(`true`)); err != nil {
		t.Fatal(err)
	}
	if r := search(f.cust); r.Status != 404 || !strings.Contains(string(r.Raw), "number search restricted") {
		t.Fatalf("customer: %d %s", r.Status, r.Raw)
	}
	for _, bad := range []string{"0123456789abcdef0123456789abcdef", "nope"} {
		if r := search(bad); r.Status != 404 || !strings.Contains(string(r.Raw), "nonexistent reseller_id") {
			t.Fatalf("%s: %d %s", bad, r.Status, r.Raw)
		}
	}
}
