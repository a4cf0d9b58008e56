package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// pipelinedTx is a transaction whose BEGIN travels with its first statement and whose
// COMMIT travels with its last (commitWith), as pgx batches: a number write and its event
// then cost two round trips to the server instead of four. It is a querier, so the same
// write code runs inside it or on a bare connection.
type pipelinedTx struct {
	c     *pgx.Conn
	begun bool
}

var _ querier = (*pipelinedTx)(nil)

// first sends "begin" and the statement in one batch and returns the batch's results
// positioned at the statement's.
func (t *pipelinedTx) first(ctx context.Context, sql string, args []any) (pgx.BatchResults, error) {
	t.begun = true
	b := &pgx.Batch{}
	b.Queue("begin")
	b.Queue(sql, args...)
	br := t.c.SendBatch(ctx, b)
	if _, err := br.Exec(); err != nil {
		br.Close()
		return nil, err
	}
	return br, nil
}

func (t *pipelinedTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if t.begun {
		return t.c.Exec(ctx, sql, args...)
	}
	br, err := t.first(ctx, sql, args)
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	tag, err := br.Exec()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return tag, err
}

func (t *pipelinedTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if t.begun {
		return t.c.QueryRow(ctx, sql, args...)
	}
	br, err := t.first(ctx, sql, args)
	if err != nil {
		return errRow{err}
	}
	return batchRow{br}
}

func (t *pipelinedTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if !t.begun {
		t.begun = true
		if _, err := t.c.Exec(ctx, "begin"); err != nil {
			return nil, err
		}
	}
	return t.c.Query(ctx, sql, args...)
}

// commitWith runs the transaction's last statement and commits, in one round trip.
func (t *pipelinedTx) commitWith(ctx context.Context, sql string, args []any) error {
	b := &pgx.Batch{}
	b.Queue(sql, args...)
	b.Queue("commit")
	return t.c.SendBatch(ctx, b).Close()
}

// rollback ends a transaction left open by a failure; a connection that cannot is not
// reused by the pool (it drops connections not idle on release).
func (t *pipelinedTx) rollback(ctx context.Context) {
	if t.c.PgConn().TxStatus() != 'I' {
		t.c.Exec(context.WithoutCancel(ctx), "rollback")
	}
}

// batchRow is the row of a batched statement; scanning it closes the batch.
type batchRow struct{ br pgx.BatchResults }

func (r batchRow) Scan(dest ...any) error {
	err := r.br.QueryRow().Scan(dest...)
	if cerr := r.br.Close(); err == nil {
		err = cerr
	}
	return err
}

// errRow is a row that failed before it was read.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }
