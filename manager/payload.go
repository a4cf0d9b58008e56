package manager

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/knmproject/knm"
)

// numberFieldTypes are the typed fields of Kazoo's number payload schema
// (phone_numbers.json, kazoo-knm §6.3): the feature objects and their JSON types. Every
// other public field is free-form.
var numberFieldTypes = map[string]string{
	"cnam":           "object",
	"e911":           "object",
	"porting":        "object",
	"carrier_name":   "string",
	"prepend":        "object",
	"failover":       "object",
	"ringback":       "object",
	"force_outbound": "boolean",
	"sms":            "object",
	"mms":            "object",
}

// PayloadKind says which route a number payload came to: the API and the console check
// a payload by what the request means to do with it.
type PayloadKind int

const (
	PayloadCreate  PayloadKind = iota // PUT …/{N}, PUT …/collection
	PayloadReplace                    // POST …/{N}
	PayloadPatch                      // PATCH …/{N}: a null value removes the field
)

// CheckNumberPayload validates a number payload as Kazoo's phone_numbers.json schema does:
// create_with_state is one of the nine states (and only when creating), the feature fields
// have their types, and keys the API itself renders (state, _read_only, features, used_by,
// id, any _ or pvt_ key) are refused rather than silently dropped, so a client never
// believes it set them. Each error is 400 invalid with the field as cause. Keys are checked
// in sorted order so the same body always names the same field.
func CheckNumberPayload(data map[string]json.RawMessage, kind PayloadKind) error {
	if kind != PayloadCreate {
		// Kazoo drops the keys it renders when a number is edited, so a client may read a
		// number, change a field and send the whole document back; knm does the same.
		// Only a create refuses them, where they can only be a mistake.
		for _, k := range renderedKeys {
			delete(data, k)
		}
	}
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if msg := readOnlyKey(k, kind); msg != "" {
			return knm.Errorf(knm.ErrInvalid, "%s", msg).WithCause(k)
		}
		v := bytes.TrimSpace(data[k])
		if kind == PayloadPatch && string(v) == "null" && k != "create_with_state" {
			continue // a merge patch removing the field
		}
		switch k {
		case "create_with_state":
			if kind != PayloadCreate {
				return knm.Errorf(knm.ErrInvalid,
					"create_with_state applies only when creating a number; change the state with the activate, "+
						"reserve or release (DELETE) routes").WithCause(k)
			}
			var st string
			if jsonKind(v) != "string" || json.Unmarshal(v, &st) != nil || !knm.State(st).Valid() {
				return knm.Errorf(knm.ErrInvalid, "create_with_state must be one of the states %s",
					stateList()).WithCause(k)
			}
		case "ported_in":
			if kind == PayloadCreate && jsonKind(v) != "boolean" {
				return knm.Errorf(knm.ErrInvalid, "ported_in must be a boolean").WithCause(k)
			}
		}
		want, typed := numberFieldTypes[k]
		if !typed {
			continue
		}
		if got := jsonKind(v); got != want {
			return knm.Errorf(knm.ErrInvalid, "%s must be %s %s, not %s", k, article(want), want, got).WithCause(k)
		}
		switch k {
		case "cnam":
			if err := checkCNAM(v); err != nil {
				return err
			}
		case "carrier_name":
			if err := checkStringLen(v, k, 1, 30); err != nil {
				return err
			}
		}
	}
	return nil
}

// renderedKeys are the keys of a number's public JSON that the API computes.
var renderedKeys = []string{"state", "_read_only", "features", "used_by", "id"}

// readOnlyKey explains why a client may not send key, or is "" when it may.
func readOnlyKey(key string, kind PayloadKind) string {
	switch {
	case key == "state" && kind == PayloadCreate:
		return "state is read-only; use create_with_state to choose the state of a new number"
	case key == "state":
		return "state is read-only; change it with the activate, reserve or release (DELETE) routes"
	case key == "_read_only":
		return "_read_only is read-only: the API renders it"
	case key == "features":
		return "features is read-only (the API lists the features set on the number); set a feature by its own key, " +
			"e.g. cnam or e911"
	case key == "used_by":
		return "used_by is read-only: it names the application using the number"
	case key == "id":
		return "id is read-only: the number is the one in the path (or in numbers)"
	case strings.HasPrefix(key, "_"), strings.HasPrefix(key, "pvt_"):
		return key + " is read-only: keys starting with _ or pvt_ are private to knm"
	}
	return ""
}

// checkCNAM checks cnam's known fields: display_name a string of 1 to 15 characters,
// inbound_lookup a boolean. Other keys are free-form, as in Kazoo's schema.
func checkCNAM(raw json.RawMessage) error {
	var cnam map[string]json.RawMessage
	if err := json.Unmarshal(raw, &cnam); err != nil {
		return knm.Errorf(knm.ErrInvalid, "cnam must be an object").WithCause("cnam")
	}
	if v, ok := cnam["display_name"]; ok {
		if err := checkStringLen(v, "cnam.display_name", 1, 15); err != nil {
			return err
		}
	}
	if v, ok := cnam["inbound_lookup"]; ok && jsonKind(v) != "boolean" {
		return knm.Errorf(knm.ErrInvalid, "cnam.inbound_lookup must be a boolean, not %s",
			jsonKind(v)).WithCause("cnam.inbound_lookup")
	}
	return nil
}

// checkStringLen checks that raw is a JSON string of min to max characters.
func checkStringLen(raw json.RawMessage, field string, min, max int) error {
	var s string
	if jsonKind(raw) != "string" || json.Unmarshal(raw, &s) != nil {
		return knm.Errorf(knm.ErrInvalid, "%s must be a string, not %s", field, jsonKind(raw)).WithCause(field)
	}
	if n := utf8.RuneCountInString(s); n < min || n > max {
		return knm.Errorf(knm.ErrInvalid, "%s must be %d to %d characters", field, min, max).WithCause(field)
	}
	return nil
}

// jsonKind is the JSON type of a well-formed JSON value.
func jsonKind(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}

func article(typ string) string {
	if strings.IndexByte("aeiou", typ[0]) >= 0 {
		return "an"
	}
	return "a"
}

func stateList() string {
	names := make([]string, len(knm.States))
	for i, s := range knm.States {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}
