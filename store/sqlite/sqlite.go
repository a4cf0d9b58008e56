// Package sqlite is knm's embedded store: knm.Store on a single SQLite file, in pure Go
// (modernc.org/sqlite, no cgo).
//
// SQLite allows one writer at a time. The store therefore keeps one connection for every
// write, whose transactions begin IMMEDIATE, and a pool of read-only connections that WAL
// lets run beside it. Writers of one process queue on that connection instead of failing
// with SQLITE_BUSY; writers of other processes wait up to the busy timeout.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"slices"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/store/internal/sqlcommon"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is a knm.Store backed by SQLite.
type Store struct {
	wdb *sql.DB // one connection: every write goes through it
	rdb *sql.DB // read-only connections; the same as wdb for ":memory:"
	now func() time.Time
	// outbox is whether number writes append their events. Always true outside the
	// benchmark that measures what the outbox costs.
	outbox bool
	stmts  *statements // prepared on wdb

	stopCheckpoints func() // stops the background checkpointer (nil for ":memory:")
}

// checkpointEvery is how often the background checkpointer copies the WAL into the
// database file. SQLite otherwise checkpoints inside the commit that crosses
// wal_autocheckpoint pages, adding that copy to one unlucky request's latency; done in the
// background it is off every request's path. The commit-time checkpoint stays as a safety
// net, at a threshold the background one keeps the WAL far below.
const checkpointEvery = 250 * time.Millisecond

var _ knm.Store = (*Store)(nil)

// Option configures a Store.
type Option func(*options)

type options struct {
	now         func() time.Time
	busyTimeout time.Duration
	readConns   int
	synchronous string
}

// WithClock sets the clock used for Created/Modified times and search-cache expiry
// (default time.Now). Tests inject one to expire cached searches.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithBusyTimeout sets how long a write waits for another process holding the database
// (default 10s).
func WithBusyTimeout(d time.Duration) Option { return func(o *options) { o.busyTimeout = d } }

// WithReadConns sets the number of read connections (default: GOMAXPROCS, at least 4).
func WithReadConns(n int) Option { return func(o *options) { o.readConns = n } }

// WithSynchronous sets PRAGMA synchronous (default NORMAL, which under WAL loses at most
// the last transactions on power loss and never corrupts; FULL syncs every commit).
func WithSynchronous(mode string) Option { return func(o *options) { o.synchronous = mode } }

// Open opens (creating if needed) the SQLite database at path and applies any pending
// migrations. Path ":memory:" gives a private in-memory database on a single connection.
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	o := options{now: time.Now, busyTimeout: 10 * time.Second, readConns: max(4, runtime.GOMAXPROCS(0)),
		synchronous: "NORMAL"}
	for _, opt := range opts {
		opt(&o)
	}
	if path == "" {
		return nil, knm.Errorf(knm.ErrInvalid, "sqlite: empty database path")
	}
	s := &Store{now: o.now, outbox: true}
	pragmas := []string{
		fmt.Sprintf("busy_timeout(%d)", o.busyTimeout.Milliseconds()),
		"foreign_keys(1)",
		"synchronous(" + o.synchronous + ")",
		"cache_size(-65536)", // 64 MiB of page cache per connection
	}
	var err error
	if path == ":memory:" {
		// Each connection to ":memory:" is a separate database: keep exactly one.
		s.wdb, err = openDB("file::memory:", pragmas, "immediate")
		if err != nil {
			return nil, err
		}
		s.wdb.SetMaxOpenConns(1)
		s.rdb = s.wdb
	} else {
		file := "file:" + (&url.URL{Path: path}).EscapedPath()
		// After busy_timeout, so that switching a new file to WAL waits for a process
		// doing the same instead of failing.
		walPragmas := append(slices.Clone(pragmas), "journal_mode(WAL)", "wal_autocheckpoint(16384)")
		if s.wdb, err = openDB(file, walPragmas, "immediate"); err != nil {
			return nil, err
		}
		s.wdb.SetMaxOpenConns(1)
		if s.rdb, err = openDB(file, append(walPragmas, "query_only(1)"), ""); err != nil {
			s.wdb.Close()
			return nil, err
		}
		s.rdb.SetMaxOpenConns(o.readConns)
		s.rdb.SetMaxIdleConns(o.readConns)
		cdb, err := openDB(file, walPragmas, "")
		if err != nil {
			s.wdb.Close()
			s.rdb.Close()
			return nil, err
		}
		cdb.SetMaxOpenConns(1)
		s.stopCheckpoints = checkpointInBackground(cdb)
	}
	s.wdb.SetMaxIdleConns(1)
	s.wdb.SetConnMaxLifetime(0)
	if err := s.migrateWhenFree(ctx, o.busyTimeout); err != nil {
		s.Close()
		return nil, err
	}
	if s.stmts, err = prepareStatements(ctx, s.wdb); err != nil {
		s.Close()
		return nil, wrap("prepare statements", err)
	}
	return s, nil
}

// checkpointInBackground runs a PASSIVE checkpoint (which never waits for readers or the
// writer) on its own connection every checkpointEvery, until the returned stop is called;
// stop then closes the connection.
func checkpointInBackground(cdb *sql.DB) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(checkpointEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				// A failure (the file busy or gone) is retried at the next tick, and the
				// commit-time checkpoint still bounds the WAL.
				cdb.ExecContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`)
			}
		}
	}()
	return func() {
		cancel()
		<-done
		cdb.Close()
	}
}

// migrateWhenFree runs migrate, retrying while the file is busy. The busy timeout covers
// ordinary lock waits, but SQLite answers SQLITE_BUSY at once, without calling the busy
// handler, when two processes open a brand-new file together and both switch it to WAL.
func (s *Store) migrateWhenFree(ctx context.Context, patience time.Duration) error {
	deadline := time.Now().Add(patience)
	for wait := 5 * time.Millisecond; ; wait = min(2*wait, 200*time.Millisecond) {
		err := s.migrate(ctx)
		if !isBusy(err) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return err
		}
	}
}

func openDB(file string, pragmas []string, txlock string) (*sql.DB, error) {
	q := url.Values{}
	for _, p := range pragmas {
		q.Add("_pragma", p)
	}
	if txlock != "" {
		q.Set("_txlock", txlock)
	}
	db, err := sql.Open("sqlite", file+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", file, err)
	}
	return db, nil
}

// Close releases the store's connections.
func (s *Store) Close() error {
	if s.stopCheckpoints != nil {
		s.stopCheckpoints()
	}
	var err error
	if s.stmts != nil {
		err = s.stmts.Close()
	}
	err = errors.Join(err, s.wdb.Close())
	if s.rdb != s.wdb {
		err = errors.Join(err, s.rdb.Close())
	}
	return err
}

// migrate applies the embedded migrations not yet recorded in schema_migrations, in
// order, in one IMMEDIATE transaction: a second process opening the same file waits for
// the first (busy timeout) and then finds nothing left to do. It twins PostgreSQL's migrate
// in this dialect, kept apart like every statement of the two backends.
func (s *Store) migrate(ctx context.Context) error {
	return s.write(ctx, "migrate", func(tx *sql.Tx) error {
		ms, err := sqlcommon.Migrations(migrations)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
			return err
		}
		for _, m := range ms {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`,
				m.Version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				continue
			}
			if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
				return fmt.Errorf("%s: %w", m.Name, err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`,
				m.Version, s.now().Unix()); err != nil {
				return err
			}
		}
		return nil
	})
}

// write runs f in a transaction on the write connection. Errors that are already
// *knm.Error pass through; driver errors are wrapped with op.
func (s *Store) write(ctx context.Context, op string, f func(tx *sql.Tx) error) error {
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return wrap(op, err)
	}
	if err := f(tx); err != nil {
		tx.Rollback()
		return wrap(op, err)
	}
	if err := tx.Commit(); err != nil {
		return wrap(op, err)
	}
	return nil
}

// wrap adds the backend and operation to a driver error and leaves knm errors as they are.
func wrap(op string, err error) error { return sqlcommon.Wrap("sqlite", op, err) }

// queryOne runs a read query and scans its one row with scan; notFound when there is
// none.
func queryOne[T any](ctx context.Context, s *Store, op string, notFound error, scan func(sqlcommon.Scanner) (T, error),
	query string, args ...any) (T, error) {
	v, err := scan(s.rdb.QueryRowContext(ctx, query, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return v, notFound
	}
	return v, wrap(op, err)
}

// queryAll runs a read query and scans every row with scan.
func queryAll[T any](ctx context.Context, s *Store, op, query string, args []any,
	scan func(sqlcommon.Scanner) (T, error)) ([]T, error) {
	rows, err := s.rdb.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	out, err := sqlcommon.Collect(rows, scan)
	return out, wrap(op, err)
}

// execOne runs a write that must change a row; when it changes none, the error is none().
func execOne(ctx context.Context, tx *sql.Tx, none func() error, query string, args ...any) error {
	res, err := tx.ExecContext(ctx, query, args...)
	if err != nil {
		return err
	}
	if k, err := res.RowsAffected(); err != nil {
		return err
	} else if k == 0 {
		return none()
	}
	return nil
}

// updateAtRev runs a revision-guarded UPDATE … RETURNING rev, created and returns them;
// when it matches no row, the error is none() (see missed).
func updateAtRev(ctx context.Context, tx *sql.Tx, none func() error, query string,
	args ...any) (int64, time.Time, error) {
	var rev, created int64
	err := tx.QueryRowContext(ctx, query, args...).Scan(&rev, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, time.Time{}, none()
	}
	return rev, fromUnix(created), err
}

// missed tells why a revision-guarded write matched no row: notFound when the row is
// gone, ErrConflict naming what otherwise.
func (s *Store) missed(ctx context.Context, tx *sql.Tx, table, where string, args []any, notFound error,
	what string) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM `+table+` WHERE `+where, args...).Scan(&n); err != nil {
		return err
	}
	return sqlcommon.Missed(n > 0, notFound, what)
}

// isUniqueViolation reports whether err is a UNIQUE or PRIMARY KEY constraint failure.
func isUniqueViolation(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

// isBusy reports whether err is SQLITE_BUSY (or one of its extended codes).
func isBusy(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_BUSY
}

// unix returns t as stored: Unix seconds, 0 for the zero time.
func unix(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

// fromUnix is the inverse of unix.
func fromUnix(sec int64) time.Time {
	if sec == 0 {
		return time.Time{}
	}
	return time.Unix(sec, 0).UTC()
}

// placeholder renders SQLite's positional parameter.
func placeholder(int) string { return "?" }
