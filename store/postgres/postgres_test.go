package postgres_test

import (
	"context"
	"sync"
	"testing"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/internal/pgtest"
	"github.com/knmproject/knm/store/postgres"
	"github.com/knmproject/knm/store/storetest"
)

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) knm.Store {
		s, err := postgres.Open(context.Background(), pgtest.FreshSchemaDSN(t), postgres.WithClock(storetest.Clock(t).Now))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestStoreRestarts(t *testing.T) {
	storetest.RunRestarts(t, func(t *testing.T) func() knm.Store {
		dsn := pgtest.FreshSchemaDSN(t)
		return func() knm.Store {
			s, err := postgres.Open(context.Background(), dsn, postgres.WithClock(storetest.Clock(t).Now))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}
	})
}

// TestConcurrentOpen opens one fresh schema from several stores at once, as several knm
// instances starting together would: the advisory lock lets one migrate and the others
// find the work done.
func TestConcurrentOpen(t *testing.T) {
	dsn := pgtest.FreshSchemaDSN(t)
	stores := make([]*postgres.Store, 4)
	errs := make([]error, len(stores))
	var wg sync.WaitGroup
	for i := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stores[i], errs[i] = postgres.Open(context.Background(), dsn)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		defer stores[i].Close()
	}
	ctx := context.Background()
	if err := stores[0].CreateNumber(ctx, &knm.Number{Number: "+14155550100", State: knm.StateAvailable}); err != nil {
		t.Fatal(err)
	}
	if _, err := stores[3].GetNumber(ctx, "+14155550100"); err != nil {
		t.Fatalf("a number written through one store is not seen through another: %v", err)
	}
}

func TestOpenBadDSN(t *testing.T) {
	_, err := postgres.Open(context.Background(), "postgres://%zz")
	if !knm.IsErrorName(err, knm.ErrInvalid) {
		t.Fatalf("bad DSN: got %v, want an invalid error", err)
	}
}
