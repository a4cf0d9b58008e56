// The statements here have twins in store/postgres/events.go in the other dialect, kept apart on purpose so each
// backend reads as plain SQL of its own; storetest holds both to one behaviour.

package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"math"
	"strings"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/store/internal/sqlcommon"
)

// Every write goes through the one write connection, so events are numbered in commit
// order without any further lock.

const insertEvent = `INSERT INTO number_events (type, number, account_before, account_after, state_before,
	state_after, module_name, rev, detail, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// execer is a transaction or a prepared statement's Exec with the statement bound.
type execer func(ctx context.Context, args ...any) (sql.Result, error)

// writeEvent inserts e, stamped now, through exec.
func writeEvent(ctx context.Context, exec execer, e *knm.Event, now time.Time) error {
	detail, err := sqlcommon.EventDetail(e)
	if err != nil {
		return err
	}
	_, err = exec(ctx, string(e.Type), e.Number, e.AccountBefore, e.AccountAfter, string(e.StateBefore),
		string(e.StateAfter), e.Module, e.Rev, detail, unixMilli(now))
	return err
}

// appendEvent writes the event of a number change inside the change's transaction.
func (s *Store) appendEvent(ctx context.Context, tx *sql.Tx, e *knm.Event) error {
	return writeEvent(ctx, tx.StmtContext(ctx, s.stmts.insertEvent).ExecContext, e, s.now())
}

// eventBatch writes the events of a bulk change, eventRows at a time through one
// prepared multi-row INSERT: an import then costs a fraction of a statement per event.
type eventBatch struct {
	tx   *sql.Tx
	stmt *sql.Stmt // eventRows rows
	rows []any     // the arguments of the events not yet written
	now  int64
	on   bool
}

// eventRows is how many events one INSERT of a batch writes (10 parameters each, well
// within SQLite's limit on parameters).
const eventRows = 100

// insertEvents returns the INSERT of k events.
func insertEvents(k int) string {
	return insertEvent + strings.Repeat(`, (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, k-1)
}

// prepareEvents returns the writer of a bulk change's events (one that writes nothing
// when the outbox is off). Close flushes the events still buffered.
func (s *Store) prepareEvents(ctx context.Context, tx *sql.Tx) (*eventBatch, error) {
	b := &eventBatch{tx: tx, now: unixMilli(s.now()), on: s.outbox}
	if !b.on {
		return b, nil
	}
	stmt, err := tx.PrepareContext(ctx, insertEvents(eventRows))
	if err != nil {
		return nil, err
	}
	b.stmt = stmt
	return b, nil
}

func (b *eventBatch) add(ctx context.Context, e *knm.Event) error {
	if !b.on {
		return nil
	}
	detail, err := sqlcommon.EventDetail(e)
	if err != nil {
		return err
	}
	b.rows = append(b.rows, string(e.Type), e.Number, e.AccountBefore, e.AccountAfter, string(e.StateBefore),
		string(e.StateAfter), e.Module, e.Rev, detail, b.now)
	if len(b.rows) == 10*eventRows {
		_, err = b.stmt.ExecContext(ctx, b.rows...)
		b.rows = b.rows[:0]
	}
	return err
}

// flush writes the events still buffered.
func (b *eventBatch) flush(ctx context.Context) error {
	if len(b.rows) == 0 {
		return nil
	}
	_, err := b.tx.ExecContext(ctx, insertEvents(len(b.rows)/10), b.rows...)
	b.rows = b.rows[:0]
	return err
}

func (b *eventBatch) Close() {
	if b.stmt != nil {
		b.stmt.Close()
	}
}

// importEvent is the event of a number stored by ImportNumbers.
func importEvent(n *knm.Number) *knm.Event {
	e := knm.NumberEvent(nil, n)
	e.Type, e.Rev = knm.EventNumberImported, 1
	return e
}

func scanEvent(row sqlcommon.Scanner) (*knm.Event, error) {
	return sqlcommon.ScanEvent(row, fromUnixMilli)
}

func scanEventCursor(row sqlcommon.Scanner) (*knm.EventCursor, error) {
	return sqlcommon.ScanEventCursor(row, fromUnixMilli)
}

// Events returns up to limit events with ID > afterID, in ID order.
func (s *Store) Events(ctx context.Context, afterID int64, limit int) ([]*knm.Event, error) {
	if limit <= 0 {
		return nil, knm.Errorf(knm.ErrInvalid, "events: limit must be positive")
	}
	return queryAll(ctx, s, "events", `SELECT `+sqlcommon.EventColumns+` FROM number_events WHERE id > ?
		ORDER BY id LIMIT ?`, []any{afterID, limit}, scanEvent)
}

// lastEventIDQuery reads the AUTOINCREMENT counter, which survives the purge of the newest
// events.
const lastEventIDQuery = `SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'number_events'), 0)`

// NumberEvents returns up to limit events of number with ID < beforeID (any when
// beforeID <= 0), newest first, from the (number, id) index.
func (s *Store) NumberEvents(ctx context.Context, number string, beforeID int64, limit int) ([]*knm.Event, error) {
	if limit <= 0 {
		return nil, knm.Errorf(knm.ErrInvalid, "number events: limit must be positive")
	}
	if beforeID <= 0 {
		beforeID = math.MaxInt64
	}
	return queryAll(ctx, s, "number events", `SELECT `+sqlcommon.EventColumns+` FROM number_events
		WHERE number = ? AND id < ? ORDER BY id DESC LIMIT ?`, []any{number, beforeID, limit}, scanEvent)
}

// LastEventID returns the ID of the newest event ever written, 0 when none was.
func (s *Store) LastEventID(ctx context.Context) (int64, error) {
	var id int64
	err := s.rdb.QueryRowContext(ctx, lastEventIDQuery).Scan(&id)
	return id, wrap("last event id", err)
}

// GetEventCursor returns a consumer's cursor, or ErrNotFound.
func (s *Store) GetEventCursor(ctx context.Context, name string) (*knm.EventCursor, error) {
	return queryOne(ctx, s, "get event cursor "+name, sqlcommon.EventCursorNotFound(name), scanEventCursor,
		`SELECT `+sqlcommon.EventCursorColumns+` FROM event_cursors WHERE name = ?`, name)
}

// EventCursors returns every registered consumer, ordered by name.
func (s *Store) EventCursors(ctx context.Context) ([]*knm.EventCursor, error) {
	return queryAll(ctx, s, "event cursors", `SELECT `+sqlcommon.EventCursorColumns+` FROM event_cursors
		ORDER BY name`, nil, scanEventCursor)
}

// ClaimEventCursor registers the consumer when new and gives owner its lease unless
// another owner holds an unexpired one.
func (s *Store) ClaimEventCursor(ctx context.Context, name, owner string, ttl time.Duration,
	start int64) (*knm.EventCursor, bool, error) {
	if err := sqlcommon.CheckClaim(name, owner); err != nil {
		return nil, false, err
	}
	var (
		c  *knm.EventCursor
		ok bool
	)
	err := s.write(ctx, "claim event cursor "+name, func(tx *sql.Tx) error {
		now := unixMilli(s.now())
		if start < 0 {
			if err := tx.QueryRowContext(ctx, lastEventIDQuery).Scan(&start); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO event_cursors (name, last_id, updated) VALUES (?, ?, ?)
			ON CONFLICT (name) DO NOTHING`, name, start, now); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE event_cursors SET owner = ?, lease_until = ?, updated = ?
			WHERE name = ? AND (owner = ? OR owner = '' OR lease_until <= ?)`,
			owner, now+ttl.Milliseconds(), now, name, owner, now)
		if err != nil {
			return err
		}
		k, err := res.RowsAffected()
		if err != nil {
			return err
		}
		ok = k > 0
		c, err = scanEventCursor(tx.QueryRowContext(ctx, `SELECT `+sqlcommon.EventCursorColumns+`
			FROM event_cursors WHERE name = ?`, name))
		return err
	})
	return c, ok, err
}

// AdvanceEventCursor moves the consumer to lastID if owner holds its lease.
func (s *Store) AdvanceEventCursor(ctx context.Context, name, owner string, lastID int64) error {
	return s.write(ctx, "advance event cursor "+name, func(tx *sql.Tx) error {
		var (
			cur     int64
			holder  string
			stamped = unixMilli(s.now())
		)
		err := tx.QueryRowContext(ctx, `SELECT last_id, owner FROM event_cursors WHERE name = ?`, name).Scan(&cur, &holder)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return sqlcommon.EventCursorNotFound(name)
		case err != nil:
			return err
		case holder != owner:
			return sqlcommon.LeaseLost(name, holder)
		case lastID < cur:
			return sqlcommon.CursorBackwards(name, cur, lastID)
		}
		_, err = tx.ExecContext(ctx, `UPDATE event_cursors SET last_id = ?, updated = ? WHERE name = ?`,
			lastID, stamped, name)
		return err
	})
}

// DeleteEventCursor unregisters a consumer.
func (s *Store) DeleteEventCursor(ctx context.Context, name string) error {
	return s.write(ctx, "delete event cursor "+name, func(tx *sql.Tx) error {
		return execOne(ctx, tx, func() error { return sqlcommon.EventCursorNotFound(name) },
			`DELETE FROM event_cursors WHERE name = ?`, name)
	})
}

// PurgeEvents deletes the events written before t that every consumer has passed and no
// pending delivery needs, one transaction per sqlcommon.PurgeBatch events.
func (s *Store) PurgeEvents(ctx context.Context, before time.Time) (int, error) {
	q, args := sqlcommon.PurgeEventsQuery(unixMilli(before), placeholder)
	return sqlcommon.PurgeInBatches(func() (k int64, err error) {
		err = s.write(ctx, "purge events", func(tx *sql.Tx) error {
			res, err := tx.ExecContext(ctx, q, args...)
			if err == nil {
				k, err = res.RowsAffected()
			}
			return err
		})
		return k, err
	})
}

// unixMilli returns t as the outbox tables store it: Unix milliseconds, 0 for the zero
// time.
func unixMilli(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// fromUnixMilli is the inverse of unixMilli.
func fromUnixMilli(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}
