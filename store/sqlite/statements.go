package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/knmproject/knm/store/internal/sqlcommon"
)

// statements are the hot statements of number writes, prepared once on the write
// connection: compiling SQL is a large share of a single write's cost in SQLite, and a
// number update runs three statements (read the number as it was, update it, append its
// event).
type statements struct {
	selectNumber, updateNumber, insertEvent *sql.Stmt
}

const (
	selectNumberSQL = `SELECT ` + sqlcommon.NumberColumns + ` FROM numbers WHERE number = ?`
	updateNumberSQL = `UPDATE numbers SET rev = rev + 1, state = ?, assigned_to = ?,
			module_name = ?, carrier_data = ?, extra = ?, modified = ?,
			created = CASE WHEN ? = 0 THEN created ELSE ? END
			WHERE number = ? AND rev = ? RETURNING rev, created`
)

// prepareStatements prepares the statements on db. It must run while the write
// connection is free (no transaction open), as at Open.
func prepareStatements(ctx context.Context, db *sql.DB) (*statements, error) {
	var st statements
	var err error
	for _, p := range []struct {
		dst   **sql.Stmt
		query string
	}{{&st.selectNumber, selectNumberSQL}, {&st.updateNumber, updateNumberSQL}, {&st.insertEvent, insertEvent}} {
		if *p.dst, err = db.PrepareContext(ctx, p.query); err != nil {
			st.Close()
			return nil, err
		}
	}
	return &st, nil
}

// Close releases the prepared statements.
func (st *statements) Close() error {
	var errs []error
	for _, s := range []*sql.Stmt{st.selectNumber, st.updateNumber, st.insertEvent} {
		if s != nil {
			errs = append(errs, s.Close())
		}
	}
	return errors.Join(errs...)
}
