//go:build !nopg

package knmvoxbone

import (
	"context"
	"fmt"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/internal/pgtest"
	"github.com/knmproject/knm/store/postgres"
	"github.com/knmproject/knm/voxbone/emulator"
)

// openPostgres opens a store on a fresh schema of the test PostgreSQL server (dropped at
// cleanup), or skips the test when none is configured outside CI.
func openPostgres(t *testing.T) knm.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), pgtest.FreshSchemaDSN(t), postgres.WithMaxConns(4))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestFaultMatrixPostgres runs the steps where money and journal meet on PostgreSQL.
func TestFaultMatrixPostgres(t *testing.T) {
	t.Parallel()
	steps := map[string]bool{"cart.create": true, "cart.add": true, "cart.checkout": true, "did.list": true,
		"cart.delete": true}
	for _, step := range buySteps {
		if !steps[step.endpoint] || step.nth > 1 {
			continue
		}
		for _, fk := range faultKinds {
			name := fmt.Sprintf("%s#%d/%s", step.endpoint, step.nth, fk.name)
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				runFaultCase(t, openPostgres(t), step.endpoint, step.nth, fk.fault, fk.crash, fk.effect)
			})
		}
	}
}

// TestVoiceURIOnceAcrossInstancesPostgres: two instances (two stores, two connection pools)
// on one PostgreSQL database configure concurrently and create exactly one voice URI.
func TestVoiceURIOnceAcrossInstancesPostgres(t *testing.T) {
	t.Parallel()
	dsn := pgtest.FreshSchemaDSN(t)
	open := func() knm.Store {
		s, err := postgres.Open(context.Background(), dsn, postgres.WithMaxConns(4))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	voiceURIAcrossStores(t, open(), open())
}

// TestRoutingFaultMatrixPostgres runs the faults of the configuration request on PostgreSQL.
func TestRoutingFaultMatrixPostgres(t *testing.T) {
	t.Parallel()
	for _, fk := range faultKinds {
		t.Run("configuration#1/"+fk.name, func(t *testing.T) {
			t.Parallel()
			runRoutingFault(t, openPostgres(t), "configuration", 1, fk.fault, fk.crash, fk.effect)
		})
	}
}

// TestRoutingTwoInstancesPostgres: two instances (two stores on one PostgreSQL database) buy
// and route at the same time; they create exactly one voice URI and route every DID to it.
func TestRoutingTwoInstancesPostgres(t *testing.T) {
	t.Parallel()
	dsn := pgtest.FreshSchemaDSN(t)
	e := emulator.New(emulator.Config{Latency: 20 * time.Millisecond})
	threeGroups(t, e)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	s := testSettings(srv.URL)
	s.RequestTimeout = 3 * time.Second
	s.Routing.VoiceURI = "sip:{e164}@sbc.example.com"
	var cs []*Carrier
	for range 2 {
		st, err := postgres.Open(context.Background(), dsn, postgres.WithMaxConns(4))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		cs = append(cs, newTestCarrier(t, s, Deps{Store: st}))
	}
	var wg sync.WaitGroup
	// Different area codes: the instances' stock reservations are their own.
	for i, area := range []string{"256", "205"} {
		c := cs[i]
		wg.Go(func() {
			_, err := c.FindNumbers(context.Background(), knm.SearchOptions{Country: "US", Quantity: 5,
				Prefix: knm.SearchPrefix{Dialcode: "+1", National: area}, QueryID: fmt.Sprint("q", i)})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := e.Calls("voiceuri.save"); n != 1 {
		t.Fatalf("%d voice URI creates, want 1", n)
	}
	vs := e.VoiceURIs()
	if len(vs) != 1 {
		t.Fatalf("%d voice URIs", len(vs))
	}
	dids := e.DIDs()
	if len(dids) != 10 {
		t.Fatalf("%d DIDs", len(dids))
	}
	for _, d := range dids {
		if d.VoiceURIID == nil || *d.VoiceURIID != vs[0].VoiceURIID {
			t.Fatalf("DID %s not routed", d.E164)
		}
	}
}
