package jsonobj

import (
	"encoding/json"
	"testing"
)

func TestMembersKeepOrder(t *testing.T) {
	ms, err := Members(json.RawMessage(`{"b":1,"a":{"z":[1,2]},"b":3,"c":"<x>"}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 3 || ms[0].Key != "b" || string(ms[0].Value) != "3" || ms[1].Key != "a" || ms[2].Key != "c" {
		t.Fatalf("members = %+v", ms)
	}
	if got := string(Encode(ms)); got != `{"b":3,"a":{"z":[1,2]},"c":"<x>"}` {
		t.Fatalf("Encode = %s", got)
	}
}

func TestMembersErrors(t *testing.T) {
	for _, in := range []string{``, `[]`, `"s"`, `1`, `null`, `{"a":}`, `{"a":1}{}`, `{"a":1`} {
		if _, err := Members(json.RawMessage(in)); err == nil {
			t.Errorf("Members(%q) succeeded", in)
		}
	}
}

func TestHelpers(t *testing.T) {
	if !IsNull(nil) || !IsNull(json.RawMessage(" null ")) || IsNull(json.RawMessage("0")) {
		t.Fatal("IsNull")
	}
	if !IsObject(json.RawMessage(" {}")) || IsObject(json.RawMessage("[]")) {
		t.Fatal("IsObject")
	}
	if string(Quote(`a<b>"`)) != `"a<b>\""` {
		t.Fatalf("Quote = %s", Quote(`a<b>"`))
	}
}
