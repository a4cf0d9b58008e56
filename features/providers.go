package features

import (
	"encoding/json"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/internal/kzjson"
)

// providers are the feature providers a write runs, by provider name; each is a
// transcription of one of Kazoo's knm_* provider modules' save. Providers not listed
// (ringback, unknown names) have no effect, as Kazoo skips a provider module it does not
// have.
var providers = map[string]func(*knm.Number){
	CNAM:          saveCNAM,
	E911:          saveE911,
	Failover:      saveFailover,
	ForceOutbound: saveForceOutbound,
	Port:          func(*knm.Number) {}, // Kazoo's port notifier only reacts to port requests
	Prepend:       savePrepend,
	SMS:           func(n *knm.Number) { saveMessaging(n, SMS) },
	MMS:           func(n *knm.Number) { saveMessaging(n, MMS) },
}

// public returns a non-empty public field (Kazoo's get_ne_value on the public doc).
func public(n *knm.Number, path ...string) json.RawMessage {
	return kzjson.NonEmpty(kzjson.Field(n.Public, path...))
}

// private returns a non-empty private feature setting.
func private(n *knm.Number, path ...string) json.RawMessage {
	return kzjson.NonEmpty(kzjson.Field(n.Features, path...))
}

// inStates reports whether n is in one of the states.
func inStates(n *knm.Number, states ...knm.State) bool {
	for _, s := range states {
		if n.State == s {
			return true
		}
	}
	return false
}

// saveCNAM is knm_cnam_notifier: in reserved, in_service and port_in, cnam.display_name
// sets outbound_cnam and cnam.inbound_lookup true sets inbound_cnam; the bare "cnam"
// private key is dropped. Other states leave the features as they are.
func saveCNAM(n *knm.Number) {
	if !inStates(n, knm.StateReserved, knm.StateInService, knm.StatePortIn) {
		return
	}
	switch name := public(n, CNAM, "display_name"); {
	case name == nil:
		deactivate(n, OutboundCNAM)
	case kzjson.Equal(name, private(n, OutboundCNAM, "display_name")):
	default:
		activate(n, OutboundCNAM, kzjson.Object(kzjson.Pair{Key: "display_name", Value: name}))
	}
	switch {
	case !kzjson.IsTrue(kzjson.Field(n.Public, CNAM, "inbound_lookup")):
		deactivate(n, InboundCNAM, "inbound_lookup")
	case !kzjson.IsTrue(kzjson.Field(n.Features, InboundCNAM, "inbound_lookup")):
		activate(n, InboundCNAM, json.RawMessage(`{"inbound_lookup":true}`))
	}
	deactivate(n, CNAM)
}

// saveE911 is Kazoo's E911 provider without an upstream service: in reserved, in_service
// and port_in the public e911 address becomes the e911 feature; elsewhere, or when the
// address is removed, the feature goes.
func saveE911(n *knm.Number) {
	if !inStates(n, knm.StateReserved, knm.StateInService, knm.StatePortIn) {
		deactivate(n, E911)
		return
	}
	syncFeature(n, E911)
}

// saveFailover is knm_failover: in service, the public failover object is the feature.
func saveFailover(n *knm.Number) {
	if n.State != knm.StateInService {
		deactivate(n, Failover)
		return
	}
	syncFeature(n, Failover)
}

// syncFeature makes the private feature equal to the non-empty public field of the same
// name, or removes it.
func syncFeature(n *knm.Number, feature string) {
	want := public(n, feature)
	switch {
	case want == nil:
		deactivate(n, feature)
	case kzjson.Equal(want, private(n, feature)):
	default:
		activate(n, feature, want)
	}
}

// saveForceOutbound is knm_force_outbound: in service, a boolean public force_outbound
// (true, false, "true" or "false") is the feature; anything else removes it.
func saveForceOutbound(n *knm.Number) {
	if n.State != knm.StateInService {
		deactivate(n, ForceOutbound)
		return
	}
	raw := n.Public[ForceOutbound]
	if !kzjson.IsBoolean(raw) {
		deactivate(n, ForceOutbound)
		return
	}
	want := kzjson.Bool(kzjson.IsTrue(raw))
	if !kzjson.Equal(want, private(n, ForceOutbound)) {
		activate(n, ForceOutbound, want)
	}
}

// savePrepend is knm_prepend: in service, a public prepend with enabled true is the
// feature; without enabled, or removed, the feature goes.
func savePrepend(n *knm.Number) {
	if n.State != knm.StateInService {
		deactivate(n, Prepend)
		return
	}
	want := public(n, Prepend)
	switch {
	case want == nil:
		deactivate(n, Prepend)
	case kzjson.Equal(want, private(n, Prepend)):
	case kzjson.IsTrue(kzjson.Get(want, "enabled")):
		activate(n, Prepend, want)
	default:
		deactivate(n, Prepend)
	}
}

// saveMessaging is knm_sms / knm_mms: in service, a public sms (mms) object with enabled
// true is the feature; disabled or removed, the feature goes.
func saveMessaging(n *knm.Number, kind string) {
	if n.State != knm.StateInService {
		deactivate(n, kind)
		return
	}
	want, have := public(n, kind), private(n, kind)
	switch {
	case want == nil:
		deactivate(n, kind)
	case kzjson.Equal(want, have):
	case kzjson.IsTrue(kzjson.Get(want, "enabled")):
		activate(n, kind, want)
	default:
		deactivate(n, kind)
	}
}
