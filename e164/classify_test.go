package e164

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestClassifyDefaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, name, friendly, pretty string
		emergency                  bool
	}{
		{"+18005551234", "tollfree_us", "US TollFree", usPrettyPrint, false},
		{"8885551234", "tollfree_us", "US TollFree", usPrettyPrint, false}, // normalised first
		{"+18225551234", "tollfree_us", "US TollFree", usPrettyPrint, false},
		{"+19005551234", "toll_us", "US Toll", usPrettyPrint, false},
		{"911", "emergency", "Emergency Dispatcher", "", true},
		{"988", "emergency", "Emergency Dispatcher", "", true},
		{"+18765551234", "caribbean", "Caribbean", usPrettyPrint, false},
		{"+14155551234", "did_us", "US DID", usPrettyPrint, false},
		{"4155551234", "did_us", "US DID", usPrettyPrint, false},
		{"+441234567890", "international", "International", "", false},
		{"011441234567890", "international", "International", "", false},
		{"12", "unknown", "Unknown", "", false},
		{"", "unknown", "Unknown", "", false},
	}
	n := Default()
	for _, tt := range tests {
		name, c := n.Classify(tt.in)
		if name != tt.name || c == nil {
			t.Errorf("Classify(%q) = %q, %v; want %q", tt.in, name, c, tt.name)
			continue
		}
		if c.Name != tt.name || c.FriendlyName != tt.friendly || c.PrettyPrint != tt.pretty ||
			c.Emergency != tt.emergency {
			t.Errorf("Classify(%q) = %+v", tt.in, c)
		}
	}
}

func TestDefaultClassifierOrder(t *testing.T) {
	t.Parallel()
	var names []string
	for _, c := range Default().Classifiers() {
		names = append(names, c.Name)
	}
	want := "tollfree_us toll_us emergency caribbean did_us international unknown"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("default classifier order = %q, want %q", got, want)
	}
	var v map[string]any
	if err := json.Unmarshal(DefaultClassifiersJSON(), &v); err != nil {
		t.Fatalf("default classifiers are not JSON: %v", err)
	}
	if err := json.Unmarshal(DefaultConvertersJSON(), &v); err != nil {
		t.Fatalf("default converters are not JSON: %v", err)
	}
}

func TestClassifyConfigured(t *testing.T) {
	t.Parallel()
	// Key order decides: both regexes match "+15550001", so the first key wins, and the
	// result must not depend on Go's map order or alphabetical order.
	raw := `{"zeta":"^\\+1555","alpha":{"regex":"^\\+1","pretty_print":"x","emergency":"true"},` +
		`"none":{"friendly_name":"N"}}`
	n, err := New(Config{Classifiers: json.RawMessage(raw)})
	if err != nil {
		t.Fatal(err)
	}
	name, c := n.Classify("+15550001")
	if name != "zeta" || c.FriendlyName != "zeta" || c.Regex != `^\+1555` {
		t.Errorf("Classify = %q %+v", name, c)
	}
	if string(c.Fields) != `{"friendly_name":"zeta","regex":"^\\+1555"}` {
		t.Errorf("bare regex fields = %s", c.Fields)
	}
	name, c = n.Classify("+16660001")
	if name != "alpha" || c.FriendlyName != "alpha" || !c.Emergency || c.PrettyPrint != "x" {
		t.Errorf("Classify = %q %+v", name, c)
	}
	if string(c.Fields) != `{"regex":"^\\+1","pretty_print":"x","emergency":"true"}` {
		t.Errorf("fields not kept verbatim: %s", c.Fields)
	}
	// "none" has no regex: Kazoo's "^$" only matches the empty string.
	if name, c := n.Classify("+44"); name != "" || c != nil {
		t.Errorf("Classify(+44) = %q, %v; want no class", name, c)
	}
	if name, _ := n.Classify(""); name != "none" {
		t.Errorf("Classify(\"\") = %q, want none", name)
	}
}
