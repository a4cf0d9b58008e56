package knmvoxbone

import (
	"context"
	"slices"
	"testing"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/voxbone/emulator"
)

// TestUnroutedDIDs: while Voxbone refuses every configuration the bought DIDs are listed
// as unrouted with the order and the reason, up to the limit asked; once Recover has
// routed them, none is.
func TestUnroutedDIDs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := routedFixture(t, emulator.Config{}, nil)
	f.e.AddFault(emulator.Fault{Endpoint: "configuration", Status: 500})
	rows, err := search256(ctx, f.c, 3)
	if err != nil || len(rows) != 3 {
		t.Fatalf("%d rows, %v", len(rows), err)
	}
	got, err := UnroutedDIDs(ctx, f.store, 0)
	if err != nil || len(got) != 3 {
		t.Fatalf("UnroutedDIDs = %+v, %v; want the 3 bought", got, err)
	}
	order := mustOrderID(t, f)
	for _, u := range got {
		if !slices.ContainsFunc(rows, func(r knm.SearchRow) bool { return r.Number == u.Number }) ||
			u.OrderID != order || u.State != RoutingPending || u.Error == "" || u.NextAttempt.IsZero() {
			t.Fatalf("unrouted DID %+v (order %s)", u, order)
		}
	}
	if two, err := UnroutedDIDs(ctx, f.store, 2); err != nil || len(two) != 2 {
		t.Fatalf("limit 2: %d, %v", len(two), err)
	}
	f.e.ClearFaults()
	if rep, err := newTestCarrier(t, f.s, Deps{Store: f.store}).Recover(ctx); err != nil || len(rep.Unsettled) > 0 {
		t.Fatalf("recover: %+v, %v", rep, err)
	}
	if got, err := UnroutedDIDs(ctx, f.store, 0); err != nil || len(got) != 0 {
		t.Fatalf("after recovery: %+v, %v", got, err)
	}
}
