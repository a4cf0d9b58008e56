package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/store/internal/sqlcommon"
)

// PutSearch replaces the rows of a query id; they expire at expires. A number repeated
// in rows is ErrInvalid and writes nothing.
func (s *Store) PutSearch(ctx context.Context, queryID string, rows []knm.SearchRow, expires time.Time) error {
	return s.write(ctx, "put search "+queryID, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM search_cache WHERE query_id = ?`, queryID); err != nil {
			return err
		}
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO search_cache
			(query_id, number, module, state, carrier_data, expires_at) VALUES (?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, r := range rows {
			_, err := stmt.ExecContext(ctx, queryID, r.Number, r.Module, string(r.State),
				sqlcommon.NullText(r.CarrierData), expires.UnixMilli())
			if isUniqueViolation(err) {
				return knm.Errorf(knm.ErrInvalid, "search %s repeats number %s", queryID, r.Number)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// GetSearch returns rows [offset, offset+limit) of a query id ordered by number (limit
// 0 means all rows from offset), and whether the query id has unexpired rows at all.
func (s *Store) GetSearch(ctx context.Context, queryID string, offset, limit int) ([]knm.SearchRow, bool, error) {
	now := s.now().UnixMilli()
	out, err := queryAll(ctx, s, "get search "+queryID, `SELECT `+sqlcommon.SearchRowColumns+` FROM search_cache
		WHERE query_id = ? AND expires_at > ? ORDER BY number`+sqlcommon.LimitOffset(limit, offset),
		[]any{queryID, now}, sqlcommon.ScanSearchRow)
	if err != nil {
		return nil, false, err
	}
	if len(out) > 0 {
		return out, true, nil
	}
	// An empty page past the end still belongs to a live query.
	var found bool
	err = s.rdb.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM search_cache
		WHERE query_id = ? AND expires_at > ?)`, queryID, now).Scan(&found)
	return nil, found, wrap("get search "+queryID, err)
}

// FindSearchRow returns an unexpired row for the number in the given state under any
// query id (the one expiring last), or ErrNotFound.
func (s *Store) FindSearchRow(ctx context.Context, number string, state knm.State) (*knm.SearchRow, error) {
	r, err := queryOne(ctx, s, "find search row "+number, knm.NotFound(number), sqlcommon.ScanSearchRow,
		`SELECT `+sqlcommon.SearchRowColumns+` FROM search_cache WHERE number = ? AND state = ? AND expires_at > ?
		ORDER BY expires_at DESC LIMIT 1`, number, string(state), s.now().UnixMilli())
	if err != nil {
		return nil, err
	}
	return &r, nil
}

// PurgeSearches deletes expired rows and returns how many it deleted.
func (s *Store) PurgeSearches(ctx context.Context) (int, error) {
	var n int64
	err := s.write(ctx, "purge searches", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM search_cache WHERE expires_at <= ?`, s.now().UnixMilli())
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}
