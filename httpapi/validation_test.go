package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/config"
	"github.com/knmproject/knm/manager"
	"github.com/knmproject/knm/store"
)

// wantInvalid checks a 400 invalid naming cause, whose message holds msg.
func wantInvalid(t *testing.T, r reply, cause, msg string) {
	t.Helper()
	wantError(t, r, 400)
	var data struct{ Error, Message, Cause string }
	r.data(t, &data)
	if data.Error != string(knm.ErrInvalid) || data.Cause != cause || !strings.Contains(data.Message, msg) {
		t.Fatalf("want invalid, cause %q, message containing %q: %s", cause, msg, r.Raw)
	}
}

// TestNumberPayloadValidation: number bodies are checked as Kazoo's phone_numbers.json
// does on every route that takes one (PUT/POST/PATCH …/{N}, PUT …/collection); a refused
// body is 400 naming the field and changes nothing.
func TestNumberPayloadValidation(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, "", nil)
	master := e.login(e.masterKey)
	acc, _ := e.createAccount(master, "payloads", nil)
	const existing = "+14155550400"
	if r := e.do("PUT", numPath(acc, existing), master, `{"data":{"nickname":"main"}}`); r.Status != 201 {
		t.Fatalf("setup create: %d %s", r.Status, r.Raw)
	}
	base := "/v2/accounts/" + acc + "/phone_numbers"

	// Bad on every route: wrong types of the typed fields and the keys the API renders.
	everywhere := []struct {
		name, data, cause, msg string
	}{
		{"underscore key", `{"_rev":"1-a"}`, "_rev", "_rev is read-only"},
		{"pvt key", `{"pvt_state":"in_service"}`, "pvt_state", "pvt_state is read-only"},
		{"cnam number", `{"cnam":5}`, "cnam", "cnam must be an object, not number"},
		{"cnam string", `{"cnam":"ACME"}`, "cnam", "cnam must be an object"},
		{"cnam array", `{"cnam":[]}`, "cnam", "cnam must be an object"},
		{"cnam.display_name type", `{"cnam":{"display_name":5}}`, "cnam.display_name", "must be a string"},
		{"cnam.display_name null", `{"cnam":{"display_name":null}}`, "cnam.display_name", "must be a string"},
		{"cnam.display_name empty", `{"cnam":{"display_name":""}}`, "cnam.display_name", "1 to 15 characters"},
		{"cnam.display_name long", `{"cnam":{"display_name":"ABCDEFGHIJKLMNOP"}}`, "cnam.display_name", "1 to 15 characters"},
		{"cnam.inbound_lookup", `{"cnam":{"inbound_lookup":"yes"}}`, "cnam.inbound_lookup", "must be a boolean"},
		{"e911", `{"e911":"1 Main St"}`, "e911", "e911 must be an object"},
		{"porting", `{"porting":true}`, "porting", "porting must be an object"},
		{"carrier_name type", `{"carrier_name":5}`, "carrier_name", "carrier_name must be a string"},
		{"carrier_name long", `{"carrier_name":"` + strings.Repeat("x", 31) + `"}`, "carrier_name", "1 to 30 characters"},
		{"prepend", `{"prepend":"+1"}`, "prepend", "prepend must be an object"},
		{"failover", `{"failover":1}`, "failover", "failover must be an object"},
		{"ringback", `{"ringback":[]}`, "ringback", "ringback must be an object"},
		{"force_outbound", `{"force_outbound":"true"}`, "force_outbound", "force_outbound must be a boolean"},
		{"sms", `{"sms":"on"}`, "sms", "sms must be an object"},
		{"mms", `{"mms":false}`, "mms", "mms must be an object"},
		{"first key in order", `{"sms":1,"cnam":2}`, "cnam", "cnam must be an object"},
	}
	// Bad only when creating, or only when editing.
	createOnly := []struct {
		name, data, cause, msg string
	}{
		{"create_with_state unknown", `{"create_with_state":"bogus"}`, "create_with_state", "create_with_state must be one of the states"},
		{"create_with_state number", `{"create_with_state":5}`, "create_with_state", "create_with_state must be one of the states"},
		{"create_with_state null", `{"create_with_state":null}`, "create_with_state", "create_with_state must be one of the states"},
		{"ported_in", `{"ported_in":"yes"}`, "ported_in", "ported_in must be a boolean"},
		{"state string", `{"state":"bogus"}`, "state", "state is read-only"},
		{"state number", `{"state":5}`, "state", "state is read-only"},
		{"state valid", `{"state":"in_service"}`, "state", "state is read-only"},
		{"_read_only", `{"_read_only":{}}`, "_read_only", "_read_only is read-only"},
		{"features", `{"features":["cnam"]}`, "features", "features is read-only"},
		{"used_by", `{"used_by":"callflow"}`, "used_by", "used_by is read-only"},
		{"id", `{"id":"+14155550400"}`, "id", "id is read-only"},
		{"state hint", `{"state":"reserved"}`, "state", "use create_with_state"},
		{"sms null", `{"sms":null}`, "sms", "sms must be an object, not null"},
	}
	editOnly := []struct {
		name, data, cause, msg string
	}{
		{"create_with_state", `{"create_with_state":"in_service"}`, "create_with_state", "applies only when creating"},
	}

	i := 0
	fresh := func() string { i++; return fmt.Sprintf("+1415555%04d", 500+i) }
	type route struct {
		name string
		send func(data string) (reply, string) // the reply and the number it targeted
	}
	create := []route{
		{"PUT number", func(d string) (reply, string) {
			n := fresh()
			return e.do("PUT", numPath(acc, n), master, `{"data":`+d+`}`), n
		}},
		{"PUT collection", func(d string) (reply, string) {
			n := fresh()
			body := `{"data":{"numbers":["` + n + `"],` + strings.TrimPrefix(d, "{") + `}`
			return e.do("PUT", base+"/collection", master, body), n
		}},
	}
	edit := []route{
		{"POST number", func(d string) (reply, string) {
			return e.do("POST", numPath(acc, existing), master, `{"data":`+d+`}`), existing
		}},
		{"PATCH number", func(d string) (reply, string) {
			return e.do("PATCH", numPath(acc, existing), master, `{"data":`+d+`}`), existing
		}},
	}
	unchanged := func(t *testing.T, num string, created bool) {
		t.Helper()
		n, err := e.store.GetNumber(context.Background(), num)
		if !created {
			if !knm.IsErrorName(err, knm.ErrNotFound) {
				t.Fatalf("refused create stored %s: %+v %v", num, n, err)
			}
			return
		}
		if err != nil || n.State != knm.StateInService || len(n.Public) != 1 || string(n.Public["nickname"]) != `"main"` {
			t.Fatalf("refused edit changed %s: %+v %v", num, n, err)
		}
	}
	for _, rt := range append(append([]route{}, create...), edit...) {
		isCreate := strings.HasPrefix(rt.name, "PUT")
		for _, tc := range everywhere {
			t.Run(rt.name+"/"+tc.name, func(t *testing.T) {
				r, n := rt.send(tc.data)
				wantInvalid(t, r, tc.cause, tc.msg)
				unchanged(t, n, !isCreate)
			})
		}
		cases := editOnly
		if isCreate {
			cases = createOnly
		}
		for _, tc := range cases {
			t.Run(rt.name+"/"+tc.name, func(t *testing.T) {
				r, n := rt.send(tc.data)
				wantInvalid(t, r, tc.cause, tc.msg)
				unchanged(t, n, !isCreate)
			})
		}
	}

	// Well-typed bodies pass; other public fields stay free-form.
	good := `{"cnam":{"display_name":"ACME CORP","inbound_lookup":true,"extra":1},"e911":{"street_address":"1 Main"},` +
		`"carrier_name":"acme","force_outbound":false,"prepend":{"enabled":true},"sms":{},"mms":{},"porting":{},` +
		`"failover":{},"ringback":{},"nickname":{"any":["shape",1]}}`
	for _, rt := range create {
		t.Run(rt.name+"/valid", func(t *testing.T) {
			r, n := rt.send(good)
			if r.Status/100 != 2 || strings.Contains(string(r.Raw), `"error":{`) {
				t.Fatalf("valid create refused: %d %s", r.Status, r.Raw)
			}
			got, err := e.store.GetNumber(context.Background(), n)
			if err != nil || string(got.Public["nickname"]) != `{"any":["shape",1]}` || got.Public["cnam"] == nil {
				t.Fatalf("valid create stored %+v %v", got, err)
			}
		})
	}
	t.Run("PUT number/create_with_state", func(t *testing.T) {
		n := fresh()
		r := e.do("PUT", numPath(acc, n), master, `{"data":{"create_with_state":"reserved","ported_in":false}}`)
		var got map[string]any
		r.data(t, &got)
		if r.Status != 201 || got["state"] != "reserved" || got["create_with_state"] != nil {
			t.Fatalf("create_with_state: %d %s", r.Status, r.Raw)
		}
	})
	for _, rt := range edit {
		t.Run(rt.name+"/valid", func(t *testing.T) {
			r, _ := rt.send(good)
			if r.Status != 200 {
				t.Fatalf("valid edit refused: %d %s", r.Status, r.Raw)
			}
		})
	}
	t.Run("PATCH null removes a typed field", func(t *testing.T) {
		r := e.do("PATCH", numPath(acc, existing), master, `{"data":{"cnam":null,"force_outbound":null}}`)
		if r.Status != 200 {
			t.Fatalf("patch null: %d %s", r.Status, r.Raw)
		}
		n, err := e.store.GetNumber(context.Background(), existing)
		if err != nil || n.Public["cnam"] != nil || n.Public["force_outbound"] != nil {
			t.Fatalf("patch null kept the fields: %+v %v", n, err)
		}
	})
	t.Run("POST null typed field", func(t *testing.T) {
		wantInvalid(t, e.do("POST", numPath(acc, existing), master, `{"data":{"cnam":null}}`), "cnam", "cnam must be an object, not null")
	})
}

// TestSearchPrefix: REST takes the manager's prefix rule (1-15 digits, an optional trailing
// *, whitespace removed), so Kazoo's 3-10 still work and REST and CLI agree.
func TestSearchPrefix(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, "", nil)
	e.importNumbers("+12565550701", "+18005550702")
	master := e.login(e.masterKey)
	acc, _ := e.createAccount(master, "prefixes", nil)
	for _, tc := range []struct {
		prefix string
		ok     bool
	}{
		{"2", true},
		{"25", true},
		{"256", true},
		{"2565550701", true},
		{"256555070", true},
		{"123456789012345", true},
		{"800*", true},
		{"8*", true},
		{"%20256%20555%20", true},
		{"2%095%0A6", true}, // tab and newline are whitespace
		{"", false},
		{"%20%20", false},
		{"*", false},
		{"1234567890123456", false},
		{"1234567890123456*", false},
		{"80**", false},
		{"8*0", false},
		{"*800", false},
		{"%2B1256", false},
		{"abc", false},
		{"25a", false},
	} {
		for _, path := range []string{"/v2/phone_numbers", "/v2/accounts/" + acc + "/phone_numbers"} {
			t.Run(path+"?prefix="+tc.prefix, func(t *testing.T) {
				r := e.do("GET", path+"?prefix="+tc.prefix, master, nil)
				if tc.ok {
					if r.Status != 200 {
						t.Fatalf("prefix %q refused: %d %s", tc.prefix, r.Status, r.Raw)
					}
					return
				}
				wantInvalid(t, r, "prefix", "prefix must be 1 to 15 digits, optionally ending in *")
			})
		}
	}
	r := e.do("GET", "/v2/accounts/"+acc+"/phone_numbers?prefix=2%20565&quantity=5", master, nil)
	var found []struct{ Number string }
	r.data(t, &found)
	if r.Status != 200 || len(found) != 1 || found[0].Number != "+12565550701" {
		t.Fatalf("whitespace prefix search: %s", r.Raw)
	}
	// The OpenAPI document says the same.
	var doc struct {
		Paths map[string]map[string]struct {
			Parameters []struct {
				Name   string
				Schema struct{ Pattern string }
			}
		}
	}
	if err := json.Unmarshal(e.api.OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/v2/phone_numbers", "/v2/accounts/{account_id}/phone_numbers"} {
		found := false
		for _, prm := range doc.Paths[p]["get"].Parameters {
			if prm.Name == "prefix" {
				found = prm.Schema.Pattern == manager.PrefixPattern
			}
		}
		if !found {
			t.Errorf("%s: prefix has no pattern %s", p, manager.PrefixPattern)
		}
	}
}

// TestVoxboneOrdersIgnoresPaging: GET /v2/voxbone/orders is not paged (the handler lists
// every visible order), so page_size and other parameters it does not read are ignored as
// on every other route that does not read them: the reply is the whole list.
func TestVoxboneOrdersIgnoresPaging(t *testing.T) {
	t.Parallel()
	vox := &fakeVoxbone{}
	e := newTestEnv(t, "", vox)
	master := e.login(e.masterKey)
	for range 3 {
		if r := e.do("POST", "/v2/voxbone/orders", master, `{"data":{"group_id":1,"quantity":1}}`); r.Status != 201 {
			t.Fatalf("order: %s", r.Raw)
		}
	}
	for _, q := range []string{"", "?page_size=0", "?page_size=1", "?page_size=x", "?offset=-1", "?foo=bar"} {
		t.Run(q, func(t *testing.T) {
			r := e.do("GET", "/v2/voxbone/orders"+q, master, nil)
			var orders []Order
			r.data(t, &orders)
			if r.Status != 200 || len(orders) != 3 {
				t.Fatalf("orders%s: %d, %d orders: %s", q, r.Status, len(orders), r.Raw)
			}
		})
	}
}

// TestIntegerFieldMessages: a JSON number where an integer is required says so, instead of
// "must be of type number, not number 1.5".
func TestIntegerFieldMessages(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, "", &fakeVoxbone{})
	master := e.login(e.masterKey)
	for _, tc := range []struct {
		data, cause, msg string
	}{
		{`{"group_id":1,"quantity":1.5}`, "quantity", "quantity must be an integer"},
		{`{"group_id":1,"quantity":1.0}`, "quantity", "quantity must be an integer"},
		{`{"group_id":1,"quantity":1e2}`, "quantity", "quantity must be an integer"},
		{`{"group_id":2.5,"quantity":1}`, "group_id", "group_id must be an integer"},
		{`{"group_id":1,"quantity":99999999999999999999}`, "quantity", "quantity is too large"},
		{`{"group_id":1,"quantity":"2"}`, "quantity", "quantity must be of type integer, not string"},
		{`{"group_id":1,"quantity":true}`, "quantity", "quantity must be of type integer, not bool"},
	} {
		t.Run(tc.data, func(t *testing.T) {
			r := e.do("POST", "/v2/voxbone/orders", master, `{"data":`+tc.data+`}`)
			wantInvalid(t, r, tc.cause, tc.msg)
			if strings.Contains(string(r.Raw), "not number") {
				t.Fatalf("old message: %s", r.Raw)
			}
		})
	}
}

// TestEnsureMasterKeyLength: a master key shorter than 16 characters is refused before
// anything is written; 16 is enough; an empty key still means "keep or generate".
func TestEnsureMasterKeyLength(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := store.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "knm.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	cfg := config.New(s, "test", "")
	refuse := func(t *testing.T, key string) {
		t.Helper()
		_, err := EnsureMaster(ctx, s, cfg, key)
		var ke *knm.Error
		if !errors.As(err, &ke) || ke.Name != knm.ErrInvalid || ke.Message != "KNM_MASTER_API_KEY must be at least 16 characters" {
			t.Fatalf("EnsureMaster(%q): %v, want invalid KNM_MASTER_API_KEY must be at least 16 characters", key, err)
		}
	}
	short := []string{"short", "x", "0123456789abcde", "ééééééééééééééé" /* 15 characters, 30 bytes */}
	for _, key := range short {
		t.Run("new master/"+key, func(t *testing.T) {
			refuse(t, key)
			if raw, _ := cfg.Lookup(ctx, authCategory, []string{"master_account_id"}, nil); raw != nil {
				t.Fatalf("refused key made a master: %s", raw)
			}
		})
	}
	for _, key := range []string{"0123456789abcdef", "", NewAPIKey(), "éééééééééééééééé"} {
		t.Run("accepted/"+key, func(t *testing.T) {
			if m, err := EnsureMaster(ctx, s, cfg, key); err != nil || m.ID == "" || m.GeneratedKey != "" {
				t.Fatalf("EnsureMaster(%q): %+v %v", key, m, err)
			}
		})
	}
	for _, key := range short {
		t.Run("existing master/"+key, func(t *testing.T) { refuse(t, key) })
	}
}

// TestEditRoundTrip: as with Kazoo, a client may GET a number, change a field and send the
// whole document back with POST or PATCH; the keys the API renders are dropped, not stored.
func TestEditRoundTrip(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, "", nil)
	master := e.login(e.masterKey)
	acc, _ := e.createAccount(master, "roundtrip", nil)
	const num = "+14155550450"
	if r := e.do("PUT", numPath(acc, num), master, `{"data":{"nickname":"main"}}`); r.Status != 201 {
		t.Fatalf("create: %d %s", r.Status, r.Raw)
	}
	for _, method := range []string{"POST", "PATCH"} {
		got := e.do("GET", numPath(acc, num), master, nil)
		var doc map[string]json.RawMessage
		if err := json.Unmarshal(got.Env["data"], &doc); err != nil || doc["_read_only"] == nil || doc["state"] == nil {
			t.Fatalf("GET: %s", got.Raw)
		}
		doc["nickname"] = json.RawMessage(`"` + method + `"`)
		body, _ := json.Marshal(map[string]any{"data": doc})
		if r := e.do(method, numPath(acc, num), master, string(body)); r.Status != 200 {
			t.Fatalf("%s of the document as read: %d %s", method, r.Status, r.Raw)
		}
		n, err := e.store.GetNumber(context.Background(), num)
		if err != nil || string(n.Public["nickname"]) != `"`+method+`"` {
			t.Fatalf("%s not applied: %+v %v", method, n, err)
		}
		for _, k := range renderedKeys {
			if _, ok := n.Public[k]; ok {
				t.Fatalf("%s stored the rendered key %s: %v", method, k, n.Public)
			}
		}
	}
}
