package knmvoxbone

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/voxbone"
	"github.com/knmproject/knm/voxbone/emulator"
)

// TestAcquireRoutesToAccount: a number bought into the pool (routed with system_config's
// voice URI) and activated for a reseller's sub-account is routed to the reseller's voice
// URI; a failure leaves it marked pending for Recover, and the activation goes on.
func TestAcquireRoutesToAccount(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := routedFixture(t, emulator.Config{}, nil)
	const reseller, sub = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	for _, a := range []*knm.Account{
		{ID: reseller, Name: "reseller", Enabled: true, Reseller: true, ResellerID: reseller},
		{ID: sub, Name: "sub", Enabled: true, Tree: []string{reseller}, ResellerID: reseller},
	} {
		if err := f.store.CreateAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.store.PutConfig(ctx, &knm.ConfigDoc{Scope: reseller, ID: Category,
		Body: []byte(`{"_id":"configs_number_manager.voxbone","voice_uri":"sip:{e164}@sbc.reseller.example"}`)}); err != nil {
		t.Fatal(err)
	}
	ns := buy(t, f.c, f.store, 2)
	voiceOf := func(n *knm.Number) int {
		var d voxbone.DID
		if json.Unmarshal(n.CarrierData, &d) != nil || d.VoiceURIID == nil {
			return 0
		}
		return *d.VoiceURIID
	}
	system := voiceOf(ns[0])

	// Activation for the sub-account: routed to the reseller's SBC.
	n := ns[0].Clone()
	n.State, n.AssignedTo = knm.StateInService, sub
	if err := f.c.AcquireNumber(ctx, n); err != nil {
		t.Fatal(err)
	}
	if v := voiceOf(n); v == 0 || v == system {
		t.Fatalf("activated number's voice URI %d (system's %d)", v, system)
	}
	if st, _ := RoutingOf(n.CarrierData); st != "" {
		t.Fatalf("marked %s", st)
	}
	// Again: configured as wanted, no request.
	f.e.ResetRequests()
	if err := f.c.AcquireNumber(ctx, n); err != nil || len(f.e.Requests()) != 0 {
		t.Fatalf("second acquire: %v, %d requests", err, len(f.e.Requests()))
	}

	// A failure: the activation goes on, the number is marked pending, Recover routes it.
	f.e.AddFault(emulator.Fault{Endpoint: "configuration", Status: 500})
	m := ns[1].Clone()
	m.State, m.AssignedTo = knm.StateInService, sub
	if err := f.c.AcquireNumber(ctx, m); err != nil {
		t.Fatal(err)
	}
	if st, _ := RoutingOf(m.CarrierData); st != RoutingPending {
		t.Fatalf("failed routing not marked: %s", m.CarrierData)
	}
	if err := f.store.UpdateNumber(ctx, m); err != nil { // the manager's write
		t.Fatal(err)
	}
	f.e.ClearFaults()
	if rep, err := f.c.Recover(ctx); err != nil || rep.Routed != 1 {
		t.Fatalf("recover %+v %v", rep, err)
	}
	got, _ := f.store.GetNumber(ctx, m.Number)
	if st, _ := RoutingOf(got.CarrierData); st != "" || voiceOf(got) != voiceOf(n) {
		t.Fatalf("after recover: %s", got.CarrierData)
	}
}
