package sqlite_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/store/sqlite"
	"github.com/knmproject/knm/store/storetest"
)

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) knm.Store {
		s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "knm.db"),
			sqlite.WithClock(storetest.Clock(t).Now))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestMemoryStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) knm.Store {
		s, err := sqlite.Open(context.Background(), ":memory:", sqlite.WithClock(storetest.Clock(t).Now))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// TestConcurrentOpen opens one fresh file from several stores at once, as several knm
// processes starting together would: every one migrates or finds the work done.
func TestConcurrentOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "knm.db")
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := sqlite.Open(context.Background(), path)
			if err == nil {
				err = s.Close()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	s, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.CreateNumber(context.Background(), &knm.Number{Number: "+1", State: knm.StateAvailable}); err != nil {
		t.Fatal(err)
	}
}
