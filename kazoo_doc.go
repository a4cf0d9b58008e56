package knm

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/knmproject/knm/internal/kzjson"
)

// docReader reads the fields of a Kazoo phone_number document with Kazoo's tolerance and
// collects every field it cannot read, so one error names them all. Shapes Kazoo's
// knm_phone_number:from_json accepts and knm reads the same way:
//   - a field that is absent, null or empty ("", [], {}) is unset;
//   - pvt_created and pvt_modified may be the string "undefined" (written by Kazoo when the
//     time was unknown: unset) or digits in a string;
//   - pvt_ported_in may be the string "true" or "false";
//   - pvt_features may be a list of feature names (Kazoo 3.22's shape), rebuilt from the
//     public fields, and may hold dash_e911 or vitelity_e911, which become e911.
type docReader struct {
	doc  map[string]json.RawMessage
	errs []string
}

// present returns the field when it is set and not empty, else nil.
func (r *docReader) present(k string) json.RawMessage {
	return kzjson.NonEmpty(r.doc[k])
}

func (r *docReader) str(k string) string {
	raw := r.present(k)
	if raw == nil {
		return ""
	}
	s, ok := kzjson.String(raw)
	if !ok {
		r.errs = append(r.errs, k+" must be a string")
	}
	return s
}

func (r *docReader) strs(k string) []string {
	raw := r.present(k)
	if raw == nil {
		return nil
	}
	var s []string
	if err := json.Unmarshal(raw, &s); err != nil {
		r.errs = append(r.errs, k+" must be a list of strings")
	}
	return s
}

func (r *docReader) boolean(k string) bool {
	raw := r.present(k)
	if raw == nil {
		return false
	}
	if !kzjson.IsBoolean(raw) {
		r.errs = append(r.errs, k+" must be a boolean")
	}
	return kzjson.IsTrue(raw)
}

// gregorian reads Gregorian seconds written as a number or as digits in a string.
func (r *docReader) gregorian(k string) time.Time {
	raw := r.present(k)
	if raw == nil {
		return time.Time{}
	}
	if s, ok := kzjson.String(raw); ok {
		if s == "undefined" {
			return time.Time{}
		}
		g, err := strconv.ParseInt(s, 10, 64)
		if err != nil || g < 0 {
			r.errs = append(r.errs, k+" must be Gregorian seconds")
			return time.Time{}
		}
		return FromGregorian(g)
	}
	var g float64
	if err := json.Unmarshal(raw, &g); err != nil || g < 0 || math.IsInf(g, 0) {
		r.errs = append(r.errs, k+" must be Gregorian seconds")
		return time.Time{}
	}
	return FromGregorian(int64(g))
}

// features reads pvt_features: an object of feature settings, or a list of feature names
// whose settings are rebuilt from the public fields.
func (r *docReader) features(public map[string]json.RawMessage) map[string]json.RawMessage {
	raw := r.present("pvt_features")
	if raw == nil {
		return nil
	}
	var f map[string]json.RawMessage
	if err := json.Unmarshal(raw, &f); err == nil {
		return renameProviderFeatures(f)
	}
	var names []string
	if err := json.Unmarshal(raw, &names); err != nil {
		r.errs = append(r.errs, "pvt_features must be an object or a list of feature names")
		return nil
	}
	f = make(map[string]json.RawMessage, len(names))
	for _, name := range names {
		k, v := featureFromName(name, public)
		if v != nil {
			f[k] = v
		}
	}
	return renameProviderFeatures(f)
}

// featureFromName returns the feature and settings a Kazoo 3.22 feature name stands for,
// taken from the public fields the way Kazoo 4 migrates them.
func featureFromName(name string, public map[string]json.RawMessage) (string, json.RawMessage) {
	field := func(path ...string) json.RawMessage { return kzjson.NonEmpty(kzjson.Field(public, path...)) }
	switch name {
	case "force_outbound":
		return name, kzjson.Bool(kzjson.IsTrue(public[name]))
	case "ringback":
		return name, kzjson.Object(kzjson.Pair{Key: "early", Value: field(name, "early")},
			kzjson.Pair{Key: "transfer", Value: field(name, "transfer")})
	case "failover":
		return name, kzjson.Object(kzjson.Pair{Key: "e164", Value: field(name, "e164")},
			kzjson.Pair{Key: "sip", Value: field(name, "sip")})
	case "prepend":
		data := field(name)
		if data == nil || !strings.HasPrefix(strings.TrimSpace(string(data)), "{") {
			data = json.RawMessage("{}")
		}
		return name, kzjson.Set(data, "enabled", kzjson.Bool(kzjson.IsTrue(kzjson.Field(public, name, "enabled"))))
	case "outbound_cnam":
		name, _ := kzjson.String(field("cnam", "display_name"))
		var v json.RawMessage
		if name != "" {
			v = kzjson.Quote(name)
		}
		return "outbound_cnam", kzjson.Object(kzjson.Pair{Key: "display_name", Value: v})
	case "inbound_lookup":
		return "inbound_cnam", json.RawMessage(`{"inbound_lookup":true}`)
	case "dash_e911", "vitelity_e911", "telnyx_e911":
		return "e911", public[name]
	}
	if v := field(name); v != nil {
		return name, v
	}
	return name, json.RawMessage("{}")
}

// renameProviderFeatures moves the provider-named E911 settings (dash_e911,
// vitelity_e911) to e911, vitelity's winning when both are there; an empty result is nil.
func renameProviderFeatures(f map[string]json.RawMessage) map[string]json.RawMessage {
	dash, vitelity := kzjson.NonEmpty(f["dash_e911"]), kzjson.NonEmpty(f["vitelity_e911"])
	if dash != nil || vitelity != nil {
		delete(f, "dash_e911")
		delete(f, "vitelity_e911")
		f["e911"] = dash
		if vitelity != nil {
			f["e911"] = vitelity
		}
	}
	if len(f) == 0 {
		return nil
	}
	return f
}

// CopyProviderE911 copies an address given under a provider's name (dash_e911 or
// vitelity_e911, vitelity's winning) to the public e911 field, as Kazoo does every time it
// sets a number's public fields. The provider-named field stays.
func CopyProviderE911(public map[string]json.RawMessage) {
	dash := kzjson.NonEmpty(public["dash_e911"])
	vitelity := kzjson.NonEmpty(public["vitelity_e911"])
	switch {
	case vitelity != nil:
		public["e911"] = vitelity
	case dash != nil:
		public["e911"] = dash
	}
}

// keepLocalFeature makes the "local" feature follow the module, keeping its settings.
func (n *Number) keepLocalFeature() {
	if !IsLocalModule(n.ModuleName) {
		delete(n.Features, "local")
		if len(n.Features) == 0 {
			n.Features = nil
		}
		return
	}
	if _, ok := n.Features["local"]; ok {
		return
	}
	if n.Features == nil {
		n.Features = map[string]json.RawMessage{}
	}
	n.Features["local"] = json.RawMessage(`{}`)
}
