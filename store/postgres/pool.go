package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
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
