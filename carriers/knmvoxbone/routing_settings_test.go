package knmvoxbone

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/config"
)

func TestParseVoiceURI(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]VoiceURITarget{
		"sip:{e164}@sbc.example.com":  {"SIP", "$e164@sbc.example.com"},
		"SIP:+{did}@10.0.0.1:5060":    {"SIP", "+$did@10.0.0.1:5060"},
		"tel:+3225551234":             {"TEL", "+3225551234"},
		"sip:trunk1@sbc.example.com":  {"SIP", "trunk1@sbc.example.com"},
		"sip:{e164}{did}@example.com": {"SIP", "$e164$did@example.com"},
	} {
		got, err := ParseVoiceURI(in)
		if err != nil || got != want {
			t.Errorf("%q: %+v %v, want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "http://x", "sip:", "sip:{number}@x", "sip:{e164@x", "sip:sbc.example.com",
		"sip:a b@x", "{e164}@x", "sip:@x", "sip:a@", "sip:{e164}:secret@sbc.example.com"} {
		if _, err := ParseVoiceURI(in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}

// TestReadRoutingSettings: the routing keys read from system_config, are not written back
// when absent, and bad values are refused on write with one message naming every key.
func TestReadRoutingSettings(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := openSQLite(t)
	cfg := config.New(st, "", "")
	got, err := ReadSettings(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got.Routing.Enabled() || got.Routing.BatchSize != DefaultRoutingBatchSize {
		t.Fatalf("default routing %+v", got.Routing)
	}
	doc, err := st.GetConfig(ctx, "", Category)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(doc.Body), "voice_uri") {
		t.Fatalf("an optional routing key was written back: %s", doc.Body)
	}
	set := func(key, value string) error { return cfg.Set(ctx, Category, key, json.RawMessage(value), "") }
	for _, kv := range [][2]string{{"voice_uri", `"sip:{e164}@sbc.example.com"`}, {"trunk_id", `12735`},
		{"srv_lookup", `true`}, {"cli_format", `"E164"`}, {"ringback", `"RINGING"`}, {"routing_batch_size", `"50"`},
		{"backup_voice_uri", `"sip:{e164}@backup.example.com"`}} {
		if err := set(kv[0], kv[1]); err != nil {
			t.Fatalf("%s: %v", kv[0], err)
		}
	}
	got, err = ReadSettings(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := Routing{VoiceURI: "sip:{e164}@sbc.example.com", BackupVoiceURI: "sip:{e164}@backup.example.com",
		TrunkID: 12735, SRVLookup: True, CLIFormat: "E164", Ringback: "RINGING", BatchSize: 50}
	if got.Routing != want {
		t.Fatalf("routing %+v, want %+v", got.Routing, want)
	}
	for key, value := range map[string]string{"voice_uri": `"http://sbc"`, "voice_uri_id": `7`, "ringback": `"LOUD"`,
		"srv_lookup": `"yes"`, "trunk_id": `"x"`, "routing_batch_size": `0`, "cli_format": `"e 164"`} {
		err := set(key, value)
		if !knm.IsErrorName(err, knm.ErrInvalid) || !strings.Contains(err.Error(), key) {
			t.Errorf("%s=%s: %v", key, value, err)
		}
	}
	if err := set("backup_voice_uri", `""`); err != nil {
		t.Fatal(err)
	}
	if err := set("voice_uri", `null`); err != nil {
		t.Fatal(err)
	}
	if err := set("voice_uri_id", `120001`); err != nil {
		t.Fatal(err)
	}
	got, _ = ReadSettings(ctx, cfg)
	if got.Routing.VoiceURI != "" || got.Routing.VoiceURIID != 120001 {
		t.Fatalf("after clearing voice_uri: %+v", got.Routing)
	}
}

// TestAccountRouting: an account's configs_number_manager.voxbone overrides routing keys one
// by one, and a bad override is refused when written.
func TestAccountRouting(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := openSQLite(t)
	cfg := config.New(st, "", "")
	base := Routing{VoiceURI: "sip:{e164}@sbc.example.com", TrunkID: 5, BatchSize: 100}
	if err := cfg.AccountSet(ctx, "acct1", Category, "voice_uri", json.RawMessage(`"sip:{e164}@reseller.example.net"`)); err != nil {
		t.Fatal(err)
	}
	doc, err := st.GetConfig(ctx, "acct1", Category)
	if err != nil {
		t.Fatal(err)
	}
	got, err := AccountRouting(doc.Body, base)
	if err != nil {
		t.Fatal(err)
	}
	if got.VoiceURI != "sip:{e164}@reseller.example.net" || got.TrunkID != 5 {
		t.Fatalf("override %+v", got)
	}
	err = cfg.AccountSet(ctx, "acct1", Category, "ringback", json.RawMessage(`"LOUD"`))
	if !knm.IsErrorName(err, knm.ErrInvalid) || !strings.Contains(err.Error(), "ringback") {
		t.Fatalf("bad account value: %v", err)
	}
}
