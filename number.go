package knm

import (
	"encoding/json"
	"slices"
	"time"
)

// Number is a phone number and everything knm knows about it: the fields of a Kazoo
// phone_number document (kazoo-knm §3.2). The E.164 string is its identity.
type Number struct {
	Number               string                     // E.164, "+" and digits; the document _id
	Rev                  int64                      // store revision; 0 for a number never stored
	State                State                      // pvt_state
	AssignedTo           string                     // pvt_assigned_to: owning account id, "" when unowned
	PreviouslyAssignedTo string                     // pvt_previously_assigned_to
	ReserveHistory       []string                   // pvt_reserve_history, newest first
	ModuleName           string                     // pvt_module_name, e.g. knm_voxbone
	CarrierData          json.RawMessage            // pvt_carrier_data: the carrier's own JSON
	UsedBy               string                     // pvt_used_by: callflow, trunkstore, …
	Features             map[string]json.RawMessage // pvt_features: feature name -> settings
	FeaturesAllowed      []string                   // pvt_features_allowed
	FeaturesDenied       []string                   // pvt_features_denied
	PortedIn             bool                       // pvt_ported_in
	Region               string                     // pvt_region
	Created              time.Time                  // pvt_created
	Modified             time.Time                  // pvt_modified
	Public               map[string]json.RawMessage // every public (non-_, non-pvt_) field, as is
}

// Clone returns a deep copy of n, so a caller can change it without touching a cached value.
func (n *Number) Clone() *Number {
	if n == nil {
		return nil
	}
	c := *n
	c.ReserveHistory = slices.Clone(n.ReserveHistory)
	c.CarrierData = slices.Clone(n.CarrierData)
	c.FeaturesAllowed = slices.Clone(n.FeaturesAllowed)
	c.FeaturesDenied = slices.Clone(n.FeaturesDenied)
	c.Features = cloneRawMap(n.Features)
	c.Public = cloneRawMap(n.Public)
	return &c
}

func cloneRawMap(m map[string]json.RawMessage) map[string]json.RawMessage {
	if m == nil {
		return nil
	}
	c := make(map[string]json.RawMessage, len(m))
	for k, v := range m {
		c[k] = slices.Clone(v)
	}
	return c
}

// IsLocalModule reports whether module names one of the modules whose numbers Kazoo deletes
// on release and marks with the "local" feature.
func IsLocalModule(module string) bool { return module == "knm_local" || module == "knm_mdn" }

// SetModule sets the module name and, as Kazoo does, adds the "local" feature for knm_local
// and knm_mdn and removes it for any other module.
func (n *Number) SetModule(module string) {
	n.ModuleName = module
	if IsLocalModule(module) {
		if n.Features == nil {
			n.Features = map[string]json.RawMessage{}
		}
		n.Features["local"] = json.RawMessage(`{}`)
	} else {
		delete(n.Features, "local")
	}
}

// FeatureNames returns the sorted keys of Features.
func (n *Number) FeatureNames() []string {
	names := make([]string, 0, len(n.Features))
	for k := range n.Features {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

// CarrierModuleShortName returns the module name without its "knm_" prefix, as the API's
// _read_only.carrier_module shows it.
func CarrierModuleShortName(module string) string {
	if len(module) > 4 && module[:4] == "knm_" {
		return module[4:]
	}
	return module
}

// IsE164 reports whether s is written as an E.164 number: "+" and 2 to 15 digits, the
// first not 0. It checks the form only; e164.IsValid asks whether the number exists.
func IsE164(s string) bool {
	if len(s) < 3 || len(s) > 16 || s[0] != '+' || s[1] == '0' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
