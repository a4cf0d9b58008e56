package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/knmproject/knm"
	"github.com/knmproject/knm/store/internal/sqlcommon"
)

// Every statement here has a twin in store/sqlite/numbers.go in SQLite's dialect. The pairs are kept
// apart on purpose: each backend reads as plain SQL of its own, and storetest holds both to
// one behaviour.

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
	return s.withConn(ctx, "create number "+n.Number, func(c *pgx.Conn) error {
		err := execOne(ctx, c, func() error { return knm.NumberExists(n.Number) },
			`INSERT INTO numbers (`+sqlcommon.NumberColumns+`) VALUES ($1, 1, $2, $3, $4, $5, $6, $7, $8)
			ON CONFLICT (number) DO NOTHING`, n.Number, string(n.State), n.AssignedTo, n.ModuleName,
			sqlcommon.NullText(n.CarrierData), string(extra), n.Created, n.Modified)
		if err == nil {
			n.Rev = 1
		}
		return err
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
	created := keptCreated(n.Created)
	return s.withConn(ctx, "update number "+n.Number, func(c *pgx.Conn) error {
		rev, stored, err := updateAtRev(ctx, c, func() error { return numberGone(ctx, c, n.Number) },
			`UPDATE numbers SET rev = rev + 1, state = $1, assigned_to = $2, module_name = $3,
			carrier_data = $4, extra = $5, modified = $6, created = coalesce($7, created)
			WHERE number = $8 AND rev = $9 RETURNING rev, created`,
			string(n.State), n.AssignedTo, n.ModuleName, sqlcommon.NullText(n.CarrierData), string(extra), now,
			created, n.Number, n.Rev)
		if err == nil {
			n.Rev, n.Created, n.Modified = rev, stored, now
		}
		return err
	})
}

// DeleteNumber removes the number stored at revision rev (ErrNotFound, ErrConflict).
func (s *Store) DeleteNumber(ctx context.Context, number string, rev int64) error {
	return s.withConn(ctx, "delete number "+number, func(c *pgx.Conn) error {
		return execOne(ctx, c, func() error { return numberGone(ctx, c, number) },
			`DELETE FROM numbers WHERE number = $1 AND rev = $2`, number, rev)
	})
}

// numberGone tells why a revision-guarded write of number matched no row.
func numberGone(ctx context.Context, c *pgx.Conn, number string) error {
	return missed(ctx, c, `SELECT EXISTS (SELECT 1 FROM numbers WHERE number = $1)`, []any{number},
		knm.NotFound(number), "number "+number)
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
		return res.Err()
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
