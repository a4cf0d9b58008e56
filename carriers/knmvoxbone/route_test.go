package knmvoxbone

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"github.com/knmproject/knm/voxbone"
	"github.com/knmproject/knm/voxbone/emulator"
)

// TestRouteExistingDIDs: DIDs bought before routing was set are listed by a dry run, which
// changes nothing at Voxbone, then configured by a real run; a DID reconfigured behind knm's
// back is the only one reported afterwards, and --fix puts it back.
func TestRouteExistingDIDs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, emulator.Config{})
	ns := buy(t, f.c, f.store, 3)
	f.s.Routing.VoiceURI = "sip:{e164}@sbc.example.com"
	f.s.Routing.Ringback = "RINGING"
	f.c = newTestCarrier(t, f.s, Deps{Store: f.store})

	f.e.ResetRequests()
	rep, err := f.c.Route(ctx, RouteRequest{All: true, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Examined != 3 || len(rep.Changes) != 3 || rep.Routed != 0 || len(rep.Errors) != 0 {
		t.Fatalf("dry run %+v", rep)
	}
	if !slices.Contains(rep.Changes[0].Differs, "voiceUriId") || !slices.Contains(rep.Changes[0].Differs, "ringback") {
		t.Fatalf("differs %v", rep.Changes[0].Differs)
	}
	for _, r := range f.e.Requests() {
		if r.Method != "GET" {
			t.Fatalf("a dry run sent %s %s", r.Method, r.Path)
		}
	}
	if len(f.e.VoiceURIs()) != 0 {
		t.Fatal("a dry run created a voice URI")
	}

	rep, err = f.c.Route(ctx, RouteRequest{Numbers: []string{ns[0].Number, ns[1].Number, ns[2].Number}})
	if err != nil || rep.Routed != 3 || rep.Pending != 0 {
		t.Fatalf("route %+v %v", rep, err)
	}
	checkRouted(t, f, 3)
	// The numbers' carrier data is the DID as read back.
	for _, n := range ns {
		got, _ := f.store.GetNumber(ctx, n.Number)
		var d voxbone.DID
		if json.Unmarshal(got.CarrierData, &d) != nil || d.VoiceURIID == nil || d.Ringback != "RINGING" {
			t.Fatalf("%s carrier data %s", n.Number, got.CarrierData)
		}
	}

	// Behind knm's back: one DID moved to another voice URI.
	other, err := f.c.Client().SaveVoiceURI(ctx, voxbone.VoiceURI{VoiceURIProtocol: "SIP", URI: "x@elsewhere.example"})
	if err != nil {
		t.Fatal(err)
	}
	did := f.e.DIDs()[1]
	if _, err := f.c.Client().ConfigureDIDs(ctx, voxbone.DIDConfiguration{DIDIDs: []int{did.DIDID},
		VoiceURIID: other.VoiceURIID}); err != nil {
		t.Fatal(err)
	}
	rep, err = f.c.Route(ctx, RouteRequest{All: true, DryRun: true})
	if err != nil || len(rep.Changes) != 1 || rep.Changes[0].DIDID != did.DIDID || rep.Changes[0].Differs[0] != "voiceUriId" {
		t.Fatalf("after a change behind knm's back: %+v %v", rep, err)
	}
	if rep, err = f.c.Route(ctx, RouteRequest{All: true}); err != nil || rep.Routed != 1 {
		t.Fatalf("fix %+v %v", rep, err)
	}
	rep, _ = f.c.Route(ctx, RouteRequest{All: true, DryRun: true})
	if len(rep.Changes) != 0 {
		t.Fatalf("still differs after the fix: %+v", rep)
	}
}

// TestRouteBadInput: numbers knm does not hold under knm_voxbone are reported, not routed.
func TestRouteBadInput(t *testing.T) {
	t.Parallel()
	f := routedFixture(t, emulator.Config{}, nil)
	if _, err := f.c.Route(context.Background(), RouteRequest{}); err == nil {
		t.Fatal("no numbers accepted")
	}
	rep, err := f.c.Route(context.Background(), RouteRequest{Numbers: []string{"+15555550100"}})
	if err != nil || len(rep.Errors) != 1 || rep.Examined != 0 {
		t.Fatalf("%+v %v", rep, err)
	}
}
