package knm

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// gregorianOffset is the number of seconds between year 0 of the proleptic Gregorian
// calendar (Erlang's calendar epoch, which Kazoo uses for pvt_created and pvt_modified)
// and the Unix epoch.
const gregorianOffset = 62167219200

// ToGregorian returns t as Kazoo's Gregorian seconds.
func ToGregorian(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix() + gregorianOffset
}

// FromGregorian returns the time of Kazoo's Gregorian seconds g, in UTC.
func FromGregorian(g int64) time.Time {
	if g == 0 {
		return time.Time{}
	}
	return time.Unix(g-gregorianOffset, 0).UTC()
}

// NumberDBName returns Kazoo's number database for an E.164 number: "numbers/" plus its
// first five bytes, URL-encoded ("+14158867900" -> "numbers%2F%2B1415"); "" when shorter.
func NumberDBName(e164 string) string {
	if len(e164) < 5 {
		return ""
	}
	return url.QueryEscape("numbers/" + e164[:5])
}

// MarshalKazoo returns n as a Kazoo phone_number document: _id, pvt_* keys, Gregorian
// timestamps and every public field at the top level.
func (n *Number) MarshalKazoo() ([]byte, error) {
	doc := make(map[string]any, len(n.Public)+16)
	for k, v := range n.Public {
		doc[k] = v
	}
	doc["_id"] = n.Number
	if n.Rev > 0 {
		doc["_rev"] = strconv.FormatInt(n.Rev, 10)
	}
	doc["pvt_db_name"] = NumberDBName(n.Number)
	doc["pvt_state"] = n.State
	doc["pvt_ported_in"] = n.PortedIn
	doc["pvt_module_name"] = n.ModuleName
	doc["pvt_created"] = ToGregorian(n.Created)
	doc["pvt_modified"] = ToGregorian(n.Modified)
	doc["pvt_type"] = "number"
	putIf := func(k string, ok bool, v any) {
		if ok {
			doc[k] = v
		}
	}
	putIf("pvt_assigned_to", n.AssignedTo != "", n.AssignedTo)
	putIf("pvt_previously_assigned_to", n.PreviouslyAssignedTo != "", n.PreviouslyAssignedTo)
	putIf("pvt_used_by", n.UsedBy != "", n.UsedBy)
	putIf("pvt_features", len(n.Features) > 0, n.Features)
	putIf("pvt_features_allowed", len(n.FeaturesAllowed) > 0, n.FeaturesAllowed)
	putIf("pvt_features_denied", len(n.FeaturesDenied) > 0, n.FeaturesDenied)
	putIf("pvt_reserve_history", len(n.ReserveHistory) > 0, n.ReserveHistory)
	putIf("pvt_carrier_data", !emptyJSON(n.CarrierData), n.CarrierData)
	putIf("pvt_region", n.Region != "", n.Region)
	return json.Marshal(doc)
}

// emptyJSON reports whether raw is absent or a JSON value Kazoo's props:filter_empty drops
// before saving (null, {}, [] or "").
func emptyJSON(raw json.RawMessage) bool {
	switch string(bytes.TrimSpace(raw)) {
	case "", "null", "{}", "[]", `""`:
		return true
	}
	return false
}

// UnmarshalKazoo reads a Kazoo phone_number document into n, as Kazoo's from_json reads
// every shape its own databases hold (kazoo_doc.go lists them): pvt_number_state stands in
// for a missing pvt_state, wnm_X module names become knm_X, knm_bandwidth becomes
// knm_bandwidth2, a missing module is knm_local, pvt_features may be a list of feature
// names, timestamps may be "undefined", and the public keys id and used_by are dropped.
// The "local" feature follows the module, as on every module change. A document whose
// _id is not an E.164 number is refused. The revision is not imported: the store owns it.
func (n *Number) UnmarshalKazoo(data []byte) error {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(data, &doc); err != nil || doc == nil {
		return Errorf(ErrInvalid, "phone_number document is not a JSON object").Wrap(err)
	}
	*n = Number{}
	r := &docReader{doc: doc}
	n.Number = r.str("_id")
	if len(r.errs) == 0 && n.Number == "" {
		return Errorf(ErrInvalid, "phone_number document has no _id")
	}
	if len(r.errs) == 0 && !IsE164(n.Number) {
		return Errorf(ErrInvalid, "phone_number document _id %q is not an E.164 number (\"+\" and 2 to 15 digits, "+
			"e.g. +14155550100)", n.Number)
	}
	state := r.str("pvt_state")
	if state == "" {
		state = r.str("pvt_number_state")
	}
	n.State = State(state)
	n.AssignedTo = r.str("pvt_assigned_to")
	n.PreviouslyAssignedTo = r.str("pvt_previously_assigned_to")
	n.ReserveHistory = r.strs("pvt_reserve_history")
	n.ModuleName = kazooModuleName(r.str("pvt_module_name"))
	if raw := r.present("pvt_carrier_data"); raw != nil {
		n.CarrierData = append(json.RawMessage(nil), raw...)
	}
	n.UsedBy = r.str("pvt_used_by")
	n.FeaturesAllowed = r.strs("pvt_features_allowed")
	n.FeaturesDenied = r.strs("pvt_features_denied")
	n.PortedIn = r.boolean("pvt_ported_in")
	n.Region = r.str("pvt_region")
	n.Created = r.gregorian("pvt_created")
	n.Modified = r.gregorian("pvt_modified")
	for k, v := range doc {
		if strings.HasPrefix(k, "_") || strings.HasPrefix(k, "pvt_") || k == "id" || k == "used_by" {
			continue
		}
		if n.Public == nil {
			n.Public = map[string]json.RawMessage{}
		}
		n.Public[k] = append(json.RawMessage(nil), v...)
	}
	CopyProviderE911(n.Public)
	n.Features = r.features(n.Public)
	if len(r.errs) > 0 {
		return Errorf(ErrInvalid, "phone_number document %q: %s", n.Number, strings.Join(r.errs, "; "))
	}
	if n.State != "" && !n.State.Valid() {
		return Errorf(ErrInvalid, "phone_number document %q: unknown state %q", n.Number, n.State)
	}
	n.keepLocalFeature()
	return nil
}

// kazooModuleName maps the module names Kazoo renames on read (wnm_X, knm_bandwidth, a
// missing module) to the names it uses.
func kazooModuleName(m string) string {
	switch {
	case m == "" || m == "undefined":
		return "knm_local"
	case strings.HasPrefix(m, "wnm_"):
		return kazooModuleName("knm_" + m[4:])
	case m == "knm_bandwidth":
		return "knm_bandwidth2"
	}
	return m
}

// String returns a short description of n for logs.
func (n *Number) String() string {
	return fmt.Sprintf("%s[%s %s %s]", n.Number, n.State, n.ModuleName, n.AssignedTo)
}
