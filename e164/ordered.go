package e164

import (
	"encoding/json"

	"github.com/knmproject/knm/internal/jsonobj"
)

// member is one key of a JSON object: converters and classifiers are read in key order.
type member = jsonobj.Member

var (
	objectMembers = jsonobj.Members
	isNull        = jsonobj.IsNull
)

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
