package kzjson

import (
	"encoding/json"
	"testing"
)

func TestKazooTruthAndEmptiness(t *testing.T) {
	t.Parallel()
	for raw, empty := range map[string]bool{
		``: true, `null`: true, `""`: true, `"0"`: true, `"NULL"`: true, `"undefined"`: true, `[]`: true, `{}`: true,
		`0`: true, `0.0`: true, ` { } `: true, `false`: false, `true`: false, `"a"`: false, `[0]`: false,
		`{"a":1}`: false, `1`: false, `-0.5`: false,
	} {
		if IsEmpty(json.RawMessage(raw)) != empty {
			t.Errorf("IsEmpty(%s) = %v", raw, !empty)
		}
	}
	for raw, want := range map[string][2]bool{ // IsTrue, IsBoolean
		`true`: {true, true}, `"true"`: {true, true}, `false`: {false, true}, `"false"`: {false, true},
		`1`: {false, false}, `"yes"`: {false, false}, ``: {false, false},
	} {
		if IsTrue(json.RawMessage(raw)) != want[0] || IsBoolean(json.RawMessage(raw)) != want[1] {
			t.Errorf("%s: IsTrue %v IsBoolean %v", raw, IsTrue(json.RawMessage(raw)), IsBoolean(json.RawMessage(raw)))
		}
	}
}

func TestObjectsKeepTheirOrder(t *testing.T) {
	t.Parallel()
	m := map[string]json.RawMessage{
		"cnam": json.RawMessage(`{"z":1,"display_name":"A","inbound_lookup":true}`),
		"e911": json.RawMessage(`{"a":1}`),
	}
	if got := Field(m, "cnam", "display_name"); string(got) != `"A"` {
		t.Fatalf("Field = %s", got)
	}
	if Field(m, "cnam", "missing") != nil || Field(m, "e911", "a", "deeper") != nil || Field(nil, "x") != nil {
		t.Fatal("absent paths must be nil")
	}
	Prune(m, "cnam", "display_name")
	if string(m["cnam"]) != `{"z":1,"inbound_lookup":true}` {
		t.Fatalf("after prune: %s", m["cnam"])
	}
	Prune(m, "e911", "a")
	if _, ok := m["e911"]; ok {
		t.Fatal("an object emptied by Prune must go")
	}
	Prune(m, "cnam", "z", "deeper") // not an object on the way: nothing changes
	if string(m["cnam"]) != `{"z":1,"inbound_lookup":true}` {
		t.Fatalf("prune through a scalar changed %s", m["cnam"])
	}
	if got := Set(json.RawMessage(`{"b":1,"a":2}`), "b", json.RawMessage(`3`)); string(got) != `{"b":3,"a":2}` {
		t.Fatalf("Set = %s", got)
	}
	if got := Set(nil, "enabled", Bool(true)); string(got) != `{"enabled":true}` {
		t.Fatalf("Set on nothing = %s", got)
	}
	if got := Object(Pair{"a", nil}, Pair{"b", Quote("x")}); string(got) != `{"b":"x"}` {
		t.Fatalf("Object = %s", got)
	}
	if !Equal(json.RawMessage(`{"a":1,"b":[1,2]}`), json.RawMessage(`{ "b":[1,2], "a":1 }`)) ||
		Equal(json.RawMessage(`1`), nil) || !Equal(nil, nil) {
		t.Fatal("Equal")
	}
}
