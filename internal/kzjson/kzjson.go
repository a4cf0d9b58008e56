// Package kzjson reads JSON values the way Kazoo's kz_json and kz_term read them, so code
// that transcribes Kazoo's number features and document readers can say "non-empty" and
// "is true" with Kazoo's exact meaning.
//
// Kazoo counts as empty: absent, null, 0, 0.0, "", "0", "NULL", "undefined", [] and {}.
// It counts as true: true and "true". Objects keep their key order through every change.
package kzjson

import (
	"bytes"
	"encoding/json"
	"reflect"

	"github.com/knmproject/knm/internal/jsonobj"
)

// Field returns the value at path in the members m (a decoded top-level object): m[path[0]]
// and then the nested keys. It is nil when any step is absent or not an object.
func Field(m map[string]json.RawMessage, path ...string) json.RawMessage {
	if len(path) == 0 || m == nil {
		return nil
	}
	v, ok := m[path[0]]
	if !ok {
		return nil
	}
	return Get(v, path[1:]...)
}

// Get returns the value at path inside the JSON value raw (raw itself for an empty path),
// nil when a step is absent or not an object.
func Get(raw json.RawMessage, path ...string) json.RawMessage {
	for _, key := range path {
		if !jsonobj.IsObject(raw) {
			return nil
		}
		ms, err := jsonobj.Members(raw)
		if err != nil {
			return nil
		}
		raw = nil
		for _, m := range ms {
			if m.Key == key {
				raw = m.Value
				break
			}
		}
		if raw == nil {
			return nil
		}
	}
	return raw
}

// IsEmpty is Kazoo's kz_term:is_empty on a JSON value.
func IsEmpty(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	switch string(t) {
	case "", "null", `""`, `"0"`, `"NULL"`, `"undefined"`, "[]":
		return true
	}
	switch t[0] {
	case '{':
		ms, err := jsonobj.Members(t)
		return err == nil && len(ms) == 0
	case '[':
		var a []json.RawMessage
		return json.Unmarshal(t, &a) == nil && len(a) == 0
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		var f float64
		return json.Unmarshal(t, &f) == nil && f == 0
	}
	return false
}

// NonEmpty returns raw, or nil when IsEmpty(raw): Kazoo's get_ne_value.
func NonEmpty(raw json.RawMessage) json.RawMessage {
	if IsEmpty(raw) {
		return nil
	}
	return raw
}

// IsTrue is Kazoo's kz_term:is_true: the JSON true or the string "true".
func IsTrue(raw json.RawMessage) bool {
	t := string(bytes.TrimSpace(raw))
	return t == "true" || t == `"true"`
}

// IsBoolean is Kazoo's kz_term:is_boolean: true, false, "true" or "false".
func IsBoolean(raw json.RawMessage) bool {
	switch string(bytes.TrimSpace(raw)) {
	case "true", "false", `"true"`, `"false"`:
		return true
	}
	return false
}

// Equal is Kazoo's kz_json:are_equal: both absent, or the same JSON value whatever the key
// order and spacing.
func Equal(a, b json.RawMessage) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return bytes.Equal(a, b)
	}
	return reflect.DeepEqual(x, y)
}

// Pair is one key and value of an object built with Object.
type Pair struct {
	Key   string
	Value json.RawMessage
}

// Object builds a JSON object of the pairs whose value is not nil, in order: Kazoo's
// kz_json:from_list, which drops undefined values.
func Object(pairs ...Pair) json.RawMessage {
	var ms []jsonobj.Member
	for _, p := range pairs {
		if p.Value != nil {
			ms = append(ms, jsonobj.Member{Key: p.Key, Value: p.Value})
		}
	}
	return jsonobj.Encode(ms)
}

// Set returns the object raw with key set to value (appended when new); raw may be nil or
// not an object, and then the result holds key alone.
func Set(raw json.RawMessage, key string, value json.RawMessage) json.RawMessage {
	ms, err := jsonobj.Members(raw)
	if err != nil {
		ms = nil
	}
	for i := range ms {
		if ms[i].Key == key {
			ms[i].Value = value
			return jsonobj.Encode(ms)
		}
	}
	return jsonobj.Encode(append(ms, jsonobj.Member{Key: key, Value: value}))
}

// Prune deletes path from the members m and then every object the deletion left empty on
// the way up: Kazoo's kz_json:prune_keys for one path.
func Prune(m map[string]json.RawMessage, path ...string) {
	if len(path) == 0 {
		return
	}
	v, ok := m[path[0]]
	if !ok {
		return
	}
	if len(path) == 1 {
		delete(m, path[0])
		return
	}
	nv, ok := prune(v, path[1:])
	if !ok {
		return
	}
	if nv == nil {
		delete(m, path[0])
		return
	}
	m[path[0]] = nv
}

// prune deletes path inside raw; it returns the new value (nil when it became empty) and
// whether anything changed.
func prune(raw json.RawMessage, path []string) (json.RawMessage, bool) {
	if !jsonobj.IsObject(raw) {
		return raw, false
	}
	ms, err := jsonobj.Members(raw)
	if err != nil {
		return raw, false
	}
	for i, m := range ms {
		if m.Key != path[0] {
			continue
		}
		if len(path) == 1 {
			ms = append(ms[:i], ms[i+1:]...)
		} else {
			nv, changed := prune(m.Value, path[1:])
			if !changed {
				return raw, false
			}
			if nv == nil {
				ms = append(ms[:i], ms[i+1:]...)
			} else {
				ms[i].Value = nv
			}
		}
		if len(ms) == 0 {
			return nil, true
		}
		return jsonobj.Encode(ms), true
	}
	return raw, false
}

// String returns raw as a Go string when it is a JSON string, else "" and false.
func String(raw json.RawMessage) (string, bool) {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || t[0] != '"' {
		return "", false
	}
	var s string
	if json.Unmarshal(t, &s) != nil {
		return "", false
	}
	return s, true
}

// Bool returns the JSON literal for b.
func Bool(b bool) json.RawMessage {
	if b {
		return json.RawMessage("true")
	}
	return json.RawMessage("false")
}

// Quote returns s as a JSON string.
func Quote(s string) json.RawMessage { return jsonobj.Quote(s) }
