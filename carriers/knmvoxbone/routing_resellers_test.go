package knmvoxbone

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/voxbone/emulator"
)

// TestConcurrentSearchesOfTwoResellersRouteApart: sub-accounts of two resellers, each
// reseller with its own voice_uri override, search the same DID groups at the same time
// (inside one coalescing window). Their searches never share an order, and every number each
// account gets rings on its own reseller's SBC; a second sub-account of the first reseller
// shares that reseller's order.
func TestConcurrentSearchesOfTwoResellersRouteApart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := routedFixture(t, emulator.Config{}, nil)
	f.c.settings.CoalesceWindow = 300 * time.Millisecond
	f.c.settings.Routing = f.s.Routing
	const (
		r1, r2 = "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1", "a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2"
		s1, s2 = "b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1", "b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2"
		s3     = "b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3"
	)
	for _, a := range []*knm.Account{
		{ID: r1, Name: "r1", Enabled: true, Reseller: true, ResellerID: r1},
		{ID: r2, Name: "r2", Enabled: true, Reseller: true, ResellerID: r2},
		{ID: s1, Name: "s1", Enabled: true, Tree: []string{r1}, ResellerID: r1},
		{ID: s2, Name: "s2", Enabled: true, Tree: []string{r2}, ResellerID: r2},
		{ID: s3, Name: "s3", Enabled: true, Tree: []string{r1}, ResellerID: r1},
	} {
		if err := f.store.CreateAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	for id, host := range map[string]string{r1: "sbc.one.example", r2: "sbc.two.example"} {
		body := `{"_id":"configs_number_manager.voxbone","voice_uri":"sip:{e164}@` + host + `"}`
		if err := f.store.PutConfig(ctx, &knm.ConfigDoc{Scope: id, ID: Category, Body: []byte(body)}); err != nil {
			t.Fatal(err)
		}
	}
	wantHost := map[string]string{s1: "sbc.one.example", s2: "sbc.two.example", s3: "sbc.one.example"}
	got := map[string][]knm.SearchRow{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i, acct := range []string{s1, s2, s3} {
		wg.Go(func() {
			opts := searchAs(acct, 3, time.Minute)
			if i != 2 { // s3's reseller is looked up from its account
				opts.ResellerID = map[string]string{s1: r1, s2: r2}[acct]
			}
			rows, err := f.c.FindNumbers(ctx, opts)
			if err != nil || len(rows) != 3 {
				t.Errorf("%s: %d rows, %v", acct, len(rows), err)
			}
			mu.Lock()
			got[acct] = rows
			mu.Unlock()
		})
	}
	wg.Wait()
	uris := map[int]string{}
	for _, v := range f.e.VoiceURIs() {
		uris[v.VoiceURIID] = v.URI
	}
	dids := map[string]*int{}
	for _, d := range f.e.DIDs() {
		dids["+"+strings.TrimPrefix(d.E164, "+")] = d.VoiceURIID
	}
	for acct, rows := range got {
		for _, r := range rows {
			id := dids[r.Number]
			if id == nil || !strings.HasSuffix(uris[*id], "@"+wantHost[acct]) {
				t.Errorf("%s of %s routed to %v (%s), want %s", r.Number, acct, id, uris[derefInt(id)],
					wantHost[acct])
			}
			if st, why := RoutingOf(r.CarrierData); st != "" {
				t.Errorf("%s of %s: routing %s %s", r.Number, acct, st, why)
			}
		}
	}
	if n := len(f.e.Orders()); n != 2 {
		t.Errorf("%d orders, want 2 (one per reseller's routing)", n)
	}
	checkInvariants(t, f.e, f.store, 2)
}

func derefInt(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}
