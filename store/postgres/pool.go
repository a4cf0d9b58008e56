package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/knmproject/knm/store/internal/sqlcommon"
)

// pingAfter is how long a connection may sit idle before it is pinged on reuse, so that a
// server restart or a dropped connection costs a ping instead of a failed call. A
// variable so tests can make every reuse check.
var pingAfter = time.Second

// newPool returns a pgxpool pool for cfg with at most maxConns connections.
func newPool(ctx context.Context, dsn string, maxConns int) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	cfg.MaxConns = int32(maxConns)
	cfg.ShouldPing = func(_ context.Context, p pgxpool.ShouldPingParams) bool {
		return p.IdleDuration >= pingAfter
	}
	return pgxpool.NewWithConfig(ctx, cfg)
}

// withConn runs f on a pooled connection.
func (s *Store) withConn(ctx context.Context, op string, f func(c *pgx.Conn) error) error {
	return wrap(op, s.pool.AcquireFunc(ctx, func(c *pgxpool.Conn) error { return f(c.Conn()) }))
}

// queryOne runs a query on a pooled connection and scans its one row with scan;
// notFound when there is none.
func queryOne[T any](ctx context.Context, s *Store, op string, notFound error, scan func(sqlcommon.Scanner) (T, error),
	query string, args ...any) (T, error) {
	var v T
	err := s.withConn(ctx, op, func(c *pgx.Conn) (err error) {
		v, err = scan(c.QueryRow(ctx, query, args...))
		if errors.Is(err, pgx.ErrNoRows) {
			return notFound
		}
		return err
	})
	return v, err
}

// queryAll runs a query on a pooled connection and scans every row with scan.
func queryAll[T any](ctx context.Context, s *Store, op, query string, args []any,
	scan func(sqlcommon.Scanner) (T, error)) ([]T, error) {
	var out []T
	err := s.withConn(ctx, op, func(c *pgx.Conn) error {
		rows, err := c.Query(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		out, err = sqlcommon.Collect(rows, scan)
		return err
	})
	return out, err
}

// execOne runs a write that must change a row; when it changes none, the error is none().
func execOne(ctx context.Context, c querier, none func() error, query string, args ...any) error {
	tag, err := c.Exec(ctx, query, args...)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return none()
	}
	return nil
}

// updateAtRev runs a revision-guarded UPDATE … RETURNING rev, created and returns them;
// when it matches no row, the error is none() (see missed).
func updateAtRev(ctx context.Context, c *pgx.Conn, none func() error, query string,
	args ...any) (int64, time.Time, error) {
	var (
		rev     int64
		created time.Time
	)
	err := c.QueryRow(ctx, query, args...).Scan(&rev, &created)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, time.Time{}, none()
	}
	return rev, utc(created), err
}

// missed tells why a revision-guarded write matched no row: notFound when the row is
// gone (exists is a SELECT EXISTS query), ErrConflict naming what otherwise.
func missed(ctx context.Context, c querier, exists string, args []any, notFound error, what string) error {
	var found bool
	if err := c.QueryRow(ctx, exists, args...).Scan(&found); err != nil {
		return err
	}
	return sqlcommon.Missed(found, notFound, what)
}

// querier is what a connection and a transaction share: a write runs on either, in a
// transaction when it must append an event too.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

var (
	_ querier = (*pgx.Conn)(nil)
	_ querier = (pgx.Tx)(nil)
)
