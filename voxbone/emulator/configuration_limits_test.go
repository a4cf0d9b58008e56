package emulator

import (
	"testing"
)

// TestConfigureLimits covers the request checks of configuration/configuration: the bulk
// limit (360), duplicated DID ids (343), and that a refused request changes nothing.
func TestConfigureLimits(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{ConfigBatchLimit: 2})
	h.buy(1404, 3)
	dids := h.emu.DIDs()
	var saved struct{ VoiceURI VoiceURI }
	h.ok("PUT", "configuration/voiceuri", map[string]any{"voiceUri": map[string]string{
		"voiceUriProtocol": "SIP", "uri": "$e164@sbc.example.com"}}, &saved)
	id := saved.VoiceURI.VoiceURIID
	h.fail("POST", "configuration/configuration", map[string]any{
		"didIds": []int{dids[0].DIDID, dids[1].DIDID, dids[2].DIDID}, "voiceUriId": id}, 400, "360")
	h.fail("POST", "configuration/configuration", map[string]any{
		"didIds": []int{dids[0].DIDID, dids[0].DIDID}, "voiceUriId": id}, 400, "343")
	for _, d := range h.emu.DIDs() {
		if d.VoiceURIID != nil {
			t.Fatalf("refused request configured DID %d", d.DIDID)
		}
	}
	h.ok("POST", "configuration/configuration", map[string]any{
		"didIds": []int{dids[0].DIDID, dids[1].DIDID}, "voiceUriId": id}, nil)
	if got := h.emu.DIDs(); got[0].VoiceURIID == nil || *got[0].VoiceURIID != id || got[2].VoiceURIID != nil {
		t.Fatalf("after a batch of 2: %+v", got)
	}
}

// TestVoiceURIGetDelete covers GET and DELETE configuration/voiceuri/{id}: unknown ids are
// 301, and a voice URI a DID or another voice URI uses cannot be deleted (328).
func TestVoiceURIGetDelete(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{})
	h.buy(1404, 1)
	did := h.emu.DIDs()[0].DIDID
	var saved struct{ VoiceURI VoiceURI }
	h.ok("PUT", "configuration/voiceuri", map[string]any{"voiceUri": map[string]string{
		"voiceUriProtocol": "SIP", "uri": "a@sbc.example.com"}}, &saved)
	a := saved.VoiceURI.VoiceURIID
	h.ok("PUT", "configuration/voiceuri", map[string]any{"voiceUri": map[string]any{
		"voiceUriProtocol": "SIP", "uri": "b@sbc.example.com", "backupUriId": a}}, &saved)
	b := saved.VoiceURI.VoiceURIID

	var got struct{ VoiceURI VoiceURI }
	h.ok("GET", path("configuration/voiceuri/%d", a), nil, &got)
	if got.VoiceURI.URI != "a@sbc.example.com" {
		t.Fatalf("get %+v", got.VoiceURI)
	}
	h.fail("GET", "configuration/voiceuri/1", nil, 400, "301")
	h.fail("DELETE", path("configuration/voiceuri/%d", a), nil, 400, "328") // b's backup
	h.ok("POST", "configuration/configuration", map[string]any{"didIds": []int{did}, "voiceUriId": b}, nil)
	h.fail("DELETE", path("configuration/voiceuri/%d", b), nil, 400, "328") // the DID's
	h.ok("POST", "configuration/configuration", map[string]any{"didIds": []int{did}, "voiceUriId": nil}, nil)
	h.ok("DELETE", path("configuration/voiceuri/%d", b), nil, nil)
	h.ok("DELETE", path("configuration/voiceuri/%d", a), nil, nil)
	if n := len(h.emu.VoiceURIs()); n != 0 {
		t.Fatalf("%d voice URIs left", n)
	}
	h.fail("DELETE", path("configuration/voiceuri/%d", a), nil, 400, "301")
}

// TestConfigurationFaults checks that faults apply to the configuration endpoints like the
// others, including a dropped answer after the effect.
func TestConfigurationFaults(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{})
	h.buy(1404, 1)
	did := h.emu.DIDs()[0].DIDID
	h.emu.AddFault(Fault{Endpoint: "voiceuri.save", Nth: 1, Status: 500})
	h.fail("PUT", "configuration/voiceuri", map[string]any{"voiceUri": map[string]string{
		"voiceUriProtocol": "SIP", "uri": "a@sbc.example.com"}}, 500, "500")
	if len(h.emu.VoiceURIs()) != 0 {
		t.Fatal("a faulted save created a voice URI")
	}
	var saved struct{ VoiceURI VoiceURI }
	h.ok("PUT", "configuration/voiceuri", map[string]any{"voiceUri": map[string]string{
		"voiceUriProtocol": "SIP", "uri": "a@sbc.example.com"}}, &saved)
	h.emu.AddFault(Fault{Endpoint: "configuration", Nth: 1, Status: 500, AfterEffect: true})
	h.fail("POST", "configuration/configuration", map[string]any{"didIds": []int{did},
		"voiceUriId": saved.VoiceURI.VoiceURIID}, 500, "500")
	if v := h.emu.DIDs()[0].VoiceURIID; v == nil || *v != saved.VoiceURI.VoiceURIID {
		t.Fatal("an after-effect fault did not configure the DID")
	}
}
