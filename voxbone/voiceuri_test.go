package voxbone_test

import (
	"testing"

	"github.com/knmproject/knm/voxbone"
	"github.com/knmproject/knm/voxbone/emulator"
)

// TestVoiceURILifecycle drives the voice URI methods against the emulator: FindVoiceURI
// matches exactly although the API's filter matches substrings, Get and Delete name the id,
// and a mapped voice URI cannot be deleted.
func TestVoiceURILifecycle(t *testing.T) {
	t.Parallel()
	e, base := startEmulator(t, emulator.Config{Seed: 3})
	c := emulatorClient(t, base, voxbone.WithPageSize(1))
	ctx := t.Context()
	long, err := c.SaveVoiceURI(ctx, voxbone.VoiceURI{VoiceURIProtocol: "SIP", URI: "x$e164@sbc.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if v, err := c.FindVoiceURI(ctx, "SIP", "$e164@sbc.example.com"); err != nil || v != nil {
		t.Fatalf("substring matched: %+v %v", v, err)
	}
	short, err := c.SaveVoiceURI(ctx, voxbone.VoiceURI{VoiceURIProtocol: "SIP", URI: "$e164@sbc.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	v, err := c.FindVoiceURI(ctx, "SIP", "$e164@sbc.example.com")
	if err != nil || v == nil || *v.VoiceURIID != *short.VoiceURIID {
		t.Fatalf("find: %+v %v (want id %d, other %d)", v, err, *short.VoiceURIID, *long.VoiceURIID)
	}
	if _, err := c.SaveVoiceURI(ctx, voxbone.VoiceURI{VoiceURIProtocol: "SIP", URI: "$e164@sbc.example.com"}); !voxbone.HasCode(err, voxbone.CodeVoiceURIDuplicate) {
		t.Fatalf("duplicate: %v", err)
	}
	got, err := c.GetVoiceURI(ctx, *short.VoiceURIID)
	if err != nil || got.URI != short.URI {
		t.Fatalf("get: %+v %v", got, err)
	}
	e.AddFault(emulator.Fault{Endpoint: "voiceuri.get", Nth: 1, Status: 500})
	if _, err := c.GetVoiceURI(ctx, *short.VoiceURIID); err != nil {
		t.Fatalf("a GET is retried after a 500: %v", err)
	}
	if err := c.DeleteVoiceURI(ctx, *long.VoiceURIID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetVoiceURI(ctx, *long.VoiceURIID); !voxbone.HasCode(err, voxbone.CodeInvalidVoiceURI) {
		t.Fatalf("get deleted: %v", err)
	}
	if err := c.DeleteVoiceURI(ctx, 0); err == nil {
		t.Fatal("id 0 accepted")
	}
}
