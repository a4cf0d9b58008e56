// Package jsonobj reads and writes JSON objects as ordered members instead of Go maps.
//
// Kazoo gives meaning to key order (e164_converters and classifiers are tried in key
// order) and operators diff their exported documents, so knm never round-trips a
// configuration object through a map: it reads members in document order, changes only
// the members it must, and copies every other value byte for byte.
package jsonobj

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Member is one key of a JSON object with its value kept as raw bytes.
type Member struct {
	Key   string
	Value json.RawMessage
}

// Members decodes a JSON object into its members in document order. A repeated key keeps
// its first position and its last value, as Kazoo's kz_json does when it reads a proplist
// (and as encoding/json lets the last value win).
func Members(raw json.RawMessage) ([]Member, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("want a JSON object, got %s", kindOf(tok))
	}
	var out []Member
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
		out = append(out, Member{Key: key, Value: v})
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("trailing data after the JSON object")
	}
	return out, nil
}

// Encode writes members back as a JSON object, copying values verbatim, so only the
// levels a write touched are re-spelled.
func Encode(ms []Member) json.RawMessage {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range ms {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(Quote(m.Key))
		b.WriteByte(':')
		b.Write(m.Value)
	}
	b.WriteByte('}')
	return b.Bytes()
}

// Quote returns s as a JSON string without HTML escaping, so regex keys stay readable.
func Quote(s string) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return bytes.TrimRight(b.Bytes(), "\n")
}

// IsNull reports whether raw is absent or the JSON literal null.
func IsNull(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || string(t) == "null"
}

// IsObject reports whether raw is a JSON object.
func IsObject(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) > 0 && t[0] == '{'
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
