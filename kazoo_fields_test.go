package knm_test

import (
	"encoding/json"
	"testing"

	"github.com/knmproject/knm"
)

// TestMarshalKazooDropsEmptyValues: Kazoo's to_json writes its optional keys only when they
// are not empty (props:filter_empty), so an empty object, list or string never appears.
func TestMarshalKazooDropsEmptyValues(t *testing.T) {
	t.Parallel()
	for _, cd := range []string{"", "null", "{}", " [] ", `""`} {
		n := &knm.Number{Number: "+12565550100", State: knm.StateAvailable, ModuleName: "knm_voxbone",
			CarrierData: json.RawMessage(cd), Features: map[string]json.RawMessage{}, ReserveHistory: []string{}}
		data, err := n.MarshalKazoo()
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]json.RawMessage
		if err := json.Unmarshal(data, &doc); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"pvt_carrier_data", "pvt_features", "pvt_reserve_history", "pvt_assigned_to", "_rev"} {
			if v, ok := doc[k]; ok {
				t.Errorf("carrier data %q: %s = %s written", cd, k, v)
			}
		}
	}
}
