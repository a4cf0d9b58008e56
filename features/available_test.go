package features_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/features"
)

func TestAvailable(t *testing.T) {
	t.Parallel()
	sms := map[string]features.Messaging{"sms": {Enabled: true, Activation: "manual"}, "mms": {Enabled: false}}
	for _, tc := range []struct {
		name string
		n    num
		s    features.Settings
		want string
	}{
		{"assigned number", num{usedBy: "callflow"}, defaults,
			"cnam e911 force_outbound inbound_cnam outbound_cnam port prepend ringback"},
		{"trunkstore number", num{usedBy: "trunkstore"}, defaults,
			"cnam e911 failover force_outbound inbound_cnam outbound_cnam port prepend ringback"},
		{"admin", num{}, features.Settings{Allow: features.All(), Admin: true},
			"carrier_name cnam e911 force_outbound inbound_cnam outbound_cnam port prepend ringback"},
		{"unassigned number", num{state: knm.StateAvailable, unassigned: true}, defaults, "force_outbound prepend ringback"},
		{"local number", num{module: "knm_local"}, defaults, "force_outbound prepend ringback"},
		{"local feature on another module", num{pvt: `{"local":{}}`}, defaults, "force_outbound prepend ringback"},
		{"local number with override", num{module: "knm_local"},
			features.Settings{Allow: features.All(), LocalFeatureOverride: true},
			"cnam e911 force_outbound inbound_cnam outbound_cnam port prepend ringback"},
		{"reseller deny replaces the local denial", num{module: "knm_local"},
			features.Settings{Allow: features.All(), Deny: []string{"e911", "knm_port_notifier"}, DenySet: true},
			"cnam force_outbound inbound_cnam outbound_cnam prepend ringback"},
		{"reseller allow list", num{},
			features.Settings{Allow: []string{"wnm_cnam_notifier", "dash_e911", "failover"}}, "cnam e911"},
		{"number allow list", num{usedBy: "trunkstore", allowed: []string{"failover", "prepend"}}, defaults,
			"failover prepend"},
		{"number deny list replaces the others", num{module: "knm_local", denied: []string{"prepend"}}, defaults,
			"cnam e911 failover force_outbound inbound_cnam outbound_cnam port ringback"},
		{"sms from the carrier", num{}, features.Settings{Allow: features.All(), Messaging: sms},
			"cnam e911 force_outbound inbound_cnam outbound_cnam port prepend ringback sms"},
		{"sms needs in_service", num{state: knm.StateReserved}, features.Settings{Allow: features.All(), Messaging: sms},
			"cnam e911 force_outbound inbound_cnam outbound_cnam port prepend ringback"},
		{"nothing allowed", num{}, features.Settings{Allow: []string{}}, ""},
	} {
		n := tc.n.build(t)
		if got := strings.Join(features.Available(n, tc.s), " "); got != tc.want {
			t.Errorf("%s: available %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestReadOnlyFeatures(t *testing.T) {
	t.Parallel()
	s := features.Settings{Allow: features.All(), Messaging: map[string]features.Messaging{"sms": {Enabled: true}}}
	raw, err := json.Marshal(features.ReadOnlyFeatures(num{}.build(t), s))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"available":["cnam","e911","force_outbound","inbound_cnam","outbound_cnam","port","prepend",` +
		`"ringback","sms"],` +
		`"settings":{"sms":{"activation":"auto","enabled":true}}}`
	if string(raw) != want {
		t.Fatalf("read-only features %s\nwant %s", raw, want)
	}
	unassigned := num{state: knm.StateAvailable, unassigned: true}.build(t)
	raw, _ = json.Marshal(features.ReadOnlyFeatures(unassigned, features.Settings{}))
	if string(raw) != `{"available":[],"settings":{}}` {
		t.Fatalf("nothing allowed: %s", raw)
	}
}
