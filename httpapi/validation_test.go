package httpapi

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/knmproject/knm"
)

// payloadCase is a number body that must be refused: 400 invalid naming cause, with msg in
// the message.
type payloadCase struct{ name, data, cause, msg string }

// refusedEverywhere are bodies refused on every route that takes a number body: wrong types
// of the typed fields and the keys the API renders.
var refusedEverywhere = []payloadCase{
	{"underscore key", `{"_rev":"1-a"}`, "_rev", "_rev is read-only"},
	{"pvt key", `{"pvt_state":"in_service"}`, "pvt_state", "pvt_state is read-only"},
	{"cnam number", `{"cnam":5}`, "cnam", "cnam must be an object, not number"},
	{"cnam string", `{"cnam":"ACME"}`, "cnam", "cnam must be an object"},
	{"cnam array", `{"cnam":[]}`, "cnam", "cnam must be an object"},
	{"cnam.display_name type", `{"cnam":{"display_name":5}}`, "cnam.display_name", "must be a string"},
	{"cnam.display_name null", `{"cnam":{"display_name":null}}`, "cnam.display_name", "must be a string"},
	{"cnam.display_name empty", `{"cnam":{"display_name":""}}`, "cnam.display_name", "1 to 15 characters"},
	{"cnam.display_name long", `{"cnam":{"display_name":"ABCDEFGHIJKLMNOP"}}`, "cnam.display_name",
		"1 to 15 characters"},
	{"cnam.inbound_lookup", `{"cnam":{"inbound_lookup":"yes"}}`, "cnam.inbound_lookup", "must be a boolean"},
	{"e911", `{"e911":"1 Main St"}`, "e911", "e911 must be an object"},
	{"porting", `{"porting":true}`, "porting", "porting must be an object"},
	{"carrier_name type", `{"carrier_name":5}`, "carrier_name", "carrier_name must be a string"},
	{"carrier_name long", `{"carrier_name":"` + strings.Repeat("x", 31) + `"}`, "carrier_name",
		"1 to 30 characters"},
	{"prepend", `{"prepend":"+1"}`, "prepend", "prepend must be an object"},
	{"failover", `{"failover":1}`, "failover", "failover must be an object"},
	{"ringback", `{"ringback":[]}`, "ringback", "ringback must be an object"},
	{"force_outbound", `{"force_outbound":"true"}`, "force_outbound", "force_outbound must be a boolean"},
	{"sms", `{"sms":"on"}`, "sms", "sms must be an object"},
	{"mms", `{"mms":false}`, "mms", "mms must be an object"},
	{"first key in order", `{"sms":1,"cnam":2}`, "cnam", "cnam must be an object"},
}

// refusedOnCreate are bodies refused only when creating a number.
var refusedOnCreate = []payloadCase{
	{"create_with_state unknown", `{"create_with_state":"bogus"}`, "create_with_state",
		"create_with_state must be one of the states"},
	{"create_with_state number", `{"create_with_state":5}`, "create_with_state",
		"create_with_state must be one of the states"},
	{"create_with_state null", `{"create_with_state":null}`, "create_with_state",
		"create_with_state must be one of the states"},
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

// refusedOnEdit are bodies refused only when editing a number.
var refusedOnEdit = []payloadCase{
	{"create_with_state", `{"create_with_state":"in_service"}`, "create_with_state", "applies only when creating"},
}

// goodPayload is well typed; its other public fields stay free-form. carrier_name moves
// the (local) number to knm_inventory, whose numbers may use cnam and e911; failover is left
// out because only trunkstore numbers may use it.
const goodPayload = `{"cnam":{"display_name":"ACME CORP","inbound_lookup":true,"extra":1},` +
	`"e911":{"street_address":"1 Main"},"carrier_name":"inventory","force_outbound":false,` +
	`"prepend":{"enabled":true},"sms":{},"mms":{},"porting":{},` +
	`"ringback":{},"nickname":{"any":["shape",1]}}`

// payloadRoutes are the routes that take a number body, over one account holding one
// number (existing, with public fields {"nickname":"main"}).
type payloadRoutes struct {
	e            *testEnv
	master, acc  string
	existing     string
	next         int
	create, edit []payloadRoute
}

type payloadRoute struct {
	name string
	send func(data string) (reply, string) // the reply and the number it targeted
}

func newPayloadRoutes(t *testing.T) *payloadRoutes {
	e := newTestEnv(t, "", nil)
	p := &payloadRoutes{e: e, master: e.login(e.masterKey), existing: "+14155550400"}
	p.acc, _ = e.createAccount(p.master, "payloads", nil)
	if r := e.do("PUT", numPath(p.acc, p.existing), p.master, `{"data":{"nickname":"main"}}`); r.Status != 201 {
		t.Fatalf("setup create: %d %s", r.Status, r.Raw)
	}
	base := "/v2/accounts/" + p.acc + "/phone_numbers"
	p.create = []payloadRoute{
		{"PUT number", func(d string) (reply, string) {
			n := p.fresh()
			return e.do("PUT", numPath(p.acc, n), p.master, `{"data":`+d+`}`), n
		}},
		{"PUT collection", func(d string) (reply, string) {
			n := p.fresh()
			body := `{"data":{"numbers":["` + n + `"],` + strings.TrimPrefix(d, "{") + `}`
			return e.do("PUT", base+"/collection", p.master, body), n
		}},
	}
	p.edit = []payloadRoute{
		{"POST number", func(d string) (reply, string) {
			return e.do("POST", numPath(p.acc, p.existing), p.master, `{"data":`+d+`}`), p.existing
		}},
		{"PATCH number", func(d string) (reply, string) {
			return e.do("PATCH", numPath(p.acc, p.existing), p.master, `{"data":`+d+`}`), p.existing
		}},
	}
	return p
}

// fresh is a number no route has touched yet.
func (p *payloadRoutes) fresh() string { p.next++; return fmt.Sprintf("+1415555%04d", 500+p.next) }

// unchanged checks that a refused body changed nothing: no number was created, or the
// edited one still holds only its nickname.
func (p *payloadRoutes) unchanged(t *testing.T, num string, created bool) {
	t.Helper()
	n, err := p.e.store.GetNumber(context.Background(), num)
	if !created {
		if !knm.IsErrorName(err, knm.ErrNotFound) {
			t.Fatalf("refused create stored %s: %+v %v", num, n, err)
		}
		return
	}
	if err != nil || n.State != knm.StateInService || len(n.Public) != 1 ||
		string(n.Public["nickname"]) != `"main"` {
		t.Fatalf("refused edit changed %s: %+v %v", num, n, err)
	}
}

// TestNumberPayloadRefused: number bodies are checked as Kazoo's phone_numbers.json does
// on every route that takes one (PUT/POST/PATCH …/{N}, PUT …/collection); a refused body
// is 400 naming the field and changes nothing.
func TestNumberPayloadRefused(t *testing.T) {
	t.Parallel()
	p := newPayloadRoutes(t)
	for _, rt := range append(slices.Clone(p.create), p.edit...) {
		isCreate := strings.HasPrefix(rt.name, "PUT")
		cases := append(slices.Clone(refusedEverywhere), refusedOnEdit...)
		if isCreate {
			cases = append(slices.Clone(refusedEverywhere), refusedOnCreate...)
		}
		for _, tc := range cases {
			t.Run(rt.name+"/"+tc.name, func(t *testing.T) {
				r, n := rt.send(tc.data)
				wantInvalid(t, r, tc.cause, tc.msg)
				p.unchanged(t, n, !isCreate)
			})
		}
	}
}

// TestNumberPayloadAccepted: well-typed bodies pass on every route, other public fields
// stay free-form, and PATCH null removes a typed field where POST null is refused.
func TestNumberPayloadAccepted(t *testing.T) {
	t.Parallel()
	p := newPayloadRoutes(t)
	e, acc, master, existing := p.e, p.acc, p.master, p.existing
	for _, rt := range p.create {
		t.Run(rt.name+"/valid", func(t *testing.T) {
			r, n := rt.send(goodPayload)
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
		n := p.fresh()
		r := e.do("PUT", numPath(acc, n), master, `{"data":{"create_with_state":"reserved","ported_in":false}}`)
		var got map[string]any
		r.data(t, &got)
		if r.Status != 201 || got["state"] != "reserved" || got["create_with_state"] != nil {
			t.Fatalf("create_with_state: %d %s", r.Status, r.Raw)
		}
	})
	for _, rt := range p.edit {
		t.Run(rt.name+"/valid", func(t *testing.T) {
			r, _ := rt.send(goodPayload)
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
		wantInvalid(t, e.do("POST", numPath(acc, existing), master, `{"data":{"cnam":null}}`), "cnam",
			"cnam must be an object, not null")
	})
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
				t.Fatalf("a schema type message instead of the integer rule: %s", r.Raw)
			}
		})
	}
}
