// Package kazoodoctest checks, for tests, that a CouchDB document is the phone_number
// document Kazoo's own number manager would hold for a knm number. The expected keys are
// written out here from Kazoo's knm_phone_number:to_json and knm_converters:to_db, not
// from knm's encoder, so the check cannot share a mistake with it.
package kazoodoctest

import (
	"encoding/json"
	"net/url"
	"reflect"
	"slices"
	"testing"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/internal/kzjson"
)

// The keys knm_phone_number:to_json writes: the first group always, the second only when
// not empty; public fields are written as they are.
var (
	Always = []string{"_id", "pvt_db_name", "pvt_state", "pvt_ported_in", "pvt_module_name", "pvt_created",
		"pvt_modified", "pvt_type"}
	NonEmpty = []string{"pvt_assigned_to", "pvt_carrier_data", "pvt_features", "pvt_features_allowed",
		"pvt_features_denied", "pvt_previously_assigned_to", "pvt_region", "pvt_reserve_history", "pvt_used_by"}
)

// NumberDB is the database Kazoo keeps a number's document in: "numbers/" and the number's
// first five bytes ("numbers/+1256"), as knm_converters:to_db names it.
func NumberDB(number string) string { return "numbers/" + number[:5] }

// CheckNumberDoc compares got, a document read from CouchDB, field by field with the one
// Kazoo holds for n, and reports every difference on t: a wrong value, a key Kazoo would
// not write, a _rev that is not CouchDB's.
func CheckNumberDoc(t testing.TB, where string, got map[string]json.RawMessage, n *knm.Number) {
	t.Helper()
	if got == nil {
		t.Errorf("%s: no document for %s", where, n.Number)
		return
	}
	want := map[string]any{
		"_id": n.Number, "pvt_db_name": url.QueryEscape(NumberDB(n.Number)), "pvt_state": string(n.State),
		"pvt_ported_in": n.PortedIn, "pvt_module_name": n.ModuleName, "pvt_type": "number",
		"pvt_created": knm.ToGregorian(n.Created), "pvt_modified": knm.ToGregorian(n.Modified),
	}
	nonEmpty := map[string]any{
		"pvt_assigned_to": n.AssignedTo, "pvt_previously_assigned_to": n.PreviouslyAssignedTo,
		"pvt_used_by": n.UsedBy, "pvt_region": n.Region, "pvt_reserve_history": n.ReserveHistory,
		"pvt_features_allowed": n.FeaturesAllowed, "pvt_features_denied": n.FeaturesDenied,
		"pvt_features": n.Features, "pvt_carrier_data": n.CarrierData,
	}
	for k, v := range nonEmpty {
		if rv := reflect.ValueOf(v); rv.Len() > 0 {
			want[k] = v
		}
	}
	for k, v := range n.Public {
		want[k] = v
	}
	for k, v := range want {
		raw, _ := json.Marshal(v)
		if !kzjson.Equal(raw, got[k]) {
			t.Errorf("%s %s: %s = %s, want %s", where, n.Number, k, got[k], raw)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok && k != "_rev" {
			t.Errorf("%s %s: unexpected key %s = %s", where, n.Number, k, got[k])
		}
		if _, public := n.Public[k]; k != "_rev" && !public && !slices.Contains(Always, k) &&
			!slices.Contains(NonEmpty, k) {
			t.Errorf("%s %s: %s is not a key Kazoo writes", where, n.Number, k)
		}
	}
	var rev string
	if json.Unmarshal(got["_rev"], &rev) != nil || len(rev) < 3 || rev[1] != '-' && rev[2] != '-' {
		t.Errorf("%s %s: _rev %s is not CouchDB's", where, n.Number, got["_rev"])
	}
}

// CopyDiff reports the keys, _rev aside, in which an account database's copy of a number
// differs from the document in the number database.
func CopyDiff(copyDoc, numberDoc map[string]json.RawMessage) []string {
	var diff []string
	for k, v := range copyDoc {
		if k != "_rev" && !kzjson.Equal(v, numberDoc[k]) {
			diff = append(diff, k)
		}
	}
	for k := range numberDoc {
		if _, ok := copyDoc[k]; !ok && k != "_rev" {
			diff = append(diff, k)
		}
	}
	slices.Sort(diff)
	return diff
}
