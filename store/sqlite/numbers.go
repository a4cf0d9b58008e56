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

const numberColumns = `number, rev, state, assigned_to, module_name, carrier_data, extra, created, modified`

type scanner interface{ Scan(dest ...any) error }

func scanNumber(row scanner) (*knm.Number, error) {
	var (
		n                 knm.Number
		state             string
		carrier, extra    []byte
		created, modified int64
	)
	if err := row.Scan(&n.Number, &n.Rev, &state, &n.AssignedTo, &n.ModuleName, &carrier, &extra, &created, &modified); err != nil {
		return nil, err
	}
	n.State = knm.State(state)
	if len(carrier) > 0 {
		n.CarrierData = carrier
	}
	n.Created, n.Modified = fromUnix(created), fromUnix(modified)
	if err := sqlcommon.DecodeExtra(extra, &n); err != nil {
		return nil, err
	}
	return &n, nil
}

// GetNumber returns the number, or ErrNotFound.
func (s *Store) GetNumber(ctx context.Context, number string) (*knm.Number, error) {
	n, err := scanNumber(s.rdb.QueryRowContext(ctx, `SELECT `+numberColumns+` FROM numbers WHERE number = ?`, number))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, knm.NotFound(number)
	}
	if err != nil {
		return nil, wrap("get number "+number, err)
	}
	return n, nil
}

// prepareNew checks n and sets the fields a create fills in: Rev 1 and the times.
func (s *Store) prepareNew(n *knm.Number) (extra []byte, err error) {
	if err := sqlcommon.CheckNumber(n); err != nil {
		return nil, err
	}
	if extra, err = sqlcommon.EncodeExtra(n); err != nil {
		return nil, err
	}
	now := sqlcommon.Sec(s.now())
	if n.Created.IsZero() {
		n.Created = now
	}
	if n.Modified.IsZero() {
		n.Modified = now
	}
	n.Created, n.Modified = sqlcommon.Sec(n.Created), sqlcommon.Sec(n.Modified)
	return extra, nil
}

const insertNumber = `INSERT INTO numbers (` + numberColumns + `) VALUES (?, 1, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (number) DO NOTHING`

func insertNumberArgs(n *knm.Number, extra []byte) []any {
	return []any{n.Number, string(n.State), n.AssignedTo, n.ModuleName,
		nullText(n.CarrierData), string(extra), unix(n.Created), unix(n.Modified)}
}

// CreateNumber stores a new number with Rev 1, or returns ErrNumberExists.
func (s *Store) CreateNumber(ctx context.Context, n *knm.Number) error {
	extra, err := s.prepareNew(n)
	if err != nil {
		return err
	}
	return s.write(ctx, "create number "+n.Number, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, insertNumber, insertNumberArgs(n, extra)...)
		if err != nil {
			return err
		}
		if k, err := res.RowsAffected(); err != nil {
			return err
		} else if k == 0 {
			return knm.NumberExists(n.Number)
		}
		n.Rev = 1
		return nil
	})
}

// UpdateNumber replaces the number stored at revision n.Rev (ErrNotFound, ErrConflict).
// A zero n.Created keeps the stored creation time.
func (s *Store) UpdateNumber(ctx context.Context, n *knm.Number) error {
	if err := sqlcommon.CheckNumber(n); err != nil {
		return err
	}
	extra, err := sqlcommon.EncodeExtra(n)
	if err != nil {
		return err
	}
	now := sqlcommon.Sec(s.now())
	return s.write(ctx, "update number "+n.Number, func(tx *sql.Tx) error {
		var rev, created int64
		err := tx.QueryRowContext(ctx, `UPDATE numbers SET rev = rev + 1, state = ?, assigned_to = ?,
			module_name = ?, carrier_data = ?, extra = ?, modified = ?,
			created = CASE WHEN ? = 0 THEN created ELSE ? END
			WHERE number = ? AND rev = ? RETURNING rev, created`,
			string(n.State), n.AssignedTo, n.ModuleName, nullText(n.CarrierData), string(extra), unix(now),
			unix(n.Created), unix(n.Created), n.Number, n.Rev).Scan(&rev, &created)
		if errors.Is(err, sql.ErrNoRows) {
			return s.numberMissed(ctx, tx, n.Number)
		}
		if err != nil {
			return err
		}
		n.Rev, n.Created, n.Modified = rev, fromUnix(created), now
		return nil
	})
}

// numberMissed tells why a revision-guarded write matched no row: the number is gone
// (ErrNotFound) or its revision moved on (ErrConflict).
func (s *Store) numberMissed(ctx context.Context, tx *sql.Tx, number string) error {
	return s.missed(ctx, tx, "numbers", "number = ?", []any{number}, knm.NotFound(number), "number "+number)
}

// DeleteNumber removes the number stored at revision rev (ErrNotFound, ErrConflict).
func (s *Store) DeleteNumber(ctx context.Context, number string, rev int64) error {
	return s.write(ctx, "delete number "+number, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM numbers WHERE number = ? AND rev = ?`, number, rev)
		if err != nil {
			return err
		}
		if k, err := res.RowsAffected(); err != nil {
			return err
		} else if k == 0 {
			return s.numberMissed(ctx, tx, number)
		}
		return nil
	})
}

// FindNumbers returns the numbers matching f, ordered by number.
func (s *Store) FindNumbers(ctx context.Context, f knm.NumberFilter) ([]*knm.Number, error) {
	w := sqlcommon.NumberWhere(f, placeholder, true)
	q := `SELECT ` + numberColumns + ` FROM numbers` + w.String() + ` ORDER BY number` + sqlcommon.LimitOffset(f.Limit, f.Offset)
	rows, err := s.rdb.QueryContext(ctx, q, w.Args...)
	if err != nil {
		return nil, wrap("find numbers", err)
	}
	defer rows.Close()
	var out []*knm.Number
	for rows.Next() {
		n, err := scanNumber(rows)
		if err != nil {
			return nil, wrap("find numbers", err)
		}
		out = append(out, n)
	}
	return out, wrap("find numbers", rows.Err())
}

// CountNumbers returns how many numbers match f, ignoring After, Offset and Limit.
func (s *Store) CountNumbers(ctx context.Context, f knm.NumberFilter) (int, error) {
	w := sqlcommon.NumberWhere(f, placeholder, false)
	var n int
	if err := s.rdb.QueryRowContext(ctx, `SELECT count(*) FROM numbers`+w.String(), w.Args...).Scan(&n); err != nil {
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
		if extras[i], err = s.prepareNew(n); err != nil {
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
			inserted[i] = k > 0
		}
		return nil
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
