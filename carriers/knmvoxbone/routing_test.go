package knmvoxbone

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/voxbone/emulator"
)

// routedFixture is a fixture whose settings route every bought DID to voice_uri.
func routedFixture(t *testing.T, cfg emulator.Config, mut func(*Routing)) *fixture {
	t.Helper()
	f := newFixture(t, cfg)
	f.s.Routing.VoiceURI = "sip:{e164}@sbc.example.com"
	if mut != nil {
		mut(&f.s.Routing)
	}
	f.c = newTestCarrier(t, f.s, Deps{Store: f.store})
	return f
}

// checkRouted asserts that every DID at the emulator carries the one voice URI and that no
// knm number is marked pending.
func checkRouted(t *testing.T, f *fixture, want int) {
	t.Helper()
	vs := f.e.VoiceURIs()
	if len(vs) != 1 {
		t.Fatalf("%d voice URIs, want 1", len(vs))
	}
	dids := f.e.DIDs()
	if len(dids) != want {
		t.Fatalf("%d DIDs at voxbone, want %d", len(dids), want)
	}
	for _, d := range dids {
		if d.VoiceURIID == nil || *d.VoiceURIID != vs[0].VoiceURIID {
			t.Fatalf("DID %s not routed: %v", d.E164, d.VoiceURIID)
		}
	}
	ns, err := f.store.FindNumbers(context.Background(), knm.NumberFilter{Module: ModuleName})
	if err != nil || len(ns) != want {
		t.Fatalf("%d numbers, %v", len(ns), err)
	}
	for _, n := range ns {
		if st, why := RoutingOf(n.CarrierData); st != "" {
			t.Fatalf("%s still %s: %s", n.Number, st, why)
		}
	}
}

// TestRoutingAcceptance is Kazoo's acceptance search (256 × 15, US) with voice_uri set: all 15
// DIDs carry the voice URI's id when the search returns, in one configuration request (the
// 15 DIDs fit in one batch), plus one verification read.
func TestRoutingAcceptance(t *testing.T) {
	t.Parallel()
	f := routedFixture(t, emulator.Config{}, nil)
	rows, err := search256(context.Background(), f.c, 15)
	if err != nil || len(rows) != 15 {
		t.Fatalf("%d rows, %v", len(rows), err)
	}
	checkRouted(t, f, 15)
	if n := f.e.Calls("configuration"); n != 1 {
		t.Fatalf("%d configuration requests, want 1", n)
	}
	for _, r := range rows {
		if st, _ := RoutingOf(r.CarrierData); st != "" {
			t.Fatalf("row %s marked %s", r.Number, st)
		}
	}
	e, err := f.store.GetJournal(context.Background(), routeRowID(mustOrderID(t, f)))
	if err != nil || e.State != RoutingDone {
		t.Fatalf("routing job %+v %v", e, err)
	}
}

// TestRoutingBatches: with routing_batch_size 4, 15 DIDs take ceil(15/4) = 4 requests.
func TestRoutingBatches(t *testing.T) {
	t.Parallel()
	f := routedFixture(t, emulator.Config{ConfigBatchLimit: 4}, func(r *Routing) { r.BatchSize = 4; r.TrunkID = 12735 })
	if _, err := search256(context.Background(), f.c, 15); err != nil {
		t.Fatal(err)
	}
	checkRouted(t, f, 15)
	if n := f.e.Calls("configuration"); n != 4 {
		t.Fatalf("%d configuration requests, want 4", n)
	}
}

// mustOrderID returns the id of the fixture's only order.
func mustOrderID(t *testing.T, f *fixture) string {
	t.Helper()
	os, err := f.c.ListOrders(context.Background())
	if err != nil || len(os) != 1 {
		t.Fatalf("%d orders, %v", len(os), err)
	}
	return os[0].OrderID
}

// TestRoutingAccountOverride: a reseller's configs_number_manager.voxbone sends its numbers
// to its own SBC, for a native order assigned to a sub-account and for a search by it;
// system_config's voice URI serves everyone else.
func TestRoutingAccountOverride(t *testing.T) {
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
	res, err := f.c.Order(ctx, OrderRequest{GroupID: 1404, Quantity: 2, AssignTo: sub})
	if err != nil || res.State != StateImported || res.Routing != RoutingDone {
		t.Fatalf("order %+v %v", res, err)
	}
	if _, err := f.c.FindNumbers(ctx, knm.SearchOptions{Country: "US", Prefix: knm.SearchPrefix{Dialcode: "+1",
		National: "256"}, Quantity: 1, QueryID: "q1", AccountID: sub, ResellerID: reseller}); err != nil {
		t.Fatal(err)
	}
	// No account: the number just handed to the sub-account's search is not offered to
	// another search for the hold time, so both are bought with system_config's voice URI.
	if _, err := search256(ctx, f.c, 2); err != nil {
		t.Fatal(err)
	}
	uris := map[int]string{}
	for _, v := range f.e.VoiceURIs() {
		uris[v.VoiceURIID] = v.URI
	}
	count := map[string]int{}
	for _, d := range f.e.DIDs() {
		if d.VoiceURIID == nil {
			t.Fatalf("DID %s not routed", d.E164)
		}
		count[uris[*d.VoiceURIID]]++
	}
	if count["$e164@sbc.reseller.example"] != 3 || count["$e164@sbc.example.com"] != 2 {
		t.Fatalf("DIDs per voice URI: %v", count)
	}
}

// TestRoutingBackoff: a job that keeps failing waits longer between attempts; a periodic
// recovery leaves it alone until it is due, and settles it once Voxbone answers. The
// metrics hooks see the routed and pending DIDs.
func TestRoutingBackoff(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := routedFixture(t, emulator.Config{}, nil)
	now := time.Date(2026, 11, 29, 3, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	var routed, pending, backlog int
	rebuild := func() {
		f.c = newTestCarrier(t, f.s, Deps{Store: f.store, Metrics: Metrics{
			Routing:        func(r, p int) { mu.Lock(); routed, pending = routed+r, pending+p; mu.Unlock() },
			RoutingPending: func(n int) { mu.Lock(); backlog = n; mu.Unlock() },
		}})
		f.c.now = func() time.Time { return now }
	}
	rebuild()
	f.e.AddFault(emulator.Fault{Endpoint: "configuration", Status: 500})
	rows, err := search256(ctx, f.c, 3)
	if err != nil || len(rows) != 3 {
		t.Fatalf("%d rows, %v", len(rows), err)
	}
	for _, r := range rows {
		if st, why := RoutingOf(r.CarrierData); st != RoutingPending || why == "" {
			t.Fatalf("row %s: %q %q", r.Number, st, why)
		}
	}
	res, err := f.c.GetOrder(ctx, mustOrderID(t, f))
	if err != nil || res.State != StateImported || res.Routing != RoutingPending || res.RoutingPending != 3 {
		t.Fatalf("order %+v %v", res, err)
	}
	if pending != 3 || routed != 0 {
		t.Fatalf("metrics: routed %d pending %d", routed, pending)
	}
	calls := f.e.Calls("configuration")
	wait := []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute}
	for i, w := range wait {
		// Not due yet: a periodic pass does not try.
		now = now.Add(w - time.Second)
		if _, err := f.c.RecoverIdle(ctx, 0); err != nil {
			t.Fatal(err)
		}
		if n := f.e.Calls("configuration"); n != calls {
			t.Fatalf("attempt %d: tried before its time", i)
		}
		if backlog != 3 {
			t.Fatalf("backlog gauge %d", backlog)
		}
		now = now.Add(time.Second)
		if _, err := f.c.RecoverIdle(ctx, 0); err != nil {
			t.Fatal(err)
		}
		if n := f.e.Calls("configuration"); n != calls+1 {
			t.Fatalf("attempt %d: %d configuration requests, want %d", i, n, calls+1)
		}
		calls++
	}
	f.e.ClearFaults()
	now = now.Add(time.Hour)
	rep, err := f.c.RecoverOlderThan(ctx, 0)
	if err != nil || rep.Routed != 1 || rep.RoutingPending != 0 {
		t.Fatalf("recover %+v %v", rep, err)
	}
	checkRouted(t, f, 3)
	if backlog != 0 || routed != 3 {
		t.Fatalf("metrics after: backlog %d routed %d", backlog, routed)
	}
}

// TestRoutingSkipsGoneDIDs: Voxbone refuses a whole batch for one DID it no longer has
// (error 300); the job drops that DID and routes the others.
func TestRoutingSkipsGoneDIDs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, emulator.Config{})
	buy(t, f.c, f.store, 3)
	dids := f.e.DIDs()
	if _, err := f.c.Client().CancelDIDs(ctx, []int{dids[0].DIDID}); err != nil {
		t.Fatal(err)
	}
	f.s.Routing.VoiceURI = "sip:{e164}@sbc.example.com"
	f.c = newTestCarrier(t, f.s, Deps{Store: f.store})
	j := &job{routeJob: routeJob{Account: f.c.account, OrderID: "manual-test"}}
	for _, d := range dids {
		num, _ := didE164(d.E164)
		j.DIDs = append(j.DIDs, routeDID{ID: d.DIDID, Number: num})
	}
	if err := f.c.routeJobAgain(ctx, j); err != nil {
		t.Fatal(err)
	}
	if j.entry.State != RoutingDone {
		t.Fatalf("job %s: %s", j.entry.State, j.Error)
	}
	left := f.e.DIDs()
	if len(left) != 2 || left[0].VoiceURIID == nil || left[1].VoiceURIID == nil {
		t.Fatalf("DIDs after routing %+v", left)
	}
}
