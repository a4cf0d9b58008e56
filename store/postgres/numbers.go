package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/knmproject/knm"
	"github.com/knmproject/knm/store/internal/sqlcommon"
)

const numberColumns = `number, rev, state, assigned_to, module_name, carrier_data, extra, created, modified`

func scanNumber(row pgx.Row) (*knm.Number, error) {
	var (
		n                 knm.Number
		state             string
		carrier, extra    []byte
		created, modified time.Time
	)
	if err := row.Scan(&n.Number, &n.Rev, &state, &n.AssignedTo, &n.ModuleName, &carrier, &extra, &created, &modified); err != nil {
		return nil, err
	}
	n.State = knm.State(state)
	if len(carrier) > 0 {
		n.CarrierData = carrier
	}
	n.Created, n.Modified = utc(created), utc(modified)
	if err := sqlcommon.DecodeExtra(extra, &n); err != nil {
		return nil, err
	}
	return &n, nil
}

// GetNumber returns the number, or ErrNotFound.
func (s *Store) GetNumber(ctx context.Context, number string) (*knm.Number, error) {
	var n *knm.Number
	err := s.withConn(ctx, "get number "+number, func(c *pgx.Conn) (err error) {
		n, err = scanNumber(c.QueryRow(ctx, `SELECT `+numberColumns+` FROM numbers WHERE number = $1`, number))
		if errors.Is(err, pgx.ErrNoRows) {
			return knm.NotFound(number)
		}
		return err
	})
	return n, err
}

// prepareNew checks n and sets the times a create fills in.
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

// CreateNumber stores a new number with Rev 1, or returns ErrNumberExists.
func (s *Store) CreateNumber(ctx context.Context, n *knm.Number) error {
	extra, err := s.prepareNew(n)
	if err != nil {
		return err
	}
	return s.withConn(ctx, "create number "+n.Number, func(c *pgx.Conn) error {
		tag, err := c.Exec(ctx, `INSERT INTO numbers (`+numberColumns+`) VALUES ($1, 1, $2, $3, $4, $5, $6, $7, $8)
			ON CONFLICT (number) DO NOTHING`, n.Number, string(n.State), n.AssignedTo, n.ModuleName,
			nullText(n.CarrierData), string(extra), n.Created, n.Modified)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
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
	var created *time.Time
	if !n.Created.IsZero() {
		c := sqlcommon.Sec(n.Created)
		created = &c
	}
	return s.withConn(ctx, "update number "+n.Number, func(c *pgx.Conn) error {
		var (
			rev    int64
			stored time.Time
		)
		err := c.QueryRow(ctx, `UPDATE numbers SET rev = rev + 1, state = $1, assigned_to = $2, module_name = $3,
			carrier_data = $4, extra = $5, modified = $6, created = coalesce($7, created)
			WHERE number = $8 AND rev = $9 RETURNING rev, created`,
			string(n.State), n.AssignedTo, n.ModuleName, nullText(n.CarrierData), string(extra), now,
			created, n.Number, n.Rev).Scan(&rev, &stored)
		if errors.Is(err, pgx.ErrNoRows) {
			return missed(ctx, c, `SELECT EXISTS (SELECT 1 FROM numbers WHERE number = $1)`, []any{n.Number},
				knm.NotFound(n.Number), "number "+n.Number)
		}
		if err != nil {
			return err
		}
		n.Rev, n.Created, n.Modified = rev, utc(stored), now
		return nil
	})
}

// missed tells why a revision-guarded write matched no row: notFound when the row is
// gone (exists is a SELECT EXISTS query), ErrConflict naming what otherwise.
func missed(ctx context.Context, c *pgx.Conn, exists string, args []any, notFound error, what string) error {
	var found bool
	if err := c.QueryRow(ctx, exists, args...).Scan(&found); err != nil {
		return err
	}
	if !found {
		return notFound
	}
	return knm.Conflict(what)
}

// DeleteNumber removes the number stored at revision rev (ErrNotFound, ErrConflict).
func (s *Store) DeleteNumber(ctx context.Context, number string, rev int64) error {
	return s.withConn(ctx, "delete number "+number, func(c *pgx.Conn) error {
		tag, err := c.Exec(ctx, `DELETE FROM numbers WHERE number = $1 AND rev = $2`, number, rev)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return missed(ctx, c, `SELECT EXISTS (SELECT 1 FROM numbers WHERE number = $1)`, []any{number},
				knm.NotFound(number), "number "+number)
		}
		return nil
	})
}

// FindNumbers returns the numbers matching f, ordered by number.
func (s *Store) FindNumbers(ctx context.Context, f knm.NumberFilter) ([]*knm.Number, error) {
	w := sqlcommon.NumberWhere(f, placeholder, true)
	q := `SELECT ` + numberColumns + ` FROM numbers` + w.String() + ` ORDER BY number` + sqlcommon.LimitOffset(f.Limit, f.Offset)
	var out []*knm.Number
	err := s.withConn(ctx, "find numbers", func(c *pgx.Conn) error {
		rows, err := c.Query(ctx, q, w.Args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			n, err := scanNumber(rows)
			if err != nil {
				return err
			}
			out = append(out, n)
		}
		return rows.Err()
	})
	return out, err
}

// CountNumbers returns how many numbers match f, ignoring After, Offset and Limit.
func (s *Store) CountNumbers(ctx context.Context, f knm.NumberFilter) (int, error) {
	w := sqlcommon.NumberWhere(f, placeholder, false)
	var n int
	err := s.withConn(ctx, "count numbers", func(c *pgx.Conn) error {
		return c.QueryRow(ctx, `SELECT count(*) FROM numbers`+w.String(), w.Args...).Scan(&n)
	})
	return n, err
}

// ImportNumbers copies the numbers into a temporary table with COPY, then inserts them
// with one INSERT … SELECT … ON CONFLICT DO NOTHING, all in one transaction. The batch
// is checked first, so an invalid number writes nothing.
func (s *Store) ImportNumbers(ctx context.Context, ns []*knm.Number) ([]string, error) {
	rows := make([][]any, len(ns))
	for i, n := range ns {
		extra, err := s.prepareNew(n)
		if err != nil {
			return nil, err
		}
		rows[i] = []any{int32(i), n.Number, string(n.State), n.AssignedTo, n.ModuleName,
			nullText(n.CarrierData), string(extra), n.Created, n.Modified}
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
		res, err := tx.Query(ctx, `INSERT INTO numbers (`+numberColumns+`)
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
