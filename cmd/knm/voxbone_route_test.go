package main

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/knmproject/knm/voxbone"
	"github.com/knmproject/knm/voxbone/emulator"
)

// TestVoxboneRouteCLI: DIDs bought before voice_uri was set are listed by route --dry-run,
// which changes nothing, configured by route --all; reconcile reports a DID changed behind
// knm's back and --fix repairs it.
func TestVoxboneRouteCLI(t *testing.T) {
	t.Parallel()
	e := emulator.New(emulator.Config{Username: "u", Password: "p", Seed: 7})
	base := serveEmulator(t, e)
	db := sqliteDB(t)
	configureVoxbone(t, db, base)
	mustCLI(t, db, "voxbone", "order", "--group", "1404", "--quantity", "2", "--yes")
	if out := mustCLI(t, db, "voxbone", "route", "--all", "--dry-run"); !strings.Contains(out, "2 DID(s) examined, 0 differ") {
		t.Fatalf("without routing settings: %s", out)
	}
	mustCLI(t, db, "config", "set", "number_manager.voxbone", "voice_uri", `"sip:{e164}@sbc.example.com"`)
	out := mustCLI(t, db, "voxbone", "route", "--all", "--dry-run")
	if !strings.Contains(out, "2 differ") || strings.Count(out, "would be configured +1205") != 2 ||
		!strings.Contains(out, "voiceUriId") {
		t.Fatalf("dry run: %s", out)
	}
	if len(e.VoiceURIs()) != 0 || e.DIDs()[0].VoiceURIID != nil {
		t.Fatal("a dry run changed voxbone")
	}
	if out := mustCLI(t, db, "voxbone", "route", "--all"); !strings.Contains(out, "2 routed, 0 pending") {
		t.Fatalf("route: %s", out)
	}
	id := e.VoiceURIs()[0].VoiceURIID
	for _, d := range e.DIDs() {
		if d.VoiceURIID == nil || *d.VoiceURIID != id {
			t.Fatalf("DID %s not routed", d.E164)
		}
	}

	// Behind knm's back.
	c, err := voxbone.New(voxbone.WithBaseURL(base), voxbone.WithBasicAuth("u", "p"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := c.ConfigureDIDs(ctx, voxbone.DIDConfiguration{DIDIDs: []int{e.DIDs()[1].DIDID}, VoiceURIID: nil,
		Ringback: "RINGING"}); err != nil {
		t.Fatal(err)
	}
	other, err := c.SaveVoiceURI(ctx, voxbone.VoiceURI{VoiceURIProtocol: "SIP", URI: "x@else.example"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ConfigureDIDs(ctx, voxbone.DIDConfiguration{DIDIDs: []int{e.DIDs()[1].DIDID},
		VoiceURIID: other.VoiceURIID}); err != nil {
		t.Fatal(err)
	}
	changed := e.DIDs()[1].E164
	out = mustCLI(t, db, "voxbone", "reconcile")
	if !strings.Contains(out, "1 differ") || !strings.Contains(out, "would be configured "+changed) {
		t.Fatalf("reconcile: %s", out)
	}
	if out := mustCLI(t, db, "voxbone", "reconcile", "--fix"); !strings.Contains(out, "1 routed, 0 pending") {
		t.Fatalf("reconcile --fix: %s", out)
	}
	if v := e.DIDs()[1].VoiceURIID; v == nil || *v != id {
		t.Fatal("reconcile --fix did not route the DID back")
	}
	// Release leaves voice URIs alone; --prune-voice-uris keeps the one the settings name and
	// never touches the operator's.
	acct := strings.TrimSpace(mustCLI(t, db, "accounts", "create", "acme"))
	mustCLI(t, db, "numbers", "activate", changed, "--account", acct)
	code, _, errs := cli(t, db, "numbers", "release", changed, "--prune-voice-uris")
	if code != 0 || !strings.Contains(errs, "pruned 0 unused voice URI(s) [], kept 1") || len(e.VoiceURIs()) != 2 {
		t.Fatalf("release --prune-voice-uris: exit %d, %q, %d voice URIs", code, errs, len(e.VoiceURIs()))
	}
	for _, args := range [][]string{{"voxbone", "route"}, {"voxbone", "route", "--all", "+12055550100"}} {
		if code, _, errs := cli(t, db, args...); code == 0 || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
			t.Errorf("knm %v: exit %d, stderr %q", args, code, errs)
		}
	}
	if code, out, _ := cli(t, db, "voxbone", "route", "+15555550100"); code == 0 || !strings.Contains(out, "not in knm") {
		t.Errorf("unknown number: exit %d, %s", code, out)
	}
}

// TestVoxboneRoutingAPI: POST /v2/voxbone/routing, a pending number shown in _read_only.
func TestVoxboneRoutingAPI(t *testing.T) {
	t.Parallel()
	e := emulator.New(emulator.Config{Username: "u", Password: "p", Seed: 7})
	base := serveEmulator(t, e)
	db := sqliteDB(t)
	configureVoxbone(t, db, base)
	mustCLI(t, db, "config", "set", "number_manager.voxbone", "voice_uri", `"sip:{e164}@sbc.example.com"`)
	// The configuration fails: the numbers are bought, stored and marked pending.
	e.AddFault(emulator.Fault{Endpoint: "configuration", Status: 500})
	code, out, _ := cli(t, db, "voxbone", "order", "--group", "1404", "--quantity", "2", "--yes")
	if code != 0 || !strings.Contains(out, "imported, 2 of 2") {
		t.Fatalf("order: exit %d %s", code, out)
	}
	if !strings.Contains(out, "routing pending") {
		t.Fatalf("order output does not say routing is pending: %s", out)
	}
	num := e.DIDs()[0].E164
	if out := mustCLI(t, db, "numbers", "list"); strings.Count(out, "knm_voxbone (routing pending)") != 2 {
		t.Fatalf("numbers list does not show the pending routing: %s", out)
	}
	if out := mustCLI(t, db, "numbers", "show", num); !strings.Contains(out, `"knm_routing"`) {
		t.Fatalf("numbers show: %s", out)
	}

	const key = "master-key-0123456789"
	d := startDaemon(t, map[string]string{"KNM_MASTER_API_KEY": key}, "", "--db", db, "serve", "--listen", "127.0.0.1:0")
	_, auth := call(t, "PUT", d.url+"/v2/api_auth", "", `{"data":{"api_key":"`+key+`"}}`)
	tok, master := field(auth, "auth_token"), field(auth, "data", "account_id")
	numURL := d.url + "/v2/accounts/" + master + "/phone_numbers/" + url.PathEscape(num)
	code2, env := call(t, "GET", numURL, tok, "")
	if code2 != 200 || field(env, "data", "_read_only", "routing") != "pending" {
		t.Fatalf("number: %d %s", code2, env["data"])
	}
	for body, want := range map[string]int{`{"data":{}}`: 400, `{"data":{"all":true,"numbers":["+1"]}}`: 400,
		`{"data":{"numbers":["abc"]}}`: 400, `not json`: 400} {
		if code, env := call(t, "POST", d.url+"/v2/voxbone/routing", tok, body); code != want {
			t.Errorf("%s: %d %s", body, code, env["message"])
		}
	}
	code2, env = call(t, "POST", d.url+"/v2/voxbone/routing", tok, `{"data":{"all":true,"dry_run":true}}`)
	var rep struct {
		Changes []json.RawMessage `json:"changes"`
		DryRun  bool              `json:"dry_run"`
	}
	if code2 != 200 || json.Unmarshal(env["data"], &rep) != nil || len(rep.Changes) != 2 || !rep.DryRun {
		t.Fatalf("dry run: %d %s", code2, env["data"])
	}
	e.ClearFaults()
	code2, env = call(t, "POST", d.url+"/v2/voxbone/routing", tok, `{"data":{"numbers":["`+num+`"]}}`)
	if code2 != 200 || !strings.Contains(string(env["data"]), `"routed":1`) {
		t.Fatalf("route: %d %s", code2, env["data"])
	}
	code2, env = call(t, "GET", numURL, tok, "")
	if code2 != 200 || field(env, "data", "_read_only", "routing") != "" {
		t.Fatalf("still pending after routing: %s", env["data"])
	}
}

// TestKazooAcceptanceRouted is Kazoo's acceptance search (256 × 15, US) through the REST
// API with voice_uri set: when the search answers, all 15 DIDs at Voxbone carry the voice
// URI's id, set by one configuration request (15 DIDs fit one batch).
func TestKazooAcceptanceRouted(t *testing.T) {
	t.Parallel()
	e := emulator.New(emulator.Config{Username: "u", Password: "p", Seed: 7})
	for i, id := range []int{5116, 5117, 12518, 5118, 5119, 5120, 5121, 5122, 5123} {
		stock := 0
		if i < 3 {
			stock = 5
		}
		if err := e.SetStock(id, stock); err != nil {
			t.Fatal(err)
		}
	}
	base := serveEmulator(t, e)
	db := sqliteDB(t)
	configureVoxbone(t, db, base)
	mustCLI(t, db, "config", "set", "number_manager.voxbone", "voice_uri", `"sip:{e164}@sbc.example.com"`)
	const key = "master-key-0123456789"
	d := startDaemon(t, map[string]string{"KNM_MASTER_API_KEY": key}, "", "--db", db, "serve", "--listen", "127.0.0.1:0")
	_, auth := call(t, "PUT", d.url+"/v2/api_auth", "", `{"data":{"api_key":"`+key+`"}}`)
	tok, master := field(auth, "auth_token"), field(auth, "data", "account_id")
	firstFound(t, d.url+"/v2/accounts/"+master+"/phone_numbers", tok, "prefix=256&quantity=15&country=US", 15)
	vs := e.VoiceURIs()
	if len(vs) != 1 || vs[0].URI != "$e164@sbc.example.com" {
		t.Fatalf("voice URIs %+v", vs)
	}
	dids := e.DIDs()
	if len(dids) != 15 {
		t.Fatalf("%d DIDs", len(dids))
	}
	for _, d := range dids {
		if d.VoiceURIID == nil || *d.VoiceURIID != vs[0].VoiceURIID {
			t.Fatalf("DID %s not routed", d.E164)
		}
	}
	if n := e.Calls("configuration"); n != 1 {
		t.Fatalf("%d configuration requests, want 1", n)
	}
}
