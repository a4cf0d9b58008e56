// Package features computes a number's features the way Kazoo's knm_providers does: which
// features a number may use (features_available), and what its private feature settings
// (pvt_features) become when the number is written with its public fields.
//
// A feature is switched on by a public field and kept in pvt_features, where call routing
// reads it:
//
//	cnam.display_name       -> outbound_cnam {"display_name": …}   (reserved, in_service, port_in)
//	cnam.inbound_lookup     -> inbound_cnam {"inbound_lookup": true} (reserved, in_service, port_in)
//	e911 (an address)       -> e911, the address                  (reserved, in_service, port_in)
//	failover                -> failover, as given                 (in_service)
//	prepend, enabled true   -> prepend, as given                  (in_service)
//	force_outbound boolean  -> force_outbound, true or false      (in_service)
//	sms / mms, enabled true -> sms / mms, as given                (in_service, carrier permitting)
//
// Removing the public field removes the feature; in another state than those listed the
// feature is removed too (cnam alone is then left as it was). ringback and port are
// accepted and stored, as Kazoo does, without a private feature of their own. carrier_name
// (admins only) moves the number to another carrier module and is then dropped.
//
// Which features a number may use comes from number_manager's features.allow and
// features.deny (a reseller's configs_number_manager overriding the system's), from the
// number's own pvt_features_allowed / pvt_features_denied, and from fixed rules: unassigned
// and local numbers may not use the external features (cnam, e911, port, sms, mms) unless
// local_feature_override is set, failover is only for trunkstore numbers, and carrier_name
// is for admins. A write that asks for a feature the number may not use fails with
// forbidden; sms and mms are then silently left alone.
package features

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/knmproject/knm"
)

// Feature names, as Kazoo spells them in pvt_features and in features.allow/deny.
const (
	CNAM          = "cnam"
	InboundCNAM   = "inbound_cnam"
	OutboundCNAM  = "outbound_cnam"
	E911          = "e911"
	Failover      = "failover"
	ForceOutbound = "force_outbound"
	Local         = "local"
	Port          = "port"
	Prepend       = "prepend"
	CarrierName   = "carrier_name"
	Ringback      = "ringback"
	SMS           = "sms"
	MMS           = "mms"
)

// kazooFeatures are the features routing implements inside the platform.
var kazooFeatures = []string{Failover, ForceOutbound, Prepend, Ringback}

// externalFeatures are the features a third party provides; unassigned numbers and local
// numbers may not use them.
var externalFeatures = []string{CNAM, InboundCNAM, OutboundCNAM, E911, Port, SMS, MMS}

// adminOnlyFeatures are the features only admins may use.
var adminOnlyFeatures = []string{CarrierName}

// All lists every feature, the default of features.allow.
func All() []string {
	return slices.Concat(kazooFeatures, externalFeatures, adminOnlyFeatures)
}

// rootKeys are the public fields that ask for a feature.
var rootKeys = []string{CNAM, E911, Failover, ForceOutbound, Local, Port, Prepend, CarrierName, Ringback, SMS, MMS}

// Settings decide which features a number may use. config.FeatureSettings reads them from
// number_manager for the number's reseller and carrier; Admin and Carriers describe the caller and the
// installation and are filled in by the caller.
type Settings struct {
	// Allow is features.allow: the reseller's, else the system's, else the system's
	// providers list, else every feature.
	Allow []string
	// Deny is features.deny (the reseller's, else the system's) when DenySet; it then
	// replaces the denial of external features on local numbers.
	Deny    []string
	DenySet bool
	// LocalFeatureOverride is local_feature_override: local numbers may use external
	// features.
	LocalFeatureOverride bool
	// Messaging is what the number's carrier allows of sms and mms (its number_manager.
	// <carrier> features.sms / features.mms); a type not listed is not offered.
	Messaging map[string]Messaging
	// Admin says the caller is the system or a superduper admin (Kazoo's is_admin).
	Admin bool
	// Carriers are the carrier modules carrier_name may name.
	Carriers []string
}

// Messaging is a carrier's sms or mms setting.
type Messaging struct {
	Enabled    bool   // features.<type>.enabled
	Activation string // features.<type>.activation; default "auto"
}

// Available returns the sorted features the number may use (Kazoo's available_features):
// the allowed ones less the denied ones, with sms and mms only where the carrier offers
// them on an assigned number in service.
func Available(n *knm.Number, s Settings) []string {
	allowed := cleanse(n.FeaturesAllowed)
	if len(allowed) == 0 {
		allowed = cleanse(s.Allow)
	}
	denied := Denied(n, s)
	out := []string{}
	for _, f := range allowed {
		if slices.Contains(denied, f) {
			continue
		}
		if (f == SMS || f == MMS) && !messagingAvailable(n, s, f) {
			continue
		}
		out = append(out, f)
	}
	return out
}

// Denied returns the sorted features the number may not use (Kazoo's features_denied):
// its own pvt_features_denied, else those of its reseller or of its kind (unassigned,
// local) and failover outside trunkstore; plus carrier_name for non-admins.
func Denied(n *knm.Number, s Settings) []string {
	denied := n.FeaturesDenied
	if len(denied) == 0 {
		denied = slices.Concat(resellerDenied(n, s), usedByDenied(n))
	}
	if !s.Admin {
		denied = slices.Concat(denied, adminOnlyFeatures)
	}
	return cleanse(denied)
}

func resellerDenied(n *knm.Number, s Settings) []string {
	switch {
	case n.AssignedTo == "":
		return externalFeatures
	case s.DenySet:
		return s.Deny
	case isLocal(n) && !s.LocalFeatureOverride:
		return externalFeatures
	}
	return nil
}

func usedByDenied(n *knm.Number) []string {
	if n.UsedBy == "trunkstore" {
		return nil
	}
	return []string{Failover}
}

// isLocal reports whether the number is local: a knm_local or knm_mdn module, or the
// local feature.
func isLocal(n *knm.Number) bool {
	_, local := n.Features[Local]
	return knm.IsLocalModule(n.ModuleName) || local
}

func messagingAvailable(n *knm.Number, s Settings, kind string) bool {
	return n.State == knm.StateInService && n.AssignedTo != "" && s.Messaging[kind].Enabled
}

// cleanse maps provider names of features.allow/deny to feature names (knm_cnam_notifier
// and telnyx_cnam are cnam, dash_e911 is e911, port_notifier is port...), sorted and
// without repeats.
func cleanse(names []string) []string {
	out := make([]string, 0, len(names))
	for _, name := range names {
		out = append(out, providerFeature(name))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func providerFeature(name string) string {
	for {
		trimmed := strings.TrimPrefix(strings.TrimPrefix(name, "wnm_"), "knm_")
		if trimmed == name {
			break
		}
		name = trimmed
	}
	switch name {
	case "cnam_notifier", "telnyx_cnam", "vitelity_cnam":
		return CNAM
	case "dash_e911", "telnyx_e911", "vitelity_e911":
		return E911
	case "port_notifier":
		return Port
	}
	return name
}

// ReadOnly is the _read_only.features object of a number: what it may use and the
// settings of those features that have some (the carrier's sms and mms settings).
type ReadOnly struct {
	Available []string                   `json:"available"`
	Settings  map[string]json.RawMessage `json:"settings"`
}

// ReadOnlyFeatures returns the _read_only.features object of n.
func ReadOnlyFeatures(n *knm.Number, s Settings) ReadOnly {
	ro := ReadOnly{Available: Available(n, s), Settings: map[string]json.RawMessage{}}
	for _, f := range ro.Available {
		m, ok := s.Messaging[f]
		if f != SMS && f != MMS || !ok {
			continue
		}
		activation := m.Activation
		if activation == "" {
			activation = "auto"
		}
		raw, _ := json.Marshal(map[string]any{"enabled": m.Enabled, "activation": activation})
		ro.Settings[f] = raw
	}
	return ro
}
