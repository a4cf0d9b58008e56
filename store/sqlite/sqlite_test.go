package sqlite_test

import (
	"context"
	"fmt"
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

func TestStoreRestarts(t *testing.T) {
	storetest.RunRestarts(t, func(t *testing.T) func() knm.Store {
		path := filepath.Join(t.TempDir(), "knm.db")
		return func() knm.Store {
			s, err := sqlite.Open(context.Background(), path, sqlite.WithClock(storetest.Clock(t).Now))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}
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

// TestTwoStoresRace races writers of two stores on one file, as two knm processes
// sharing a database would: SQLite's lock and the busy timeout must turn that into
// clean conflicts, never SQLITE_BUSY.
func TestTwoStoresRace(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "knm.db")
	var stores [2]*sqlite.Store
	for i := range stores {
		s, err := sqlite.Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		stores[i] = s
	}
	const numbers, racers = 20, 10
	for i := range numbers {
		n := &knm.Number{Number: fmt.Sprintf("+1415555%04d", i), State: knm.StateAvailable}
		if err := stores[0].CreateNumber(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		wins = map[string]int{}
	)
	for r := range racers {
		for i := range numbers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s := stores[r%2]
				num := fmt.Sprintf("+1415555%04d", i)
				n, err := s.GetNumber(ctx, num)
				if err != nil {
					t.Error(err)
					return
				}
				if n.State != knm.StateAvailable {
					return // someone already won
				}
				n.State, n.AssignedTo = knm.StateInService, fmt.Sprintf("%032x", r+1)
				err = s.UpdateNumber(ctx, n)
				if err != nil && !knm.IsErrorName(err, knm.ErrConflict) {
					t.Errorf("update %s: %v", num, err)
				}
				if err == nil {
					mu.Lock()
					wins[num]++
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	for i := range numbers {
		num := fmt.Sprintf("+1415555%04d", i)
		if wins[num] != 1 {
			t.Errorf("%s won %d times, want 1", num, wins[num])
		}
	}
}
