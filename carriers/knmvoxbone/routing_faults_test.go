package knmvoxbone

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/voxbone/emulator"
)

// routeSteps are the requests of the routing step of a 15-number buy with page_size 5: the
// voice URI lookup and create, the one configuration request, and the verification read
// (the fifth DID listing, after the four of the delivery).
var routeSteps = []struct {
	endpoint string
	nth      int
}{{"voiceuri.list", 1}, {"voiceuri.save", 1}, {"configuration", 1}, {"did.list", 5}}

// TestRoutingFaultMatrix injects every fault at every request of the routing step. The
// numbers are always kept; a DID that is not routed is never shown as routed (its number is
// marked pending); Recover on a new carrier routes everything, with one voice URI.
func TestRoutingFaultMatrix(t *testing.T) {
	t.Parallel()
	for _, step := range routeSteps {
		for _, fk := range faultKinds {
			if fk.name == "drop" || fk.name == "500-after-effect" && step.endpoint == "did.list" {
				continue // covered by drop-after-effect / by 500
			}
			name := fmt.Sprintf("%s#%d/%s", step.endpoint, step.nth, fk.name)
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				runRoutingFault(t, openSQLite(t), step.endpoint, step.nth, fk.fault, fk.crash, fk.effect)
			})
		}
	}
}

func runRoutingFault(t *testing.T, store knm.Store, endpoint string, nth int, fault emulator.Fault, crash, effect bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	e := emulator.New(emulator.Config{})
	threeGroups(t, e)
	clean := httptest.NewServer(e)
	defer clean.Close()
	s := testSettings(clean.URL)
	s.PageSize = 5
	s.Routing.VoiceURI = "sip:{e164}@sbc.example.com"
	if crash {
		sctx, scancel := context.WithCancel(ctx)
		defer scancel()
		sw := &crashSwitch{e: e, endpoint: endpoint, nth: int32(nth), effect: effect, cancel: scancel}
		dying := httptest.NewServer(sw)
		defer dying.Close()
		ds := s
		ds.BaseURL = dying.URL + "/ws-voxbone/services/rest"
		_, err := search256(sctx, newTestCarrier(t, ds, Deps{Store: crashStore{Store: store, crashed: &sw.crashed}}), 15)
		t.Logf("search: %v", err)
		if !sw.crashed.Load() {
			t.Fatalf("the crash at %s #%d never happened", endpoint, nth)
		}
	} else {
		f := fault
		f.Endpoint, f.Nth = endpoint, nth
		e.AddFault(f)
		rows, err := search256(ctx, newTestCarrier(t, s, Deps{Store: store}), 15)
		t.Logf("search: %d rows, %v", len(rows), err)
		if e.Calls(endpoint) < nth {
			t.Fatalf("fault at %s #%d never fired", endpoint, nth)
		}
		if len(rows) != 15 {
			t.Fatalf("bought numbers not returned: %d rows", len(rows))
		}
		checkNeverSilentlyRouted(t, e, store)
	}

	e.ClearFaults()
	rec := newTestCarrier(t, s, Deps{Store: store})
	rep, err := rec.Recover(ctx)
	if err != nil || len(rep.Unsettled) > 0 {
		t.Fatalf("recover: %+v, %v", rep, err)
	}
	checkInvariants(t, e, store, 1)
	checkRouted(t, &fixture{e: e, store: store}, 15)
	if n := e.Calls("voiceuri.save"); n > 2 {
		t.Errorf("%d voice URI creates", n)
	}
}

// checkNeverSilentlyRouted asserts that every knm_voxbone number whose DID does not carry a
// voice URI is marked pending, and that at least one number is stored per DID.
func checkNeverSilentlyRouted(t *testing.T, e *emulator.Emulator, store knm.Store) {
	t.Helper()
	routed := map[string]bool{}
	for _, d := range e.DIDs() {
		routed[d.E164] = d.VoiceURIID != nil
	}
	ns, err := store.FindNumbers(context.Background(), knm.NumberFilter{Module: ModuleName})
	if err != nil || len(ns) != len(routed) {
		t.Fatalf("%d numbers for %d DIDs, %v", len(ns), len(routed), err)
	}
	pending := 0
	for _, n := range ns {
		st, _ := RoutingOf(n.CarrierData)
		if st == RoutingPending {
			pending++
		}
		if !routed[n.Number] && st != RoutingPending {
			t.Fatalf("%s is not routed at voxbone but not marked pending", n.Number)
		}
	}
	t.Logf("%d of %d numbers pending", pending, len(ns))
}
