package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/store/internal/sqlcommon"
)

// Every statement here has a twin in store/postgres/search.go in PostgreSQL's dialect. The pairs are kept
// apart on purpose: each backend reads as plain SQL of its own, and storetest holds both to
// one behaviour.

// PutSearch replaces the results of a query id; they expire at expires. A number repeated
// in rows is ErrInvalid and writes nothing. The results are one row (search_results);
// discovery rows are also indexed by number (search_cache) for FindDiscoveryRow.
func (s *Store) PutSearch(ctx context.Context, queryID string, rows []knm.SearchRow, expires time.Time) error {
	encoded, discovery, err := sqlcommon.EncodeSearch(queryID, rows)
	if err != nil {
		return err
	}
	exp := expires.UnixMilli()
	return s.write(ctx, "put search "+queryID, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM search_cache WHERE query_id = ?`, queryID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO search_results (query_id, results, expires_at) VALUES (?, ?, ?)
			ON CONFLICT (query_id) DO UPDATE SET results = excluded.results, expires_at = excluded.expires_at`,
			queryID, string(encoded), exp); err != nil {
			return err
		}
		for _, r := range discovery {
			if _, err := tx.ExecContext(ctx, `INSERT INTO search_cache
				(query_id, number, module, state, carrier_data, expires_at) VALUES (?, ?, ?, ?, ?, ?)`,
				queryID, r.Number, r.Module, string(r.State), sqlcommon.NullText(r.CarrierData), exp); err != nil {
				return err
			}
		}
		return nil
	})
}

// GetSearch returns rows [offset, offset+limit) of a query id ordered by number (limit
// 0 means all rows from offset), and whether the query id has unexpired results at all.
func (s *Store) GetSearch(ctx context.Context, queryID string, offset, limit int) ([]knm.SearchRow, bool, error) {
	var encoded string
	err := s.rdb.QueryRowContext(ctx, `SELECT results FROM search_results WHERE query_id = ? AND expires_at > ?`,
		queryID, s.now().UnixMilli()).Scan(&encoded)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, wrap("get search "+queryID, err)
	}
	rows, err := sqlcommon.PageSearch([]byte(encoded), offset, limit)
	return rows, true, wrap("get search "+queryID, err)
}

// FindDiscoveryRow returns an unexpired discovery row for the number under any query id
// (the one expiring last), or ErrNotFound.
func (s *Store) FindDiscoveryRow(ctx context.Context, number string) (*knm.SearchRow, error) {
	r, err := queryOne(ctx, s, "find discovery row "+number, knm.NotFound(number), sqlcommon.ScanSearchRow,
		`SELECT `+sqlcommon.SearchRowColumns+` FROM search_cache WHERE number = ? AND state = ? AND expires_at > ?
		ORDER BY expires_at DESC LIMIT 1`, number, string(knm.StateDiscovery), s.now().UnixMilli())
	if err != nil {
		return nil, err
	}
	return &r, nil
}

// PurgeSearches deletes expired searches and returns how many it deleted.
func (s *Store) PurgeSearches(ctx context.Context) (int, error) {
	var n int64
	err := s.write(ctx, "purge searches", func(tx *sql.Tx) error {
		now := s.now().UnixMilli()
		if _, err := tx.ExecContext(ctx, `DELETE FROM search_cache WHERE expires_at <= ?`, now); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM search_results WHERE expires_at <= ?`, now)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}
