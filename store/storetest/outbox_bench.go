package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/manager"
)

// BenchOutbox runs the benchmarks of what the outbox costs, Activate and Import. open
// returns a fresh store of the backend, writing events when outbox is true; the backends
// switch event writing off only for this.
func BenchOutbox(b *testing.B, open func(b *testing.B, outbox bool) knm.Store) {
	b.Run("Activate", func(b *testing.B) { BenchActivate(b, open(b, true), open(b, false)) })
	b.Run("Import", func(b *testing.B) { BenchImport(b, open(b, true), open(b, false)) })
}

// BenchActivate measures what the outbox costs a single-number activate (available ->
// in_service for an account, through the number manager, as the API does it): with is a
// store writing events, without the same backend with event writing switched off. The two
// run alternately, one activate each in turn, so both see the same machine load; the
// reported outbox-ratio is with/without.
func BenchActivate(b *testing.B, with, without knm.Store) {
	ctx := context.Background()
	acct := accountID(1)
	mgrs := make([]*manager.Manager, 2)
	for i, s := range []knm.Store{with, without} {
		if err := s.CreateAccount(ctx, &knm.Account{ID: acct, Name: "bench", Enabled: true}); err != nil {
			b.Fatal(err)
		}
		ns := make([]*knm.Number, b.N)
		for j := range ns {
			ns[j] = &knm.Number{Number: benchNumber(j), State: knm.StateAvailable, ModuleName: "knm_local"}
		}
		for len(ns) > 0 {
			k := min(len(ns), 10000)
			if _, err := s.ImportNumbers(ctx, ns[:k]); err != nil {
				b.Fatal(err)
			}
			ns = ns[k:]
		}
		m, err := manager.New(manager.Options{Store: s})
		if err != nil {
			b.Fatal(err)
		}
		mgrs[i] = m
	}
	var spent [2]time.Duration
	b.ResetTimer()
	for j := range b.N {
		for i, m := range mgrs {
			start := time.Now()
			if _, err := m.Activate(ctx, knm.SystemAccountID, benchNumber(j), acct); err != nil {
				b.Fatal(err)
			}
			spent[i] += time.Since(start)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(spent[0].Nanoseconds())/float64(b.N), "ns/activate-outbox")
	b.ReportMetric(float64(spent[1].Nanoseconds())/float64(b.N), "ns/activate-no-outbox")
	b.ReportMetric(float64(spent[0])/float64(spent[1]), "outbox-ratio")
}

func benchNumber(i int) string { return fmt.Sprintf("+1415%07d", i) }

// importBatch is the size of one BenchImport batch.
const importBatch = 5000

// BenchImport measures what the outbox costs a bulk import: each iteration imports one
// batch of importBatch new numbers into with and into without, alternately; the reported
// outbox-ratio is with/without.
func BenchImport(b *testing.B, with, without knm.Store) {
	ctx := context.Background()
	var spent [2]time.Duration
	for j := range b.N {
		for i, s := range []knm.Store{with, without} {
			ns := make([]*knm.Number, importBatch)
			for k := range ns {
				ns[k] = &knm.Number{Number: benchNumber(j*importBatch + k), State: knm.StateAvailable, ModuleName: "knm_inventory"}
			}
			start := time.Now()
			if _, err := s.ImportNumbers(ctx, ns); err != nil {
				b.Fatal(err)
			}
			spent[i] += time.Since(start)
		}
	}
	n := float64(b.N * importBatch)
	b.ReportMetric(n/spent[0].Seconds(), "numbers/s-outbox")
	b.ReportMetric(n/spent[1].Seconds(), "numbers/s-no-outbox")
	b.ReportMetric(float64(spent[0])/float64(spent[1]), "outbox-ratio")
}
