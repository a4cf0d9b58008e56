package e164

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// member is one key of a JSON object with its value kept as raw bytes.
type member struct {
	Key   string
	Value json.RawMessage
}

// objectMembers decodes a JSON object into its members in document order. encoding/json
// maps lose the order, and Kazoo tries converters and classifiers in key order, so order
// is the whole point here. A repeated key keeps its first position and its last value, as
// Kazoo's kz_json does when it reads a proplist.
func objectMembers(raw json.RawMessage) ([]member, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("want a JSON object, got %s", kindOf(tok))
	}
	var out []member
	index := map[string]int{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key := tok.(string) // the decoder only yields strings in key position
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		if i, seen := index[key]; seen {
			out[i].Value = v
			continue
		}
		index[key] = len(out)
		out = append(out, member{Key: key, Value: v})
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("trailing data after the JSON object")
	}
	return out, nil
}

// kindOf names the JSON kind of a decoder token, for error messages.
func kindOf(tok json.Token) string {
	switch t := tok.(type) {
	case json.Delim:
		if t == '[' {
			return "an array"
		}
		return "an object"
	case string:
		return "a string"
	case float64, json.Number:
		return "a number"
	case bool:
		return "a boolean"
	default:
		return "null"
	}
}

// isNull reports whether raw is absent or the JSON literal null.
func isNull(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || string(t) == "null"
}

// scalarString returns a JSON string or number as text, as kz_json:get_binary_value
// does; ok is false for any other kind.
func scalarString(raw json.RawMessage) (s string, ok bool) {
	if isNull(raw) {
		return "", false
	}
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, true
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err == nil {
		return n.String(), true
	}
	return "", false
}
