// The statements here have twins in store/sqlite/events.go in the other dialect, kept apart on purpose so each
// backend reads as plain SQL of its own; storetest holds both to one behaviour.

package postgres

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/knmproject/knm"
	"github.com/knmproject/knm/store/internal/sqlcommon"
)

// Event ids come from the one row of number_event_counter (see migration 0004): taking
// an id locks that row until the transaction ends, so ids are handed out in commit order.
// Events are appended last in their transaction, which keeps the lock short.

// eventInsert returns the statement appending the event of a number change, last in the
// change's transaction.
func (s *Store) eventInsert(e *knm.Event) (string, []any, error) {
	detail, err := sqlcommon.EventDetail(e)
	if err != nil {
		return "", nil, err
	}
	return `WITH c AS (UPDATE number_event_counter SET last_id = last_id + 1 RETURNING last_id)
		INSERT INTO number_events (` + sqlcommon.EventColumns + `)
		SELECT c.last_id, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10 FROM c`,
		[]any{string(e.Type), e.Number, e.AccountBefore, e.AccountAfter, string(e.StateBefore), string(e.StateAfter),
			e.Module, e.Rev, detail, sqlcommon.Milli(s.now())}, nil
}

// appendImportEvents writes the events of the numbers an import inserted (the first of
// each number in ns that inserted holds), in number order, with one id reservation and
// one COPY.
func (s *Store) appendImportEvents(ctx context.Context, tx pgx.Tx, ns []*knm.Number, inserted map[string]bool) error {
	if !s.outbox || len(inserted) == 0 {
		return nil
	}
	seen := make(map[string]bool, len(inserted))
	var events []*knm.Event
	for _, n := range ns {
		if inserted[n.Number] && !seen[n.Number] {
			seen[n.Number] = true
			e := knm.NumberEvent(nil, n)
			e.Type, e.Rev = knm.EventNumberImported, 1
			events = append(events, e)
		}
	}
	slices.SortFunc(events, func(a, b *knm.Event) int { return strings.Compare(a.Number, b.Number) })
	var last int64
	if err := tx.QueryRow(ctx, `UPDATE number_event_counter SET last_id = last_id + $1 RETURNING last_id`,
		len(events)).Scan(&last); err != nil {
		return err
	}
	now := sqlcommon.Milli(s.now())
	rows := make([][]any, len(events))
	for i, e := range events {
		detail, err := sqlcommon.EventDetail(e)
		if err != nil {
			return err
		}
		rows[i] = []any{last - int64(len(events)-1-i), string(e.Type), e.Number, e.AccountBefore, e.AccountAfter,
			string(e.StateBefore), string(e.StateAfter), e.Module, e.Rev, detail, now}
	}
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"number_events"}, strings.Split(sqlcommon.EventColumns, ", "),
		pgx.CopyFromRows(rows))
	return err
}

func scanEvent(row sqlcommon.Scanner) (*knm.Event, error) { return sqlcommon.ScanEvent(row, utcOrZero) }

func scanEventCursor(row sqlcommon.Scanner) (*knm.EventCursor, error) {
	return sqlcommon.ScanEventCursor(row, utcOrZero)
}

// utcOrZero is utc for the outbox tables, whose "never" is the epoch.
func utcOrZero(t time.Time) time.Time {
	if t.Unix() == 0 {
		return time.Time{}
	}
	return utc(t)
}

// Events returns up to limit events with ID > afterID, in ID order.
func (s *Store) Events(ctx context.Context, afterID int64, limit int) ([]*knm.Event, error) {
	if limit <= 0 {
		return nil, knm.Errorf(knm.ErrInvalid, "events: limit must be positive")
	}
	return queryAll(ctx, s, "events", `SELECT `+sqlcommon.EventColumns+` FROM number_events WHERE id > $1
		ORDER BY id LIMIT $2`, []any{afterID, limit}, scanEvent)
}

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
		WHERE number = $1 AND id < $2 ORDER BY id DESC LIMIT $3`, []any{number, beforeID, limit}, scanEvent)
}

// LastEventID returns the ID of the newest event ever written, 0 when none was.
func (s *Store) LastEventID(ctx context.Context) (int64, error) {
	var id int64
	err := s.withConn(ctx, "last event id", func(c *pgx.Conn) error {
		return c.QueryRow(ctx, `SELECT last_id FROM number_event_counter`).Scan(&id)
	})
	return id, err
}

// GetEventCursor returns a consumer's cursor, or ErrNotFound.
func (s *Store) GetEventCursor(ctx context.Context, name string) (*knm.EventCursor, error) {
	return queryOne(ctx, s, "get event cursor "+name, sqlcommon.EventCursorNotFound(name), scanEventCursor,
		`SELECT `+sqlcommon.EventCursorColumns+` FROM event_cursors WHERE name = $1`, name)
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
	err := s.withTx(ctx, "claim event cursor "+name, func(tx pgx.Tx) error {
		now := sqlcommon.Milli(s.now())
		if start < 0 {
			if err := tx.QueryRow(ctx, `SELECT last_id FROM number_event_counter`).Scan(&start); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO event_cursors (name, last_id, updated) VALUES ($1, $2, $3)
			ON CONFLICT (name) DO NOTHING`, name, start, now); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE event_cursors SET owner = $1, lease_until = $2, updated = $3
			WHERE name = $4 AND (owner = $1 OR owner = '' OR lease_until <= $3)`, owner, now.Add(ttl), now, name)
		if err != nil {
			return err
		}
		ok = tag.RowsAffected() > 0
		c, err = scanEventCursor(tx.QueryRow(ctx, `SELECT `+sqlcommon.EventCursorColumns+`
			FROM event_cursors WHERE name = $1`, name))
		return err
	})
	return c, ok, err
}

// AdvanceEventCursor moves the consumer to lastID if owner holds its lease.
func (s *Store) AdvanceEventCursor(ctx context.Context, name, owner string, lastID int64) error {
	return s.withTx(ctx, "advance event cursor "+name, func(tx pgx.Tx) error {
		var (
			cur    int64
			holder string
		)
		err := tx.QueryRow(ctx, `SELECT last_id, owner FROM event_cursors WHERE name = $1 FOR UPDATE`, name).
			Scan(&cur, &holder)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return sqlcommon.EventCursorNotFound(name)
		case err != nil:
			return err
		case holder != owner:
			return sqlcommon.LeaseLost(name, holder)
		case lastID < cur:
			return sqlcommon.CursorBackwards(name, cur, lastID)
		}
		_, err = tx.Exec(ctx, `UPDATE event_cursors SET last_id = $1, updated = $2 WHERE name = $3`,
			lastID, sqlcommon.Milli(s.now()), name)
		return err
	})
}

// DeleteEventCursor unregisters a consumer.
func (s *Store) DeleteEventCursor(ctx context.Context, name string) error {
	return s.withConn(ctx, "delete event cursor "+name, func(c *pgx.Conn) error {
		return execOne(ctx, c, func() error { return sqlcommon.EventCursorNotFound(name) },
			`DELETE FROM event_cursors WHERE name = $1`, name)
	})
}

// PurgeEvents deletes the events written before t that every consumer has passed and no
// pending delivery needs, sqlcommon.PurgeBatch events per statement.
func (s *Store) PurgeEvents(ctx context.Context, before time.Time) (int, error) {
	q, args := sqlcommon.PurgeEventsQuery(sqlcommon.Milli(before), placeholder)
	return sqlcommon.PurgeInBatches(func() (k int64, err error) {
		err = s.withConn(ctx, "purge events", func(c *pgx.Conn) error {
			tag, err := c.Exec(ctx, q, args...)
			k = tag.RowsAffected()
			return err
		})
		return k, err
	})
}
