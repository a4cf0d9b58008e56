package knmvoxbone

import (
	"context"
	"testing"

	"github.com/knmproject/knm/voxbone"
	"github.com/knmproject/knm/voxbone/emulator"
)

// TestPruneVoiceURIs: release leaves voice URIs alone; pruning deletes only knm's voice URIs
// that no DID uses and that the settings do not name, never the operator's own.
func TestPruneVoiceURIs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := routedFixture(t, emulator.Config{}, nil) // voice URI A
	ns := buy(t, f.c, f.store, 2)
	operator, err := f.c.Client().SaveVoiceURI(ctx, voxbone.VoiceURI{VoiceURIProtocol: "SIP", URI: "ops@pbx.example"})
	if err != nil {
		t.Fatal(err)
	}
	f.s.Routing.VoiceURI = "sip:{e164}@sbc2.example.com" // B
	f.c = newTestCarrier(t, f.s, Deps{Store: f.store})
	if rep, err := f.c.Route(ctx, RouteRequest{Numbers: []string{ns[0].Number}}); err != nil || rep.Routed != 1 {
		t.Fatalf("route %+v %v", rep, err)
	}
	// A is still used by ns[1]'s DID: kept.
	rep, err := f.c.PruneVoiceURIs(ctx)
	if err != nil || len(rep.Deleted) != 0 || rep.Kept != 2 {
		t.Fatalf("prune while used: %+v %v", rep, err)
	}
	n, _ := f.store.GetNumber(ctx, ns[1].Number)
	if err := f.c.DisconnectNumber(ctx, n); err != nil {
		t.Fatal(err)
	}
	if got := len(f.e.VoiceURIs()); got != 3 {
		t.Fatalf("release touched voice URIs: %d left", got)
	}
	rep, err = f.c.PruneVoiceURIs(ctx)
	if err != nil || len(rep.Deleted) != 1 || rep.Kept != 1 || len(rep.Errors) != 0 {
		t.Fatalf("prune: %+v %v", rep, err)
	}
	left := f.e.VoiceURIs()
	if len(left) != 2 || (left[0].VoiceURIID != *operator.VoiceURIID && left[1].VoiceURIID != *operator.VoiceURIID) {
		t.Fatalf("left %+v", left)
	}
	// A pruned voice URI is forgotten: routing with it again creates it again.
	f.s.Routing.VoiceURI = "sip:{e164}@sbc.example.com"
	f.c = newTestCarrier(t, f.s, Deps{Store: f.store})
	if rep, err := f.c.Route(ctx, RouteRequest{All: true}); err != nil || rep.Routed != 1 || rep.Pending != 0 {
		t.Fatalf("route after prune %+v %v", rep, err)
	}
}
