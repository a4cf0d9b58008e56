// The statements here have twins in store/sqlite/numbers.go in the other dialect, kept apart on purpose so each
// backend reads as plain SQL of its own; storetest holds both to one behaviour.

package postgres

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/knmproject/knm"
	"github.com/knmproject/knm/store/internal/sqlcommon"
)

func scanNumber(row sqlcommon.Scanner) (*knm.Number, error) {
	return sqlcommon.ScanNumber(row, utc)
}

// GetNumber returns the number, or ErrNotFound.
func (s *Store) GetNumber(ctx context.Context, number string) (*knm.Number, error) {
	return queryOne(ctx, s, "get number "+number, knm.NotFound(number), scanNumber,
		`SELECT `+sqlcommon.NumberColumns+` FROM numbers WHERE number = $1`, number)
}

// CreateNumber stores a new number with Rev 1, or returns ErrNumberExists.
func (s *Store) CreateNumber(ctx context.Context, n *knm.Number) error {
	extra, err := sqlcommon.PrepareNumber(n, s.now)
	if err != nil {
		return err
	}
	return s.numberWrite(ctx, "create number "+n.Number, func(q querier) (*knm.Event, error) {
		err := execOne(ctx, q, func() error { return knm.NumberExists(n.Number) },
			`INSERT INTO numbers (`+sqlcommon.NumberColumns+`) VALUES ($1, 1, $2, $3, $4, $5, $6, $7, $8)
			ON CONFLICT (number) DO NOTHING`, n.Number, string(n.State), n.AssignedTo, n.ModuleName,
			sqlcommon.NullText(n.CarrierData), string(extra), n.Created, n.Modified)
		if err != nil {
			return nil, err
		}
		n.Rev = 1
		return knm.NumberEvent(nil, n), nil
	})
}

// numberWrite runs write, a number write returning its event, and appends the event in
// the same transaction (a pipelinedTx); without the outbox, write runs alone on a
// connection, the single statement it then is.
func (s *Store) numberWrite(ctx context.Context, op string, write func(q querier) (*knm.Event, error)) error {
	if !s.outbox {
		return s.withConn(ctx, op, func(c *pgx.Conn) error {
			_, err := write(c)
			return err
		})
	}
	return s.withConn(ctx, op, func(c *pgx.Conn) error {
		tx := &pipelinedTx{c: c}
		e, err := write(tx)
		if err == nil {
			sql, args, eerr := s.eventInsert(e)
			if err = eerr; err == nil {
				err = tx.commitWith(ctx, sql, args)
			}
		}
		if err != nil {
			tx.rollback(ctx)
		}
		return err
	})
}

// updateSet is the SET list of UpdateNumber on "numbers n": $1..$7 the new values, $8 the
// number and $9 the revision read.
const updateSet = `rev = n.rev + 1, state = $1, assigned_to = $2, module_name = $3,
	carrier_data = $4, extra = $5, modified = $6, created = coalesce($7, n.created)`

// UpdateNumber replaces the number stored at revision n.Rev (ErrNotFound, ErrConflict).
// A zero n.Created keeps the stored creation time.
func (s *Store) UpdateNumber(ctx context.Context, n *knm.Number) error {
	extra, err := sqlcommon.EncodeNumber(n)
	if err != nil {
		return err
	}
	now := sqlcommon.Sec(s.now())
	var created *time.Time
	if !n.Created.IsZero() {
		c := sqlcommon.Sec(n.Created)
		created = &c
	}
	args := []any{string(n.State), n.AssignedTo, n.ModuleName, sqlcommon.NullText(n.CarrierData), string(extra), now,
		created, n.Number, n.Rev}
	err = s.numberWrite(ctx, "update number "+n.Number, func(q querier) (*knm.Event, error) {
		var (
			rev    int64
			stored time.Time
			before *knm.Number
			err    error
		)
		if s.outbox {
			// The event tells what changed, so the update returns the row as it was. The
			// row is locked at the revision read, or the update matches nothing.
			before, err = scanNumber(prefixScanner{q.QueryRow(ctx, `WITH old AS (
				SELECT `+sqlcommon.NumberColumns+` FROM numbers WHERE number = $8 AND rev = $9 FOR UPDATE)
				UPDATE numbers n SET `+updateSet+` FROM old WHERE n.number = old.number AND n.rev = $9
				RETURNING n.rev, n.created, `+oldColumns, args...), []any{&rev, &stored}})
		} else {
			err = q.QueryRow(ctx, `UPDATE numbers n SET `+updateSet+` WHERE n.number = $8 AND n.rev = $9
				RETURNING n.rev, n.created`, args...).Scan(&rev, &stored)
		}
		if err != nil {
			return nil, err
		}
		n.Rev, n.Created, n.Modified = rev, utc(stored), now
		return knm.NumberEvent(before, n), nil
	})
	return s.numberMissed(ctx, "update number "+n.Number, n.Number, err)
}

// numberMissed turns the "no row" of a revision-guarded write into ErrNotFound or
// ErrConflict, looking at what is stored now; other errors pass through.
func (s *Store) numberMissed(ctx context.Context, op, number string, err error) error {
	if !errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	return s.withConn(ctx, op, func(c *pgx.Conn) error {
		return missed(ctx, c, `SELECT EXISTS (SELECT 1 FROM numbers WHERE number = $1)`, []any{number},
			knm.NotFound(number), "number "+number)
	})
}

// oldColumns are NumberColumns read from the CTE "old".
var oldColumns = "old." + strings.ReplaceAll(sqlcommon.NumberColumns, ", ", ", old.")

// prefixScanner scans a row whose first columns go to pre and the rest to the caller's
// destinations, so a row scanner can read a row that starts with other columns.
type prefixScanner struct {
	row sqlcommon.Scanner
	pre []any
}

func (p prefixScanner) Scan(dest ...any) error { return p.row.Scan(append(p.pre, dest...)...) }

// DeleteNumber removes the number stored at revision rev (ErrNotFound, ErrConflict).
func (s *Store) DeleteNumber(ctx context.Context, number string, rev int64) error {
	err := s.numberWrite(ctx, "delete number "+number, func(q querier) (*knm.Event, error) {
		before, err := scanNumber(q.QueryRow(ctx, `DELETE FROM numbers WHERE number = $1 AND rev = $2
			RETURNING `+sqlcommon.NumberColumns, number, rev))
		if err != nil {
			return nil, err
		}
		return knm.NumberEvent(before, nil), nil
	})
	return s.numberMissed(ctx, "delete number "+number, number, err)
}

// FindNumbers returns the numbers matching f, ordered by number.
func (s *Store) FindNumbers(ctx context.Context, f knm.NumberFilter) ([]*knm.Number, error) {
	q, args := sqlcommon.FindNumbersQuery(f, placeholder)
	if f.KeysOnly {
		return queryAll(ctx, s, "find numbers", q, args, sqlcommon.ScanNumberKeys)
	}
	return queryAll(ctx, s, "find numbers", q, args, scanNumber)
}

// CountNumbers returns how many numbers match f, ignoring After, Offset and Limit.
func (s *Store) CountNumbers(ctx context.Context, f knm.NumberFilter) (int, error) {
	q, args := sqlcommon.CountNumbersQuery(f, placeholder)
	var n int
	err := s.withConn(ctx, "count numbers", func(c *pgx.Conn) error {
		return c.QueryRow(ctx, q, args...).Scan(&n)
	})
	return n, err
}

// ImportNumbers copies the numbers into a temporary table with COPY, then inserts them
// with one INSERT … SELECT … ON CONFLICT DO NOTHING, all in one transaction. The batch
// is checked first, so an invalid number writes nothing.
func (s *Store) ImportNumbers(ctx context.Context, ns []*knm.Number) ([]string, error) {
	rows := make([][]any, len(ns))
	for i, n := range ns {
		extra, err := sqlcommon.PrepareNumber(n, s.now)
		if err != nil {
			return nil, err
		}
		rows[i] = []any{int32(i), n.Number, string(n.State), n.AssignedTo, n.ModuleName,
			sqlcommon.NullText(n.CarrierData), string(extra), n.Created, n.Modified}
	}
	if len(ns) == 0 {
		return nil, nil
	}
	inserted := make(map[string]bool, len(ns))
	err := s.withTx(ctx, "import numbers", func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `CREATE TEMP TABLE knm_import (ord integer, number text, state text,
			assigned_to text, module_name text, carrier_data text, extra text, created timestamptz,
			modified timestamptz) ON COMMIT DROP`); err != nil {
			return err
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"knm_import"}, []string{"ord", "number", "state",
			"assigned_to", "module_name", "carrier_data", "extra", "created", "modified"}, pgx.CopyFromRows(rows)); err != nil {
			return err
		}
		// DISTINCT ON keeps the first of a number repeated in the batch; ON CONFLICT skips
		// the numbers already stored (or stored meanwhile by another instance).
		res, err := tx.Query(ctx, `INSERT INTO numbers (`+sqlcommon.NumberColumns+`)
			SELECT number, 1, state, assigned_to, module_name, carrier_data, extra, created, modified
			FROM (SELECT DISTINCT ON (number) * FROM knm_import ORDER BY number, ord) AS batch
			ON CONFLICT (number) DO NOTHING RETURNING number`)
		if err != nil {
			return err
		}
		defer res.Close()
		for res.Next() {
			var num string
			if err := res.Scan(&num); err != nil {
				return err
			}
			inserted[num] = true
		}
		if err := res.Err(); err != nil {
			return err
		}
		return s.appendImportEvents(ctx, tx, ns, inserted)
	})
	if err != nil {
		return nil, err
	}
	var skipped []string
	for _, n := range ns {
		if inserted[n.Number] {
			delete(inserted, n.Number) // a later repeat of the number was skipped
			n.Rev = 1
		} else {
			skipped = append(skipped, n.Number)
		}
	}
	return skipped, nil
}

// ListNumbers returns one keyset page of the numbers matching f.
func (s *Store) ListNumbers(ctx context.Context, f knm.NumberFilter, o knm.ListOptions) (knm.NumberPage, error) {
	return sqlcommon.ListNumbers(ctx, s.FindNumbers, f, o)
}
