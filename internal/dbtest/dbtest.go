// Package dbtest opens real stores for the tests of packages built on knm.Store: a fresh
// SQLite file or PostgreSQL schema per test, on a clock the test can move forward, and
// as many store handles on it as the test wants (a restarted or a second instance).
package dbtest

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/internal/pgtest"
	"github.com/knmproject/knm/store/postgres"
	"github.com/knmproject/knm/store/sqlite"
)

// Clock is real time plus an offset a test moves forward, to expire leases as if
// minutes had passed while everything else keeps running in real time.
type Clock struct{ offset atomic.Int64 }

// Now returns the clock's time.
func (c *Clock) Now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

// DB is a fresh database of one backend.
type DB struct {
	Name  string // "sqlite" or "postgres"
	Clock *Clock
	// Open returns a new store on the database, closed when t ends.
	Open func(t testing.TB) knm.Store
}

// SQLite returns a fresh SQLite database in a file of t's temporary directory.
func SQLite(t testing.TB) DB {
	c := &Clock{}
	path := filepath.Join(t.TempDir(), "knm.db")
	return DB{Name: "sqlite", Clock: c, Open: func(t testing.TB) knm.Store {
		s, err := sqlite.Open(context.Background(), path, sqlite.WithClock(c.Now))
		return opened(t, s, err)
	}}
}

// Postgres returns a fresh PostgreSQL schema, dropped when t ends; it skips or fails as
// pgtest.FreshSchemaDSN says.
func Postgres(t testing.TB) DB {
	c := &Clock{}
	dsn := pgtest.FreshSchemaDSN(t)
	return DB{Name: "postgres", Clock: c, Open: func(t testing.TB) knm.Store {
		s, err := postgres.Open(context.Background(), dsn, postgres.WithClock(c.Now))
		return opened(t, s, err)
	}}
}

// ForEach runs body in parallel subtests "sqlite" and "postgres", each on a fresh
// database of its backend.
func ForEach(t *testing.T, body func(t *testing.T, db DB)) {
	for name, fresh := range map[string]func(testing.TB) DB{"sqlite": SQLite, "postgres": Postgres} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			body(t, fresh(t))
		})
	}
}

func opened(t testing.TB, s knm.Store, err error) knm.Store {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
