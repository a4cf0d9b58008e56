package features_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/features"
)

const account = "0123456789abcdef0123456789abcdef"

// num describes a number before a write.
type num struct {
	state       knm.State
	module      string // default knm_voxbone
	unassigned  bool
	usedBy      string
	pvt, public string // JSON objects; "" for none
	allowed     []string
	denied      []string
}

func (d num) build(t *testing.T) *knm.Number {
	t.Helper()
	n := &knm.Number{Number: "+14155550100", State: d.state, UsedBy: d.usedBy,
		FeaturesAllowed: d.allowed, FeaturesDenied: d.denied}
	if !d.unassigned {
		n.AssignedTo = account
	}
	if d.state == "" {
		n.State = knm.StateInService
	}
	module := d.module
	if module == "" {
		module = "knm_voxbone"
	}
	n.SetModule(module)
	if d.pvt != "" {
		var pvt map[string]json.RawMessage
		if err := json.Unmarshal([]byte(d.pvt), &pvt); err != nil {
			t.Fatal(err)
		}
		if n.Features == nil {
			n.Features = map[string]json.RawMessage{}
		}
		for k, v := range pvt {
			n.Features[k] = v
		}
	}
	if d.public != "" {
		if err := json.Unmarshal([]byte(d.public), &n.Public); err != nil {
			t.Fatal(err)
		}
	}
	return n
}

// defaults are the code defaults of number_manager: every feature allowed, nothing denied.
var defaults = features.Settings{Allow: features.All()}

// applyCase is one write: the number, the settings, and the pvt_features expected after
// Apply (a JSON object, "" for none) or the error name.
type applyCase struct {
	name    string
	n       num
	s       *features.Settings
	want    string
	wantErr knm.ErrorName
}

func runApply(t *testing.T, cases []applyCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := tc.n.build(t)
			before := n.Clone()
			s := defaults
			if tc.s != nil {
				s = *tc.s
			}
			err := features.Apply(n, s)
			if tc.wantErr != "" {
				if !knm.IsErrorName(err, tc.wantErr) {
					t.Fatalf("Apply = %v, want %s", err, tc.wantErr)
				}
				if !reflect.DeepEqual(n, before) {
					t.Fatalf("a failed Apply changed the number: %+v", n)
				}
				return
			}
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			wantFeatures(t, n, tc.want)
		})
	}
}

// wantFeatures compares pvt_features with a JSON object ("" for none).
func wantFeatures(t *testing.T, n *knm.Number, want string) {
	t.Helper()
	var got, exp any
	if n.Features != nil {
		raw, _ := json.Marshal(n.Features)
		json.Unmarshal(raw, &got)
	}
	if want != "" {
		if err := json.Unmarshal([]byte(want), &exp); err != nil {
			t.Fatal(err)
		}
	}
	if !reflect.DeepEqual(got, exp) {
		raw, _ := json.Marshal(n.Features)
		t.Fatalf("pvt_features = %s, want %s", raw, want)
	}
}

func TestCNAM(t *testing.T) {
	t.Parallel()
	override := features.Settings{Allow: features.All(), LocalFeatureOverride: true}
	allCNAM := []string{"cnam", "inbound_cnam", "outbound_cnam"}
	resellerDeniesCNAM := features.Settings{Allow: features.All(), Deny: allCNAM, DenySet: true}
	// Kazoo maps inbound_cnam and outbound_cnam to the cnam provider on their own, so a
	// deny list naming only "cnam" leaves them usable.
	resellerDeniesBareCNAM := features.Settings{Allow: features.All(), Deny: []string{"cnam"}, DenySet: true}
	resellerDeniesNothing := features.Settings{Allow: features.All(), DenySet: true}
	resellerAllowsE911 := features.Settings{Allow: []string{"e911"}}
	providerNames := features.Settings{Allow: []string{"knm_cnam_notifier"}}
	runApply(t, []applyCase{
		{name: "set display name",
			n:    num{public: `{"cnam":{"display_name":"ACME"}}`},
			want: `{"outbound_cnam":{"display_name":"ACME"}}`},
		{name: "set inbound lookup",
			n:    num{public: `{"cnam":{"inbound_lookup":true}}`},
			want: `{"inbound_cnam":{"inbound_lookup":true}}`},
		{name: "inbound lookup as a string",
			n:    num{public: `{"cnam":{"inbound_lookup":"true"}}`},
			want: `{"inbound_cnam":{"inbound_lookup":true}}`},
		{name: "both",
			n:    num{public: `{"cnam":{"display_name":"ACME","inbound_lookup":true}}`},
			want: `{"outbound_cnam":{"display_name":"ACME"},"inbound_cnam":{"inbound_lookup":true}}`},
		{name: "change display name",
			n:    num{pvt: `{"outbound_cnam":{"display_name":"Old"}}`, public: `{"cnam":{"display_name":"New"}}`},
			want: `{"outbound_cnam":{"display_name":"New"}}`},
		{name: "remove display name",
			n: num{pvt: `{"outbound_cnam":{"display_name":"Old"},"inbound_cnam":{"inbound_lookup":true}}`,
				public: `{"cnam":{"inbound_lookup":true}}`},
			want: `{"inbound_cnam":{"inbound_lookup":true}}`},
		{name: "remove cnam",
			n: num{pvt: `{"outbound_cnam":{"display_name":"Old"},"inbound_cnam":{"inbound_lookup":true}}`}},
		{name: "inbound lookup false",
			n: num{pvt: `{"inbound_cnam":{"inbound_lookup":true}}`, public: `{"cnam":{"inbound_lookup":false}}`}},
		{name: "empty display name", n: num{public: `{"cnam":{"display_name":""}}`}},
		{name: "bare cnam feature dropped",
			n:    num{pvt: `{"cnam":{}}`, public: `{"cnam":{"display_name":"A"}}`},
			want: `{"outbound_cnam":{"display_name":"A"}}`},
		{name: "reserved",
			n:    num{state: knm.StateReserved, public: `{"cnam":{"display_name":"A"}}`},
			want: `{"outbound_cnam":{"display_name":"A"}}`},
		{name: "port_in",
			n:    num{state: knm.StatePortIn, public: `{"cnam":{"display_name":"A"}}`},
			want: `{"outbound_cnam":{"display_name":"A"}}`},
		{name: "port_out keeps as is",
			n: num{state: knm.StatePortOut,
				pvt:    `{"outbound_cnam":{"display_name":"Old"}}`,
				public: `{"cnam":{"display_name":"New"}}`},
			want: `{"outbound_cnam":{"display_name":"Old"}}`},
		{name: "unassigned number",
			n:       num{state: knm.StateAvailable, unassigned: true, public: `{"cnam":{"display_name":"A"}}`},
			wantErr: knm.ErrForbidden},
		{name: "local number",
			n:       num{module: "knm_local", public: `{"cnam":{"display_name":"A"}}`},
			wantErr: knm.ErrForbidden},
		{name: "local number with override",
			n:    num{module: "knm_local", public: `{"cnam":{"display_name":"A"}}`},
			s:    &override,
			want: `{"local":{},"outbound_cnam":{"display_name":"A"}}`},
		{name: "reseller denies cnam",
			n:       num{public: `{"cnam":{"display_name":"A"}}`},
			s:       &resellerDeniesCNAM,
			wantErr: knm.ErrForbidden},
		{name: "denying the bare cnam name",
			n:    num{public: `{"cnam":{"display_name":"A"}}`},
			s:    &resellerDeniesBareCNAM,
			want: `{"outbound_cnam":{"display_name":"A"}}`},
		{name: "reseller deny replaces the local denial",
			n:    num{module: "knm_local", public: `{"cnam":{"display_name":"A"}}`},
			s:    &resellerDeniesNothing,
			want: `{"local":{},"outbound_cnam":{"display_name":"A"}}`},
		{name: "reseller allows only e911",
			n:       num{public: `{"cnam":{"display_name":"A"}}`},
			s:       &resellerAllowsE911,
			wantErr: knm.ErrForbidden},
		{name: "allow by provider name",
			n:    num{public: `{"cnam":{"display_name":"A"}}`},
			s:    &providerNames,
			want: `{"outbound_cnam":{"display_name":"A"}}`},
		{name: "number denies cnam",
			n: num{denied: allCNAM,
				public: `{"cnam":{"display_name":"A"}}`},
			wantErr: knm.ErrForbidden},
		{name: "number allows cnam over reseller",
			n:    num{allowed: []string{"cnam"}, public: `{"cnam":{"display_name":"A"}}`},
			s:    &resellerAllowsE911,
			want: `{"outbound_cnam":{"display_name":"A"}}`},
		{name: "feature the number has is now denied",
			n:       num{pvt: `{"outbound_cnam":{"display_name":"A"}}`},
			s:       &resellerDeniesCNAM,
			wantErr: knm.ErrForbidden},
	})
}

func TestE911(t *testing.T) {
	t.Parallel()
	addr := `{"street_address":"1 Main St","locality":"Albany","region":"NY","postal_code":"12207"}`
	moved := `{"street_address":"2 Main St","locality":"Albany","region":"NY","postal_code":"12207"}`
	deny := features.Settings{Allow: features.All(), Deny: []string{"knm_dash_e911"}, DenySet: true}
	runApply(t, []applyCase{
		{name: "set", n: num{public: `{"e911":` + addr + `}`}, want: `{"e911":` + addr + `}`},
		{name: "set by provider name", n: num{public: `{"dash_e911":` + addr + `}`}, want: `{"e911":` + addr + `}`},
		{name: "change",
			n:    num{pvt: `{"e911":` + addr + `}`, public: `{"e911":` + moved + `}`},
			want: `{"e911":` + moved + `}`},
		{name: "unchanged",
			n:    num{pvt: `{"e911":` + addr + `}`, public: `{"e911":` + addr + `}`},
			want: `{"e911":` + addr + `}`},
		{name: "remove", n: num{pvt: `{"e911":` + addr + `}`}},
		{name: "emptied", n: num{pvt: `{"e911":` + addr + `}`, public: `{"e911":{}}`}},
		{name: "reserved",
			n:    num{state: knm.StateReserved, public: `{"e911":` + addr + `}`},
			want: `{"e911":` + addr + `}`},
		{name: "port_out removes",
			n: num{state: knm.StatePortOut, pvt: `{"e911":` + addr + `}`, public: `{"e911":` + addr + `}`}},
		{name: "denied by provider name", n: num{public: `{"e911":` + addr + `}`}, s: &deny, wantErr: knm.ErrForbidden},
		{name: "local number", n: num{module: "knm_mdn", public: `{"e911":` + addr + `}`}, wantErr: knm.ErrForbidden},
	})
}

func TestFailover(t *testing.T) {
	t.Parallel()
	runApply(t, []applyCase{
		{name: "set",
			n:    num{usedBy: "trunkstore", public: `{"failover":{"e164":"+14155550199"}}`},
			want: `{"failover":{"e164":"+14155550199"}}`},
		{name: "change",
			n: num{usedBy: "trunkstore",
				pvt:    `{"failover":{"e164":"+14155550199"}}`,
				public: `{"failover":{"sip":"sip:a@b"}}`},
			want: `{"failover":{"sip":"sip:a@b"}}`},
		{name: "remove", n: num{usedBy: "trunkstore", pvt: `{"failover":{"e164":"+14155550199"}}`}},
		{name: "reserved removes",
			n: num{state: knm.StateReserved,
				usedBy: "trunkstore",
				pvt:    `{"failover":{"sip":"sip:a@b"}}`,
				public: `{"failover":{"sip":"sip:a@b"}}`}},
		{name: "callflow number",
			n:       num{usedBy: "callflow", public: `{"failover":{"e164":"+14155550199"}}`},
			wantErr: knm.ErrForbidden},
		{name: "unused number", n: num{public: `{"failover":{"e164":"+14155550199"}}`}, wantErr: knm.ErrForbidden},
		{name: "number deny list replaces the trunkstore rule",
			n:    num{denied: []string{"e911"}, public: `{"failover":{"e164":"+14155550199"}}`},
			want: `{"failover":{"e164":"+14155550199"}}`},
		{name: "local trunkstore number",
			n:    num{module: "knm_local", usedBy: "trunkstore", public: `{"failover":{"sip":"sip:a@b"}}`},
			want: `{"local":{},"failover":{"sip":"sip:a@b"}}`},
	})
}

func TestPrepend(t *testing.T) {
	t.Parallel()
	noPrepend := features.Settings{Allow: []string{"failover", "force_outbound", "ringback"}}
	runApply(t, []applyCase{
		{name: "set",
			n:    num{public: `{"prepend":{"enabled":true,"name":"Sales"}}`},
			want: `{"prepend":{"enabled":true,"name":"Sales"}}`},
		{name: "enabled as a string",
			n:    num{public: `{"prepend":{"enabled":"true","number":"12"}}`},
			want: `{"prepend":{"enabled":"true","number":"12"}}`},
		{name: "change",
			n: num{pvt: `{"prepend":{"enabled":true,"name":"Sales"}}`,
				public: `{"prepend":{"enabled":true,"name":"Support"}}`},
			want: `{"prepend":{"enabled":true,"name":"Support"}}`},
		{name: "disable",
			n: num{pvt: `{"prepend":{"enabled":true,"name":"Sales"}}`,
				public: `{"prepend":{"enabled":false,"name":"Sales"}}`}},
		{name: "not enabled", n: num{public: `{"prepend":{"name":"Sales"}}`}},
		{name: "remove", n: num{pvt: `{"prepend":{"enabled":true,"name":"Sales"}}`}},
		{name: "reserved removes",
			n: num{state: knm.StateReserved,
				pvt:    `{"prepend":{"enabled":true}}`,
				public: `{"prepend":{"enabled":true}}`}},
		{name: "local number may",
			n:    num{module: "knm_local", public: `{"prepend":{"enabled":true}}`},
			want: `{"local":{},"prepend":{"enabled":true}}`},
		{name: "not allowed", n: num{public: `{"prepend":{"enabled":true}}`}, s: &noPrepend, wantErr: knm.ErrForbidden},
	})
}

func TestForceOutbound(t *testing.T) {
	t.Parallel()
	deny := features.Settings{Allow: features.All(), Deny: []string{"force_outbound"}, DenySet: true}
	runApply(t, []applyCase{
		{name: "set", n: num{public: `{"force_outbound":true}`}, want: `{"force_outbound":true}`},
		{name: "false is kept", n: num{public: `{"force_outbound":false}`}, want: `{"force_outbound":false}`},
		{name: "string", n: num{public: `{"force_outbound":"true"}`}, want: `{"force_outbound":true}`},
		{name: "change",
			n:    num{pvt: `{"force_outbound":true}`, public: `{"force_outbound":"false"}`},
			want: `{"force_outbound":false}`},
		{name: "not a boolean", n: num{pvt: `{"force_outbound":true}`, public: `{"force_outbound":"yes"}`}},
		{name: "remove", n: num{pvt: `{"force_outbound":true}`}},
		{name: "reserved removes",
			n: num{state: knm.StateReserved, pvt: `{"force_outbound":true}`, public: `{"force_outbound":true}`}},
		{name: "unassigned available number",
			n: num{state: knm.StateAvailable, unassigned: true, public: `{"force_outbound":true}`}},
		{name: "reseller denies", n: num{public: `{"force_outbound":true}`}, s: &deny, wantErr: knm.ErrForbidden},
	})
}

func TestRingbackAndPort(t *testing.T) {
	t.Parallel()
	noRingback := features.Settings{Allow: []string{"prepend"}}
	runApply(t, []applyCase{
		{name: "ringback has no private feature", n: num{public: `{"ringback":{"early":"tone://1"}}`}},
		{name: "ringback kept from an import",
			n:    num{pvt: `{"ringback":{"early":"tone://1"}}`},
			want: `{"ringback":{"early":"tone://1"}}`},
		{name: "ringback not allowed",
			n:       num{public: `{"ringback":{"early":"tone://1"}}`},
			s:       &noRingback,
			wantErr: knm.ErrForbidden},
		{name: "port kept as is",
			n:    num{pvt: `{"port":{"carrier":"Old"}}`, public: `{"port":{"carrier":"New"}}`},
			want: `{"port":{"carrier":"Old"}}`},
		{name: "port on a local number", n: num{module: "knm_local", public: `{"port":{}}`}, wantErr: knm.ErrForbidden},
		{name: "deprecated im dropped",
			n:    num{pvt: `{"im":{},"force_outbound":true}`, public: `{"force_outbound":true}`},
			want: `{"force_outbound":true}`},
	})
}

func TestMessaging(t *testing.T) {
	t.Parallel()
	carrierSMS := features.Settings{Allow: features.All(),
		Messaging: map[string]features.Messaging{"sms": {Enabled: true}}}
	runApply(t, []applyCase{
		{name: "set", n: num{public: `{"sms":{"enabled":true}}`}, s: &carrierSMS,
			want: `{"sms":{"enabled":true}}`},
		{name: "disable", n: num{pvt: `{"sms":{"enabled":true}}`, public: `{"sms":{"enabled":false}}`}, s: &carrierSMS},
		{name: "remove", n: num{pvt: `{"sms":{"enabled":true}}`}, s: &carrierSMS},
		{name: "carrier without sms ignores it", n: num{public: `{"sms":{"enabled":true}}`}},
		{name: "mms not offered by the carrier", n: num{public: `{"mms":{"enabled":true}}`}, s: &carrierSMS},
		{name: "reserved", n: num{state: knm.StateReserved, public: `{"sms":{"enabled":true}}`}, s: &carrierSMS},
	})
}

func TestCarrierName(t *testing.T) {
	t.Parallel()
	admin := features.Settings{Allow: features.All(), Admin: true, Carriers: []string{"knm_local", "knm_voxbone"}}
	n := num{public: `{"carrier_name":"local","force_outbound":true}`}.build(t)
	if err := features.Apply(n, admin); err != nil {
		t.Fatal(err)
	}
	if n.ModuleName != "knm_local" || n.Public["carrier_name"] != nil {
		t.Fatalf("module %s public %v", n.ModuleName, n.Public)
	}
	wantFeatures(t, n, `{"local":{},"force_outbound":true}`)

	// Moving to a local module strips what local numbers may not use, public fields too.
	n = num{pvt: `{"outbound_cnam":{"display_name":"A"}}`,
		public: `{"carrier_name":"knm_local","cnam":{"display_name":"A"}}`}.build(t)
	if err := features.Apply(n, admin); err != nil {
		t.Fatal(err)
	}
	if n.Public["cnam"] != nil {
		t.Fatalf("public cnam kept: %s", n.Public["cnam"])
	}
	wantFeatures(t, n, `{"local":{}}`)

	unknown := admin
	unknown.Carriers = []string{"knm_local"}
	runApply(t, []applyCase{
		{name: "not an admin", n: num{public: `{"carrier_name":"local"}`}, wantErr: knm.ErrForbidden},
		{name: "unknown module", n: num{public: `{"carrier_name":"telnyx"}`}, s: &unknown, wantErr: knm.ErrInvalid},
		{name: "empty", n: num{public: `{"carrier_name":""}`}, s: &unknown, wantErr: knm.ErrInvalid},
	})
}

// TestRemoveDenied repairs a number whose settings changed under it: the denied features
// go from pvt_features and from the public fields, so the next write succeeds.
func TestRemoveDenied(t *testing.T) {
	t.Parallel()
	s := features.Settings{Allow: features.All(), Deny: []string{"cnam", "inbound_cnam", "outbound_cnam", "e911"},
		DenySet: true}
	n := num{
		pvt: `{"outbound_cnam":{"display_name":"A"},"inbound_cnam":{"inbound_lookup":true},` +
			`"e911":{"locality":"X"},"prepend":{"enabled":true}}`,
		public: `{"cnam":{"display_name":"A","inbound_lookup":true},"e911":{"locality":"X"},` +
			`"dash_e911":{"locality":"X"},"prepend":{"enabled":true},"nickname":"n"}`,
	}.build(t)
	if err := features.Apply(n.Clone(), s); !knm.IsErrorName(err, knm.ErrForbidden) {
		t.Fatalf("Apply before repair = %v", err)
	}
	features.RemoveDenied(n, s)
	wantFeatures(t, n, `{"prepend":{"enabled":true}}`)
	pub, _ := json.Marshal(n.Public)
	if string(pub) != `{"nickname":"n","prepend":{"enabled":true}}` {
		t.Fatalf("public after repair: %s", pub)
	}
	if err := features.Apply(n, s); err != nil {
		t.Fatalf("Apply after repair: %v", err)
	}
}

// TestImportedFeaturesSurviveAWrite imports Kazoo documents (the root package's testdata,
// in Kazoo's shapes) whose features agree with their public fields, and writes them back
// unchanged: Apply must keep every feature.
func TestImportedFeaturesSurviveAWrite(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"cnam_public_and_private", "trunkstore_failover_prepend", "e911_features_available",
		"cnam_prepend_named", "e911_local_reserved", "denied_billable", "port_in_local", "mdn_local"} {
		raw, err := os.ReadFile(filepath.Join("..", "testdata", "kazoo", name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		var n knm.Number
		if err := n.UnmarshalKazoo(raw); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		s := defaults
		s.LocalFeatureOverride = name == "e911_local_reserved" // a local number with e911
		before, _ := json.Marshal(n.Features)
		if err := features.Apply(&n, s); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if after, _ := json.Marshal(n.Features); string(after) != string(before) {
			t.Errorf("%s: features %s became %s", name, before, after)
		}
	}
}
