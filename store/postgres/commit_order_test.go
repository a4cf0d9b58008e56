package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/internal/pgtest"
	"github.com/knmproject/knm/store/postgres"
)

// TestEventIDsFollowCommitOrder: while a transaction that has taken the next event id is
// still open (it holds the id counter's row), another number write cannot take an id nor
// commit its event, so a reader sees no event past the open one; once it ends, the write
// gets the next id. This is what lets outbox consumers keep a plain "last id" cursor: an
// event can never appear later below an id a reader has already passed.
func TestEventIDsFollowCommitOrder(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dsn := pgtest.FreshSchemaDSN(t)
	s, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	n := &knm.Number{Number: "+14155550100", State: knm.StateAvailable}
	if err := s.CreateNumber(ctx, n); err != nil {
		t.Fatal(err)
	}
	slow, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close(ctx)
	tx, err := slow.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var taken int64
	if err := tx.QueryRow(ctx, `UPDATE number_event_counter SET last_id = last_id + 1 RETURNING last_id`).
		Scan(&taken); err != nil || taken != 2 {
		t.Fatalf("the slow transaction took id %d: %v", taken, err)
	}
	done := make(chan error, 1)
	go func() {
		n.UsedBy = "callflow"
		done <- s.UpdateNumber(ctx, n)
	}()
	waitForBlocked(ctx, t, dsn, slow.PgConn().PID())
	if evs, err := s.Events(ctx, 1, 10); err != nil || len(evs) != 0 {
		t.Fatalf("a reader sees %d events past the open transaction's id: %v", len(evs), err)
	}
	select {
	case err := <-done:
		t.Fatalf("the write committed while an earlier id was open: %v", err)
	default:
	}
	if err := tx.Rollback(ctx); err != nil { // the slow transaction fails: its id is not used
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	evs, err := s.Events(ctx, 1, 10)
	if err != nil || len(evs) != 1 || evs[0].ID != 2 || evs[0].Number != n.Number {
		t.Fatalf("after the slow transaction: %v, %v; want the update as event 2", evs, err)
	}
}

// waitForBlocked waits until a backend waits for a lock held by the backend pid (the write
// queued behind the open transaction). It watches from a connection of its own: a session
// inside a transaction sees pg_stat_activity as it was when the transaction began.
func waitForBlocked(ctx context.Context, t *testing.T, dsn string, pid uint32) {
	t.Helper()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for {
		var waiting int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))`,
			int(pid)).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting > 0 {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatal("the write never queued behind the open transaction")
		case <-time.After(10 * time.Millisecond):
		}
	}
}
