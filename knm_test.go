package knm_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/knmproject/knm"
)

func TestGregorian(t *testing.T) {
	t.Parallel()
	// 63658800000 is a Kazoo pvt_created value: 2017-05-01T... in Gregorian seconds.
	tm := time.Date(2017, 5, 1, 20, 31, 35, 0, time.UTC)
	g := knm.ToGregorian(tm)
	if g != tm.Unix()+62167219200 {
		t.Fatalf("ToGregorian = %d", g)
	}
	if back := knm.FromGregorian(g); !back.Equal(tm) {
		t.Fatalf("FromGregorian = %v, want %v", back, tm)
	}
	if knm.ToGregorian(time.Time{}) != 0 || !knm.FromGregorian(0).IsZero() {
		t.Fatal("zero time must map to 0 and back")
	}
}

func TestNumberDBName(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"+14158867900": "numbers%2F%2B1415", "+1": "",
		"+4420": "numbers%2F%2B4420"} {
		if got := knm.NumberDBName(in); got != want {
			t.Errorf("NumberDBName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestKazooRoundTrip(t *testing.T) {
	t.Parallel()
	n := &knm.Number{
		Number: "+14158867900", Rev: 3, State: knm.StateInService,
		AssignedTo: "0123456789abcdef0123456789abcdef", PreviouslyAssignedTo: "fedcba9876543210fedcba9876543210",
		ReserveHistory: []string{"0123456789abcdef0123456789abcdef"}, ModuleName: "knm_voxbone",
		CarrierData: json.RawMessage(`{"didId":5666963}`), UsedBy: "callflow",
		Features:        map[string]json.RawMessage{"cnam": json.RawMessage(`{"inbound_lookup":true}`)},
		FeaturesAllowed: []string{"cnam"}, FeaturesDenied: []string{"e911"}, PortedIn: true, Region: "us-west",
		Created:  time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC),
		Modified: time.Date(2021, 1, 2, 3, 4, 5, 0, time.UTC),
		Public: map[string]json.RawMessage{"cnam": json.RawMessage(`{"display_name":"ACME"}`),
			"nickname": json.RawMessage(`"main"`)},
	}
	data, err := n.MarshalKazoo()
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{
		"_id": "+14158867900", "pvt_db_name": "numbers%2F%2B1415", "pvt_state": "in_service", "pvt_type": "number",
		"pvt_module_name": "knm_voxbone", "pvt_created": float64(knm.ToGregorian(n.Created)), "nickname": "main",
		"pvt_used_by": "callflow", "pvt_ported_in": true,
	} {
		if fmt.Sprint(doc[k]) != fmt.Sprint(want) {
			t.Errorf("doc[%q] = %v, want %v", k, doc[k], want)
		}
	}
	var back knm.Number
	if err := back.UnmarshalKazoo(data); err != nil {
		t.Fatal(err)
	}
	back.Rev = n.Rev // the store owns revisions; import drops them
	a, _ := n.MarshalKazoo()
	b, _ := back.MarshalKazoo()
	if string(a) != string(b) {
		t.Fatalf("round trip differs:\n%s\n%s", a, b)
	}
}

// TestUnmarshalKazooOlderDocuments: documents written by older Kazoo versions (the
// pvt_number_state key, wnm_ module names) read as current ones.
func TestUnmarshalKazooOlderDocuments(t *testing.T) {
	t.Parallel()
	var n knm.Number
	err := n.UnmarshalKazoo([]byte(`{"_id":"+15555550100","_rev":"7-abc","pvt_number_state":"reserved",` +
		`"pvt_module_name":"wnm_bandwidth","id":"x","used_by":"y","pvt_authorizing_account":"z","extra":1}`))
	if err != nil {
		t.Fatal(err)
	}
	if n.State != knm.StateReserved || n.ModuleName != "knm_bandwidth2" || n.Rev != 0 {
		t.Fatalf("got %+v", n)
	}
	if _, ok := n.Public["id"]; ok {
		t.Fatal("public id must be dropped")
	}
	if string(n.Public["extra"]) != "1" || len(n.Public) != 1 {
		t.Fatalf("public = %v", n.Public)
	}
	for in, want := range map[string]string{"": "knm_local", "undefined": "knm_local",
		"knm_bandwidth": "knm_bandwidth2"} {
		var m knm.Number
		doc := `{"_id":"+15555550100","pvt_state":"available","pvt_module_name":"` + in + `"}`
		if err := m.UnmarshalKazoo([]byte(doc)); err != nil {
			t.Fatal(err)
		}
		if m.ModuleName != want {
			t.Errorf("module %q -> %q, want %q", in, m.ModuleName, want)
		}
	}
}

func TestUnmarshalKazooErrors(t *testing.T) {
	t.Parallel()
	for _, in := range []string{`[]`, `{}`, `{"_id":5}`, `{"_id":"+1555","pvt_state":"bogus"}`,
		`{"_id":"+1555","pvt_created":"x"}`, `not json`} {
		var n knm.Number
		err := n.UnmarshalKazoo([]byte(in))
		if !knm.IsErrorName(err, knm.ErrInvalid) {
			t.Errorf("UnmarshalKazoo(%s) = %v, want invalid", in, err)
		}
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	err := fmt.Errorf("store: %w", knm.InvalidStateTransition("", knm.StateInService))
	if knm.ErrorNameOf(err) != knm.ErrInvalidStateTransition {
		t.Fatal(knm.ErrorNameOf(err))
	}
	var e *knm.Error
	if !errors.As(err, &e) || e.Cause != "from (nothing) to in_service" || e.Status() != http.StatusBadRequest {
		t.Fatalf("%+v", e)
	}
	if !errors.Is(err, &knm.Error{Name: knm.ErrInvalidStateTransition}) {
		t.Fatal("errors.Is by name failed")
	}
	if knm.ErrorNameOf(errors.New("x")) != knm.ErrInternal || knm.ErrorNameOf(nil) != "" {
		t.Fatal("ErrorNameOf fallbacks")
	}
	for name, status := range map[knm.ErrorName]int{knm.ErrNumberExists: 409, knm.ErrForbidden: 403,
		knm.ErrNotFound: 404, knm.ErrNotEnoughCredit: 402, "nope": 500} {
		if name.Status() != status {
			t.Errorf("%s.Status() = %d, want %d", name, name.Status(), status)
		}
	}
	if got := knm.NumberExists("+1555").Error(); got != "number +1555 already exists" {
		t.Errorf("message %q", got)
	}
}

func TestStatesAndAccounts(t *testing.T) {
	t.Parallel()
	if len(knm.States) != 9 {
		t.Fatal("nine states")
	}
	if _, err := knm.ParseState("in_service"); err != nil {
		t.Fatal(err)
	}
	if _, err := knm.ParseState("IN_SERVICE"); !knm.IsErrorName(err, knm.ErrInvalid) {
		t.Fatal("states are case-sensitive")
	}
	id := knm.NewAccountID()
	if !knm.ValidAccountID(id) || knm.ValidAccountID("xyz") || knm.ValidAccountID(id[:31]+"g") {
		t.Fatal("account id validation")
	}
	child := &knm.Account{ID: "c", Tree: []string{"root", "reseller"}}
	if !child.HasInHierarchy("reseller") || !child.HasInHierarchy("c") || child.HasInHierarchy("other") ||
		child.HasInHierarchy("") {
		t.Fatal("hierarchy")
	}
	n := &knm.Number{}
	n.SetModule("knm_local")
	if _, ok := n.Features["local"]; !ok {
		t.Fatal("local feature must be added")
	}
	n.SetModule("knm_voxbone")
	if _, ok := n.Features["local"]; ok {
		t.Fatal("local feature must be removed")
	}
	c := (&knm.Number{ReserveHistory: []string{"a"}}).Clone()
	c.ReserveHistory[0] = "b"
	if knm.CarrierModuleShortName("knm_voxbone") != "voxbone" {
		t.Fatal("short name")
	}
}

func TestIsE164(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]bool{
		"+14155550100": true, "+44": true, "+123456789012345": true,
		"+1234567890123456": false, "+0123": false, "14155550100": false, "+": false, "+1": false,
		"+1 415": false, "+1415a": false, "": false, "++1415": false,
	} {
		if got := knm.IsE164(s); got != want {
			t.Errorf("IsE164(%q) = %v, want %v", s, got, want)
		}
	}
}
