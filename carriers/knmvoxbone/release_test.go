package knmvoxbone

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/voxbone"
	"github.com/knmproject/knm/voxbone/emulator"
)

// TestDisconnectLookup covers the exact-match rule.
func TestDisconnectLookup(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, emulator.Config{})
	rows, err := search256(ctx, f.c, 2)
	if err != nil || len(rows) != 2 {
		t.Fatal(rows, err)
	}
	// Not in the account: error, nothing cancelled.
	err = f.c.DisconnectNumber(ctx, &knm.Number{Number: "+12565550000"})
	if !knm.IsErrorName(err, knm.ErrCarrier) || f.e.Calls("cancel") != 0 {
		t.Errorf("unknown number: %v, %d cancels", err, f.e.Calls("cancel"))
	}
	// A prefix of real numbers matches several by substring but none exactly.
	err = f.c.DisconnectNumber(ctx, &knm.Number{Number: "+1256"})
	if err == nil || f.e.Calls("cancel") != 0 {
		t.Errorf("prefix: %v, %d cancels", err, f.e.Calls("cancel"))
	}
	gone := &knm.Number{Number: rows[1].Number, CarrierData: rows[1].CarrierData}
	if err := f.c.DisconnectNumber(ctx, gone); err != nil {
		t.Fatal(err)
	}
	if len(f.e.DIDs()) != 1 {
		t.Errorf("%d DIDs left, want 1", len(f.e.DIDs()))
	}
	// Released again (a recovery re-sending a disconnect whose answer was lost): the DID
	// id knm recorded is gone too, so the release may finish, without another cancel.
	if err := f.c.DisconnectNumber(ctx, gone); err != nil || f.e.Calls("cancel") != 1 {
		t.Errorf("already cancelled: %v, %d cancels", err, f.e.Calls("cancel"))
	}
	// Not listed under its number, but its recorded DID id is still in the account (as
	// another number): refused.
	kept := &knm.Number{Number: "+12565550001", CarrierData: rows[0].CarrierData}
	if err := f.c.DisconnectNumber(ctx, kept); !knm.IsErrorName(err, knm.ErrCarrier) || f.e.Calls("cancel") != 1 {
		t.Errorf("DID id still present: %v, %d cancels", err, f.e.Calls("cancel"))
	}
}

// TestCancelFaults injects every fault into the cancel of a release: a nil error must mean
// the DID is gone from the account, an error that it is still there (the manager then
// leaves the number as it was).
func TestCancelFaults(t *testing.T) {
	t.Parallel()
	for _, fk := range faultKinds {
		if fk.crash {
			continue // a crash during release is settled by the manager's own journal
		}
		t.Run(fk.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			f := newFixture(t, emulator.Config{})
			n := buy(t, f.c, f.store, 5)[0]
			fault := fk.fault
			fault.Endpoint = "cancel"
			f.e.AddFault(fault)
			err := f.c.DisconnectNumber(ctx, n)
			gone := true
			for _, d := range f.e.DIDs() {
				if d.E164 == n.Number {
					gone = false
				}
			}
			if (err == nil) != gone {
				t.Fatalf("disconnect err %v but DID gone=%v", err, gone)
			}
			if fk.effect && err != nil {
				t.Errorf("cancel happened but disconnect failed: %v", err)
			}
			if n := f.e.Calls("cancel"); n != 1 {
				t.Errorf("cancel sent %d times", n)
			}
		})
	}
}

// TestCancelRefusedRow: a cancel Voxbone refuses (a 4xx, 429/509, numberCancelled 0)
// leaves its row refused, so that a later release finding the DID gone (cancelled by
// someone else) is refused; an unknown outcome (no answer, a 5xx) leaves it sent; a
// numberCancelled 0 whose DID is gone is a cancel; a refused row is written sent again by
// the next cancel.
func TestCancelRefusedRow(t *testing.T) {
	t.Parallel()
	zero := func(e *emulator.Emulator) http.Handler { // numberCancelled 0, nothing cancelled
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if endpointOf(r) == "cancel" {
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprint(w, `{"numberCancelled":0}`)
				return
			}
			e.ServeHTTP(w, r)
		})
	}
	zeroDone := func(e *emulator.Emulator) http.Handler { // numberCancelled 0, cancelled
		zero := func(_ *http.Request, m map[string]any) { m["numberCancelled"] = 0 }
		return &rewriter{e: e, endpoint: "cancel", edit: zero}
	}
	for _, tc := range []struct {
		name    string
		fault   *emulator.Fault
		handler func(*emulator.Emulator) http.Handler
		state   string // of the cancel row after the failed release
		gone    bool   // the cancel happened
	}{
		{name: "414", fault: &emulator.Fault{Status: 414}, state: cancelRefused},
		{name: "400", fault: &emulator.Fault{Status: 400}, state: cancelRefused},
		{name: "429", fault: &emulator.Fault{Status: 429}, state: cancelRefused},
		{name: "509", fault: &emulator.Fault{Status: 509}, state: cancelRefused},
		{name: "zero", handler: zero, state: cancelRefused},
		{name: "500", fault: &emulator.Fault{Status: 500}, state: cancelSent},
		{name: "drop", fault: &emulator.Fault{Drop: true}, state: cancelSent},
		{name: "timeout", fault: &emulator.Fault{Latency: 450 * time.Millisecond}, state: cancelSent},
		{name: "zero-but-cancelled", handler: zeroDone, state: cancelDone, gone: true},
		{name: "414-after-effect", fault: &emulator.Fault{Status: 414, AfterEffect: true}, state: cancelDone,
			gone: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			e := emulator.New(emulator.Config{})
			threeGroups(t, e)
			var h http.Handler = e
			if tc.handler != nil {
				h = tc.handler(e)
			}
			srv := httptest.NewServer(h)
			t.Cleanup(srv.Close)
			store := openSQLite(t)
			c := newTestCarrier(t, testSettings(srv.URL), Deps{Store: store})
			n := buy(t, c, store, 2)[0]
			didID := didIDOf(t, n)
			if tc.fault != nil {
				f := *tc.fault
				f.Endpoint, f.Nth = "cancel", 1
				e.AddFault(f)
			}
			err := c.DisconnectNumber(ctx, n)
			listed := slices.ContainsFunc(e.DIDs(), func(d emulator.DID) bool { return d.DIDID == didID })
			if tc.gone != (err == nil) || tc.gone == listed {
				t.Fatalf("release: %v; DID listed %v", err, listed)
			}
			row, gerr := store.GetJournal(ctx, cancelRowID(didID))
			if gerr != nil || row.State != tc.state {
				t.Fatalf("cancel row %+v, %v; want state %s", row, gerr, tc.state)
			}
			if tc.gone {
				return
			}
			if tc.state == cancelRefused {
				// Cancelled elsewhere (not by knm): the release must not take the refused
				// cancel for knm's own.
				direct := httptest.NewServer(e)
				t.Cleanup(direct.Close)
				other, err := voxbone.New(voxbone.WithBaseURL(direct.URL + emulator.BasePath))
				if err != nil {
					t.Fatal(err)
				}
				if n, err := other.CancelDIDs(ctx, []int{didID}); err != nil || n != 1 {
					t.Fatal(n, err)
				}
				if err := c.DisconnectNumber(ctx, n); !knm.IsErrorName(err, knm.ErrCarrier) ||
					!strings.Contains(err.Error(), "knm did not cancel it") {
					t.Fatalf("release after a refused cancel and a cancel elsewhere: %v", err)
				}
				return
			}
			// Unknown outcome, then released again: the row is reused and ends done.
			if err := c.DisconnectNumber(ctx, n); err != nil {
				t.Fatalf("release again: %v", err)
			}
			if row, err := store.GetJournal(ctx, row.ID); err != nil || row.State != cancelDone {
				t.Fatalf("cancel row after the release %+v, %v", row, err)
			}
		})
	}

	// A refused row is written sent (by this account) before the next cancel goes out.
	t.Run("retry-after-refusal", func(t *testing.T) {
		t.Parallel()
		ctx := context.Background()
		f := newFixture(t, emulator.Config{})
		n := buy(t, f.c, f.store, 1)[0]
		f.e.AddFault(emulator.Fault{Endpoint: "cancel", Nth: 1, Status: 414})
		if err := f.c.DisconnectNumber(ctx, n); err == nil {
			t.Fatal("refused cancel released the number")
		}
		didID := didIDOf(t, n)
		id := cancelRowID(didID)
		rec, err := f.c.journalCancel(ctx, didID, n.Number)
		if err != nil || rec.State != cancelSent {
			t.Fatalf("cancel row reused as %+v, %v", rec, err)
		}
		if own, err := f.c.ownCancel(ctx, didID); err != nil || !own {
			t.Fatalf("rewritten row not own: %v, %v", own, err)
		}
		if err := f.c.DisconnectNumber(ctx, n); err != nil {
			t.Fatal(err)
		}
		if row, err := f.store.GetJournal(ctx, id); err != nil || row.State != cancelDone {
			t.Fatalf("cancel row %+v, %v", row, err)
		}
		if c := f.e.Calls("cancel"); c != 2 {
			t.Errorf("%d cancels, want 2", c)
		}
	})
}

// TestReleaseClientGone: the client hangs up as the cancel is sent; the cancel and its
// re-check still finish, so knm lets go of the number Voxbone cancelled.
func TestReleaseClientGone(t *testing.T) {
	t.Parallel()
	f := newFixture(t, emulator.Config{})
	rows, err := search256(context.Background(), f.c, 1)
	if err != nil || len(rows) != 1 {
		t.Fatal(rows, err)
	}
	n, _ := f.store.GetNumber(context.Background(), rows[0].Number)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if endpointOf(r) == "cancel" {
			f.e.ServeHTTP(httptest.NewRecorder(), r) // the cancel happens
			cancel()                                 // the client hangs up
			panic(http.ErrAbortHandler)              // and the answer is lost
		}
		f.e.ServeHTTP(w, r)
	}))
	defer srv.Close()
	c := newTestCarrier(t, testSettings(srv.URL), Deps{Store: f.store})
	if err := c.DisconnectNumber(ctx, n); err != nil {
		t.Fatalf("release with the client gone: %v", err)
	}
	if len(f.e.DIDs()) != 0 {
		t.Errorf("DID not cancelled")
	}
}
