// The statements here have twins in store/postgres/numbers.go in the other dialect, kept apart on purpose so each
// backend reads as plain SQL of its own; storetest holds both to one behaviour.

package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/store/internal/sqlcommon"
)

func scanNumber(row sqlcommon.Scanner) (*knm.Number, error) {
	return sqlcommon.ScanNumber(row, fromUnix)
}

// GetNumber returns the number, or ErrNotFound.
func (s *Store) GetNumber(ctx context.Context, number string) (*knm.Number, error) {
	return queryOne(ctx, s, "get number "+number, knm.NotFound(number), scanNumber,
		`SELECT `+sqlcommon.NumberColumns+` FROM numbers WHERE number = ?`, number)
}

const insertNumber = `INSERT INTO numbers (` + sqlcommon.NumberColumns + `) VALUES (?, 1, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (number) DO NOTHING`

func insertNumberArgs(n *knm.Number, extra []byte) []any {
	return []any{n.Number, string(n.State), n.AssignedTo, n.ModuleName,
		sqlcommon.NullText(n.CarrierData), string(extra), unix(n.Created), unix(n.Modified)}
}

// CreateNumber stores a new number with Rev 1, or returns ErrNumberExists.
func (s *Store) CreateNumber(ctx context.Context, n *knm.Number) error {
	extra, err := sqlcommon.PrepareNumber(n, s.now)
	if err != nil {
		return err
	}
	return s.write(ctx, "create number "+n.Number, func(tx *sql.Tx) error {
		if err := execOne(ctx, tx, func() error { return knm.NumberExists(n.Number) }, insertNumber,
			insertNumberArgs(n, extra)...); err != nil {
			return err
		}
		n.Rev = 1
		return s.appendEvent(ctx, tx, knm.NumberEvent(nil, n))
	})
}

// UpdateNumber replaces the number stored at revision n.Rev (ErrNotFound, ErrConflict).
// A zero n.Created keeps the stored creation time.
func (s *Store) UpdateNumber(ctx context.Context, n *knm.Number) error {
	extra, err := sqlcommon.EncodeNumber(n)
	if err != nil {
		return err
	}
	now := sqlcommon.Sec(s.now())
	return s.write(ctx, "update number "+n.Number, func(tx *sql.Tx) error {
		var before *knm.Number
		if s.outbox {
			// The event tells what changed, so it needs the number as it was. The write
			// lock is held, so nothing changes between this read and the update.
			if before, err = s.storedNumber(ctx, tx, n.Number, n.Rev); err != nil {
				return err
			}
		}
		var rev, created int64
		err := tx.StmtContext(ctx, s.stmts.updateNumber).QueryRowContext(ctx,
			string(n.State), n.AssignedTo, n.ModuleName, sqlcommon.NullText(n.CarrierData), string(extra), unix(now),
			unix(n.Created), unix(n.Created), n.Number, n.Rev).Scan(&rev, &created)
		if errors.Is(err, sql.ErrNoRows) {
			return s.numberMissed(ctx, tx, n.Number)
		}
		if err != nil {
			return err
		}
		n.Rev, n.Created, n.Modified = rev, fromUnix(created), now
		if !s.outbox {
			return nil
		}
		return s.appendEvent(ctx, tx, knm.NumberEvent(before, n))
	})
}

// storedNumber reads a number inside a write transaction and checks its revision:
// ErrNotFound when it is not stored, ErrConflict when its revision is not rev.
func (s *Store) storedNumber(ctx context.Context, tx *sql.Tx, number string, rev int64) (*knm.Number, error) {
	n, err := scanNumber(tx.StmtContext(ctx, s.stmts.selectNumber).QueryRowContext(ctx, number))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, knm.NotFound(number)
	}
	if err != nil {
		return nil, err
	}
	if n.Rev != rev {
		return nil, knm.Conflict("number " + number)
	}
	return n, nil
}

// numberMissed tells why a revision-guarded write matched no row: the number is gone
// (ErrNotFound) or its revision moved on (ErrConflict).
func (s *Store) numberMissed(ctx context.Context, tx *sql.Tx, number string) error {
	return s.missed(ctx, tx, "numbers", "number = ?", []any{number}, knm.NotFound(number), "number "+number)
}

// DeleteNumber removes the number stored at revision rev (ErrNotFound, ErrConflict).
func (s *Store) DeleteNumber(ctx context.Context, number string, rev int64) error {
	return s.write(ctx, "delete number "+number, func(tx *sql.Tx) error {
		before, err := scanNumber(tx.QueryRowContext(ctx, `DELETE FROM numbers WHERE number = ? AND rev = ?
			RETURNING `+sqlcommon.NumberColumns, number, rev))
		if errors.Is(err, sql.ErrNoRows) {
			return s.numberMissed(ctx, tx, number)
		}
		if err != nil || !s.outbox {
			return err
		}
		return s.appendEvent(ctx, tx, knm.NumberEvent(before, nil))
	})
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
	if err := s.rdb.QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
		return 0, wrap("count numbers", err)
	}
	return n, nil
}

// ImportNumbers inserts the numbers in one transaction through one prepared statement,
// skipping (and returning) those already stored. The batch is checked first, so an
// invalid number writes nothing.
func (s *Store) ImportNumbers(ctx context.Context, ns []*knm.Number) ([]string, error) {
	extras := make([][]byte, len(ns))
	for i, n := range ns {
		var err error
		if extras[i], err = sqlcommon.PrepareNumber(n, s.now); err != nil {
			return nil, err
		}
	}
	inserted := make([]bool, len(ns))
	err := s.write(ctx, "import numbers", func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, insertNumber)
		if err != nil {
			return err
		}
		defer stmt.Close()
		events, err := s.prepareEvents(ctx, tx)
		if err != nil {
			return err
		}
		defer events.Close()
		for _, i := range byNumber(ns) {
			n := ns[i]
			res, err := stmt.ExecContext(ctx, insertNumberArgs(n, extras[i])...)
			if err != nil {
				return err
			}
			k, err := res.RowsAffected()
			if err != nil {
				return err
			}
			if inserted[i] = k > 0; inserted[i] {
				if err := events.add(ctx, importEvent(n)); err != nil {
					return err
				}
			}
		}
		return events.flush(ctx)
	})
	if err != nil {
		return nil, err
	}
	var skipped []string
	for i, n := range ns {
		if inserted[i] {
			n.Rev = 1
		} else {
			skipped = append(skipped, n.Number)
		}
	}
	return skipped, nil
}

// byNumber returns the indexes of ns in number order (stable, so the first of a repeated
// number is the one inserted). Inserting in key order touches each B-tree page once per
// batch instead of once per row.
func byNumber(ns []*knm.Number) []int {
	idx := make([]int, len(ns))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return strings.Compare(ns[a].Number, ns[b].Number) })
	return idx
}

// ListNumbers returns one keyset page of the numbers matching f.
func (s *Store) ListNumbers(ctx context.Context, f knm.NumberFilter, o knm.ListOptions) (knm.NumberPage, error) {
	return sqlcommon.ListNumbers(ctx, s.FindNumbers, f, o)
}
