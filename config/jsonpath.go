package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// member is one key of a JSON object with its raw value. Documents are handled as ordered
// members, never as Go maps, because key order is meaningful (e164_converters,
// classifiers) and must survive every read-modify-write.
type member struct {
	Key   string
	Value json.RawMessage
}

// objectMembers decodes a JSON object into its members in document order.
func objectMembers(raw json.RawMessage) ([]member, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("not a JSON object")
	}
	var out []member
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		out = append(out, member{Key: tok.(string), Value: v})
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("trailing data after the JSON object")
	}
	return out, nil
}

// encodeMembers writes members back as a JSON object. Values are copied verbatim, so only
// the levels a write touched are re-spelled.
func encodeMembers(ms []member) json.RawMessage {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range ms {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(quote(m.Key))
		b.WriteByte(':')
		b.Write(m.Value)
	}
	b.WriteByte('}')
	return b.Bytes()
}

// quote returns s as a JSON string without HTML escaping, so regex keys stay readable.
func quote(s string) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return bytes.TrimRight(b.Bytes(), "\n")
}

// isNull reports whether raw is absent or the JSON literal null.
func isNull(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || string(t) == "null"
}

// isObject reports whether raw is a JSON object.
func isObject(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) > 0 && t[0] == '{'
}

// getPath returns the value at path inside the object raw. A missing key, a null value or
// a non-object on the way all mean "not there", as kz_json:get_value treats them.
func getPath(raw json.RawMessage, path []string) (json.RawMessage, bool) {
	cur := raw
	for _, key := range path {
		if !isObject(cur) {
			return nil, false
		}
		ms, err := objectMembers(cur)
		if err != nil {
			return nil, false
		}
		var next json.RawMessage
		for _, m := range ms {
			if m.Key == key {
				next = m.Value // the last of repeated keys wins, as in encoding/json
			}
		}
		if next == nil {
			return nil, false
		}
		cur = next
	}
	if isNull(cur) {
		return nil, false
	}
	return cur, true
}

// setPath returns raw with value stored at path, creating the objects on the way and
// keeping every other key where it was. It refuses to replace a non-object on the way,
// because that would silently destroy a setting.
func setPath(raw json.RawMessage, path []string, value json.RawMessage) (json.RawMessage, error) {
	if isNull(raw) {
		raw = json.RawMessage(`{}`)
	}
	ms, err := objectMembers(raw)
	if err != nil {
		return nil, err
	}
	key := path[0]
	idx := -1
	for i, m := range ms {
		if m.Key == key {
			idx = i
		}
	}
	newValue := value
	if len(path) > 1 {
		var child json.RawMessage
		if idx >= 0 {
			child = ms[idx].Value
			if !isNull(child) && !isObject(child) {
				return nil, fmt.Errorf("%q holds %s, not an object", key, bytes.TrimSpace(child))
			}
		}
		if newValue, err = setPath(child, path[1:], value); err != nil {
			return nil, err
		}
	}
	if idx >= 0 {
		ms[idx].Value = newValue
	} else {
		ms = append(ms, member{Key: key, Value: newValue})
	}
	return encodeMembers(ms), nil
}

// SplitKey turns a dotted key ("features.allow") into a path. Kazoo keys may be paths
// (kapps_config:get(Category, [<<"features">>, <<"allow">>])); knm spells them with dots.
// A key that itself contains a dot cannot be reached this way: use Lookup with a path.
func SplitKey(key string) []string { return strings.Split(key, ".") }
