// Package postgres is knm's shared store: knm.Store on PostgreSQL (pgx), for several knm
// instances using one database.
//
// Every revision-guarded write is a single UPDATE … WHERE rev = $n. Under READ COMMITTED a
// concurrent writer of the same row waits for the first to commit, re-checks the WHERE
// clause against the new row and matches nothing, so exactly one of two racing instances
// wins and the other gets knm.ErrConflict.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/knmproject/knm"
	"github.com/knmproject/knm/store/internal/sqlcommon"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is a knm.Store backed by PostgreSQL.
type Store struct {
	pool *pgxpool.Pool
	now  func() time.Time
	// outbox is whether number writes append their events. Always true outside the
	// benchmark that measures what the outbox costs.
	outbox bool
}

var _ knm.Store = (*Store)(nil)

// Option configures a Store.
type Option func(*options)

type options struct {
	now      func() time.Time
	maxConns int
}

// WithClock sets the clock used for Created/Modified times and search-cache expiry
// (default time.Now). Tests inject one to expire cached searches.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithMaxConns sets the most connections the store opens (default 2×GOMAXPROCS, at
// least 8).
func WithMaxConns(n int) Option { return func(o *options) { o.maxConns = n } }

// Open connects to the database named by dsn (a postgres:// URL or key=value string; its
// search_path, if any, picks the schema) and applies any pending migrations.
func Open(ctx context.Context, dsn string, opts ...Option) (*Store, error) {
	o := options{now: time.Now, maxConns: max(8, 2*runtime.GOMAXPROCS(0))}
	for _, opt := range opts {
		opt(&o)
	}
	pool, err := newPool(ctx, dsn, max(1, o.maxConns))
	if err != nil {
		return nil, knm.Errorf(knm.ErrInvalid, "postgres: bad DSN").Wrap(err)
	}
	s := &Store{pool: pool, now: o.now, outbox: true}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Close releases the store's connections.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// withTx runs f in a READ COMMITTED transaction on a pooled connection; any error rolls
// it back.
func (s *Store) withTx(ctx context.Context, op string, f func(tx pgx.Tx) error) error {
	return s.withConn(ctx, op, func(c *pgx.Conn) error {
		return pgx.BeginTxFunc(ctx, c, pgx.TxOptions{}, f)
	})
}

// migrate applies the embedded migrations not yet recorded in schema_migrations. A
// transaction-scoped advisory lock, keyed by the schema, makes processes that open the
// same database at once take turns: the later ones find nothing left to do. It twins
// SQLite's migrate in this dialect, kept apart like every statement of the two backends.
func (s *Store) migrate(ctx context.Context) error {
	return s.withTx(ctx, "migrate", func(tx pgx.Tx) error {
		ms, err := sqlcommon.Migrations(migrations)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx,
			`SELECT pg_advisory_xact_lock(hashtext('knm_migrate:' || coalesce(current_schema(), '')))`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version integer PRIMARY KEY, applied_at timestamptz NOT NULL)`); err != nil {
			return err
		}
		for _, m := range ms {
			var done bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)`,
				m.Version).Scan(&done); err != nil {
				return err
			}
			if done {
				continue
			}
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return fmt.Errorf("%s: %w", m.Name, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`, m.Version,
				s.now()); err != nil {
				return err
			}
		}
		return nil
	})
}

// wrap adds the backend and operation to a driver error and leaves knm errors as they are.
func wrap(op string, err error) error { return sqlcommon.Wrap("postgres", op, err) }

// isUniqueViolation reports whether err is SQLSTATE 23505 (unique_violation).
func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// placeholder renders PostgreSQL's positional parameter.
func placeholder(i int) string { return "$" + strconv.Itoa(i) }

// keptCreated is the created argument of an update: nil keeps the stored time (coalesce),
// which a zero t asks for.
func keptCreated(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	c := sqlcommon.Sec(t)
	return &c
}

// utc returns a scanned timestamp in UTC, as the SQLite store returns it.
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC()
}
