package features

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/internal/kzjson"
)

// deprecatedFeatures are dropped from pvt_features on every write.
var deprecatedFeatures = []string{"im"}

// Apply brings n's pvt_features in line with its public fields and state, as Kazoo's
// knm_providers:save does on every create, move and update (see the package comment for
// the rules). Call it on the number about to be stored, after its state, owner, module and
// public fields are set; it changes n in place.
//
// Errors: forbidden (carrier_name asked by a non-admin, or a feature asked for, by a public
// field or by a feature the number already has, that the number may not use; sms and mms
// excepted) and invalid (carrier_name empty or naming no known carrier module). n is
// unchanged when Apply fails.
func Apply(n *knm.Number, s Settings) error {
	work := n.Clone()
	if work.Public != nil {
		knm.CopyProviderE911(work.Public)
	}
	for _, f := range deprecatedFeatures {
		delete(work.Features, f)
	}
	allowed, denied := split(work, s)
	if slices.Contains(allowed, CarrierName) {
		if err := renameCarrier(work, s); err != nil {
			return err
		}
		RemoveDenied(work, s)
		allowed, denied = split(work, s)
	}
	denied = slices.DeleteFunc(denied, func(p string) bool { return p == SMS || p == MMS })
	if len(denied) > 0 {
		return knm.Forbidden("features not allowed on " + work.Number + ": " + strings.Join(denied, ", "))
	}
	for _, p := range allowed {
		if save := providers[p]; save != nil {
			save(work)
		}
	}
	if len(work.Features) == 0 {
		work.Features = nil
	}
	*n = *work
	return nil
}

// provider returns the provider that handles a feature: the cnam provider handles the
// three cnam features; every other feature is its own provider.
func provider(feature string) string {
	switch feature {
	case InboundCNAM, OutboundCNAM:
		return CNAM
	}
	return feature
}

// split returns the providers the write asks for (public fields naming a feature, and the
// features the number has, local aside), sorted, in two parts: those the number may use
// and the others.
func split(n *knm.Number, s Settings) (allowed, denied []string) {
	var requested []string
	for _, k := range rootKeys {
		if _, ok := n.Public[k]; ok && k != Local {
			requested = append(requested, provider(k))
		}
	}
	for k := range n.Features {
		if k != Local {
			requested = append(requested, provider(k))
		}
	}
	slices.Sort(requested)
	requested = slices.Compact(requested)
	var usable []string
	for _, f := range Available(n, s) {
		usable = append(usable, provider(f))
	}
	for _, p := range requested {
		if slices.Contains(usable, p) {
			allowed = append(allowed, p)
		} else {
			denied = append(denied, p)
		}
	}
	return allowed, denied
}

// renameCarrier moves the number to the carrier module named by its public carrier_name
// (with or without "knm_") and drops that field: Kazoo's knm_rename_carrier.
func renameCarrier(n *knm.Number, s Settings) error {
	if !s.Admin {
		return knm.Forbidden("carrier_name")
	}
	raw := kzjson.NonEmpty(n.Public[CarrierName])
	name, ok := kzjson.String(raw)
	if !ok || name == "" {
		return knm.Errorf(knm.ErrInvalid, "carrier_name must name a carrier module, got %s", raw)
	}
	module := "knm_" + strings.TrimPrefix(strings.TrimPrefix(name, "knm_"), "wnm_")
	if !slices.Contains(s.Carriers, module) {
		return knm.Errorf(knm.ErrInvalid, "'%s' is not known by the system", name)
	}
	n.SetModule(module)
	delete(n.Public, CarrierName)
	return nil
}

// publicPaths are the public fields of each feature that RemoveDenied clears.
var publicPaths = map[string][][]string{
	E911:            {{E911}, {"vitelity_e911"}, {"dash_e911"}, {"telnyx_e911"}},
	"vitelity_e911": {{E911}, {"vitelity_e911"}, {"dash_e911"}, {"telnyx_e911"}},
	"dash_e911":     {{E911}, {"vitelity_e911"}, {"dash_e911"}, {"telnyx_e911"}},
	"telnyx_e911":   {{E911}, {"vitelity_e911"}, {"dash_e911"}, {"telnyx_e911"}},
	CNAM:            {{CNAM, "inbound_lookup"}, {CNAM, "display_name"}},
	InboundCNAM:     {{CNAM, "inbound_lookup"}, {CNAM, "display_name"}},
	OutboundCNAM:    {{CNAM, "inbound_lookup"}, {CNAM, "display_name"}},
	Prepend:         {{Prepend, "enabled"}, {Prepend, "name"}, {Prepend, "number"}},
	Failover:        {{Failover, "e164"}, {Failover, "sip"}},
	Ringback:        {{Ringback, "early"}, {Ringback, "transfer"}},
	ForceOutbound:   {{ForceOutbound}},
	SMS:             {{SMS}},
	MMS:             {{MMS}},
}

// RemoveDenied drops from n the features it may not use, from pvt_features and from the
// public fields that ask for them (Kazoo's remove_denied_features). It repairs a number
// whose settings changed under it, so that it can be written again; port and carrier_name
// are not touched.
func RemoveDenied(n *knm.Number, s Settings) {
	for _, f := range Denied(n, s) {
		paths, ok := publicPaths[f]
		if !ok {
			continue
		}
		delete(n.Features, f)
		for _, p := range paths {
			kzjson.Prune(n.Public, p...)
		}
	}
	if len(n.Features) == 0 {
		n.Features = nil
	}
}

// activate sets a private feature.
func activate(n *knm.Number, feature string, data json.RawMessage) {
	if n.Features == nil {
		n.Features = map[string]json.RawMessage{}
	}
	n.Features[feature] = data
}

// deactivate removes private features.
func deactivate(n *knm.Number, features ...string) {
	for _, f := range features {
		delete(n.Features, f)
	}
}
