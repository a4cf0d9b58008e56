package emulator

import (
	"testing"
)

func TestVoiceURIs(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{})
	var saved struct{ VoiceURI VoiceURI }
	h.ok("PUT", "configuration/voiceuri", map[string]any{"voiceUri": map[string]string{
		"voiceUriProtocol": "SIP", "uri": "+$e164@sip.example.com", "description": "primary"}}, &saved)
	primary := saved.VoiceURI
	if primary.VoiceURIID == 0 || primary.BackupURIID != nil || primary.VoiceURIProtocol != "SIP" {
		t.Fatalf("saved %+v", primary)
	}
	h.ok("PUT", "configuration/voiceuri", map[string]any{"voiceUri": map[string]any{
		"voiceUriProtocol": "sip", "uri": "backup@sip.example.com", "backupUriId": primary.VoiceURIID}}, &saved)
	if saved.VoiceURI.BackupURI == nil || *saved.VoiceURI.BackupURI != primary.URI {
		t.Fatalf("with backup %+v", saved.VoiceURI)
	}
	// Update in place.
	h.ok("PUT", "configuration/voiceuri", map[string]any{"voiceUri": map[string]any{
		"voiceUriId": primary.VoiceURIID, "voiceUriProtocol": "SIP", "uri": "+$e164@sip2.example.com", "description": "moved"}}, &saved)
	if saved.VoiceURI.VoiceURIID != primary.VoiceURIID || saved.VoiceURI.Description != "moved" {
		t.Fatalf("updated %+v", saved.VoiceURI)
	}
	h.fail("PUT", "configuration/voiceuri", map[string]any{"voiceUri": map[string]any{"voiceUriId": 1, "voiceUriProtocol": "SIP", "uri": "x"}}, 400, "301")
	h.fail("PUT", "configuration/voiceuri", map[string]any{"voiceUri": map[string]any{"voiceUriProtocol": "SIP", "uri": "backup@sip.example.com"}}, 400, "326")
	h.fail("PUT", "configuration/voiceuri", map[string]any{"voiceUri": map[string]any{"voiceUriProtocol": "SIP"}}, 400, "16")
	h.fail("PUT", "configuration/voiceuri", map[string]any{"voiceUri": map[string]any{"voiceUriProtocol": "XMPP", "uri": "y"}}, 400, "14")

	var list struct {
		VoiceURIs   []VoiceURI `json:"voiceUris"`
		ResultCount int        `json:"resultCount"`
	}
	h.ok("GET", "configuration/voiceuri?pageNumber=0&pageSize=10", nil, &list)
	if list.ResultCount != 2 {
		t.Fatalf("list %+v", list)
	}
	h.ok("GET", "configuration/voiceuri?pageNumber=0&pageSize=10&description=moved", nil, &list)
	if list.ResultCount != 1 || list.VoiceURIs[0].VoiceURIID != primary.VoiceURIID {
		t.Fatalf("filtered %+v", list)
	}
	h.fail("GET", "configuration/voiceuri", nil, 400, "16")
}

func TestConfigureDIDs(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{})
	h.buy(1404, 2)
	dids := h.emu.DIDs()
	var saved struct{ VoiceURI VoiceURI }
	h.ok("PUT", "configuration/voiceuri", map[string]any{"voiceUri": map[string]string{"voiceUriProtocol": "SIP", "uri": "a@b"}}, &saved)
	uri := saved.VoiceURI.VoiceURIID

	var out struct {
		Messages []struct {
			ConfigOption  string `json:"configOption"`
			NumberUpdated int    `json:"numberUpdated"`
		} `json:"messages"`
	}
	h.ok("POST", "configuration/configuration", map[string]any{
		"didIds": []any{dids[0].DIDID, dids[1].DIDID}, "voiceUriId": uri, "dnisEnabled": true,
		"peer": map[string]any{"t38Enabled": true, "codecs": []string{"G711U"}}, "ringback": "RINGING",
	}, &out)
	if len(out.Messages) != 4 || out.Messages[0].NumberUpdated != 2 {
		t.Fatalf("messages %+v", out)
	}
	var got didsResp
	h.ok("GET", "inventory/did?pageNumber=0&pageSize=10&voiceUriId="+path("%d", uri), nil, &got)
	if got.ResultCount != 2 {
		t.Fatalf("%d DIDs on the voice URI", got.ResultCount)
	}
	d := got.DIDs[0]
	if d.DNISEnabled != "true" || d.OtherOptions.T38Enabled != "true" || d.Ringback != "RINGING" || len(d.OtherOptions.Codecs) != 1 {
		t.Fatalf("configured DID %+v", d)
	}

	// All or nothing: one bad DID configures none.
	h.fail("POST", "configuration/configuration", map[string]any{"didIds": []int{dids[0].DIDID, 1}, "voiceUriId": nil}, 400, "300")
	h.fail("POST", "configuration/configuration", map[string]any{"didIds": []int{dids[0].DIDID}, "voiceUriId": 1}, 400, "301")
	h.fail("POST", "configuration/configuration", map[string]any{"didIds": []int{dids[0].DIDID}, "trunkId": 1}, 400, "307")
	h.fail("POST", "configuration/configuration", map[string]any{"voiceUriId": uri}, 400, "316")
	if h.emu.DIDs()[0].VoiceURIID == nil {
		t.Fatal("a failed configuration changed a DID")
	}
	h.ok("POST", "configuration/configuration", map[string]any{"didIds": []string{path("%d", dids[0].DIDID)}, "voiceUriId": nil}, nil)
	if h.emu.DIDs()[0].VoiceURIID != nil {
		t.Fatal("voiceUriId null did not unmap")
	}
}

func TestAddDIDGroup(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{})
	h.emu.AddDIDGroup(DIDGroup{DIDGroupID: 777, CountryCodeA3: "USA", DIDType: "GEOGRAPHIC", CityName: ptr("TESTVILLE"),
		AreaCode: "999", Stock: 2, Setup100: 0, Monthly100: 50, Available: true})
	var out groupsResp
	h.ok("GET", "inventory/didgroup?pageNumber=0&pageSize=10&countryCodeA3=USA&areaCode=999", nil, &out)
	if out.ResultCount != 1 || out.DIDGroups[0].Features == nil {
		t.Fatalf("added group %+v", out)
	}
	h.buy(777, 2)
	for _, d := range h.emu.DIDs() {
		if len(d.E164) != 12 || d.E164[:5] != "+1999" {
			t.Fatalf("DID %s", d.E164)
		}
	}
	h.emu.AddDIDGroup(DIDGroup{CountryCodeA3: "USA", DIDType: "GEOGRAPHIC", AreaCode: "998", Stock: 1, Available: true})
	h.ok("GET", "inventory/didgroup?pageNumber=0&pageSize=10&countryCodeA3=USA&areaCode=998", nil, &out)
	if out.ResultCount != 1 || out.DIDGroups[0].DIDGroupID == 0 {
		t.Fatalf("group with a fresh id %+v", out)
	}
}
