package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/knmproject/knm"
	"github.com/knmproject/knm/store/internal/sqlcommon"
)

// PutSearch replaces the rows of a query id; they expire at expires. A number repeated
// in rows is ErrInvalid and writes nothing.
func (s *Store) PutSearch(ctx context.Context, queryID string, rows []knm.SearchRow, expires time.Time) error {
	copyRows := make([][]any, len(rows))
	for i, r := range rows {
		copyRows[i] = []any{queryID, r.Number, r.Module, string(r.State), sqlcommon.NullText(r.CarrierData), expires}
	}
	return s.withTx(ctx, "put search "+queryID, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM search_cache WHERE query_id = $1`, queryID); err != nil {
			return err
		}
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"search_cache"},
			[]string{"query_id", "number", "module", "state", "carrier_data", "expires_at"}, pgx.CopyFromRows(copyRows))
		if isUniqueViolation(err) {
			return knm.Errorf(knm.ErrInvalid, "search %s repeats a number", queryID).Wrap(err)
		}
		return err
	})
}

// GetSearch returns rows [offset, offset+limit) of a query id ordered by number (limit
// 0 means all rows from offset), and whether the query id has unexpired rows at all.
func (s *Store) GetSearch(ctx context.Context, queryID string, offset, limit int) ([]knm.SearchRow, bool, error) {
	now := s.now()
	var (
		out   []knm.SearchRow
		found bool
	)
	err := s.withConn(ctx, "get search "+queryID, func(c *pgx.Conn) error {
		rows, err := c.Query(ctx, `SELECT `+sqlcommon.SearchRowColumns+` FROM search_cache
			WHERE query_id = $1 AND expires_at > $2 ORDER BY number`+sqlcommon.LimitOffset(limit, offset), queryID, now)
		if err != nil {
			return err
		}
		// Closed before the query below, which needs the connection.
		out, err = sqlcommon.Collect(rows, sqlcommon.ScanSearchRow)
		rows.Close()
		if err != nil {
			return err
		}
		if len(out) > 0 {
			found = true
			return nil
		}
		// An empty page past the end still belongs to a live query.
		return c.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM search_cache
			WHERE query_id = $1 AND expires_at > $2)`, queryID, now).Scan(&found)
	})
	return out, found, err
}

// FindSearchRow returns an unexpired row for the number in the given state under any
// query id (the one expiring last), or ErrNotFound.
func (s *Store) FindSearchRow(ctx context.Context, number string, state knm.State) (*knm.SearchRow, error) {
	r, err := queryOne(ctx, s, "find search row "+number, knm.NotFound(number), sqlcommon.ScanSearchRow,
		`SELECT `+sqlcommon.SearchRowColumns+` FROM search_cache WHERE number = $1 AND state = $2 AND expires_at > $3
		ORDER BY expires_at DESC LIMIT 1`, number, string(state), s.now())
	if err != nil {
		return nil, err
	}
	return &r, nil
}

// PurgeSearches deletes expired rows and returns how many it deleted.
func (s *Store) PurgeSearches(ctx context.Context) (int, error) {
	var n int64
	err := s.withConn(ctx, "purge searches", func(c *pgx.Conn) error {
		tag, err := c.Exec(ctx, `DELETE FROM search_cache WHERE expires_at <= $1`, s.now())
		n = tag.RowsAffected()
		return err
	})
	return int(n), err
}
