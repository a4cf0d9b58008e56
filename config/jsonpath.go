package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/knmproject/knm/internal/jsonobj"
)

// member is one key of a JSON object. Documents are handled as ordered members, never as
// Go maps, because key order is meaningful (e164_converters, classifiers) and must
// survive every read-modify-write.
type member = jsonobj.Member

var (
	objectMembers = jsonobj.Members
	encodeMembers = jsonobj.Encode
	quote         = jsonobj.Quote
	isNull        = jsonobj.IsNull
	isObject      = jsonobj.IsObject
)

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
