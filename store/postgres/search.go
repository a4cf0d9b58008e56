package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/knmproject/knm"
	"github.com/knmproject/knm/store/internal/sqlcommon"
)

// Every statement here has a twin in store/sqlite/search.go in SQLite's dialect. The pairs are kept
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
	return s.withTx(ctx, "put search "+queryID, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM search_cache WHERE query_id = $1`, queryID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO search_results (query_id, results, expires_at) VALUES ($1, $2, $3)
			ON CONFLICT (query_id) DO UPDATE SET results = excluded.results, expires_at = excluded.expires_at`,
			queryID, string(encoded), expires); err != nil {
			return err
		}
		if len(discovery) == 0 {
			return nil
		}
		copyRows := make([][]any, len(discovery))
		for i, r := range discovery {
			copyRows[i] = []any{queryID, r.Number, r.Module, string(r.State), sqlcommon.NullText(r.CarrierData), expires}
		}
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"search_cache"},
			[]string{"query_id", "number", "module", "state", "carrier_data", "expires_at"}, pgx.CopyFromRows(copyRows))
		return err
	})
}

// GetSearch returns rows [offset, offset+limit) of a query id ordered by number (limit
// 0 means all rows from offset), and whether the query id has unexpired results at all.
func (s *Store) GetSearch(ctx context.Context, queryID string, offset, limit int) ([]knm.SearchRow, bool, error) {
	var encoded string
	err := s.withConn(ctx, "get search "+queryID, func(c *pgx.Conn) error {
		return c.QueryRow(ctx, `SELECT results FROM search_results WHERE query_id = $1 AND expires_at > $2`,
			queryID, s.now()).Scan(&encoded)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	rows, err := sqlcommon.PageSearch([]byte(encoded), offset, limit)
	return rows, true, wrap("get search "+queryID, err)
}

// FindDiscoveryRow returns an unexpired discovery row for the number under any query id
// (the one expiring last), or ErrNotFound.
func (s *Store) FindDiscoveryRow(ctx context.Context, number string) (*knm.SearchRow, error) {
	r, err := queryOne(ctx, s, "find discovery row "+number, knm.NotFound(number), sqlcommon.ScanSearchRow,
		`SELECT `+sqlcommon.SearchRowColumns+` FROM search_cache WHERE number = $1 AND state = $2 AND expires_at > $3
		ORDER BY expires_at DESC LIMIT 1`, number, string(knm.StateDiscovery), s.now())
	if err != nil {
		return nil, err
	}
	return &r, nil
}

// PurgeSearches deletes expired searches and returns how many it deleted.
func (s *Store) PurgeSearches(ctx context.Context) (int, error) {
	var n int64
	err := s.withTx(ctx, "purge searches", func(tx pgx.Tx) error {
		now := s.now()
		if _, err := tx.Exec(ctx, `DELETE FROM search_cache WHERE expires_at <= $1`, now); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM search_results WHERE expires_at <= $1`, now)
		n = tag.RowsAffected()
		return err
	})
	return int(n), err
}
