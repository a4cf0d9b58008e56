package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/store/internal/sqlcommon"
)

// Every statement here has a twin in store/postgres/docs.go in PostgreSQL's dialect. The pairs are kept
// apart on purpose: each backend reads as plain SQL of its own, and storetest holds both to
// one behaviour.

func scanConfig(row sqlcommon.Scanner) (*knm.ConfigDoc, error) {
	return sqlcommon.ScanConfig(row, fromUnix)
}

// GetConfig returns the document, or ErrNotFound.
func (s *Store) GetConfig(ctx context.Context, scope, id string) (*knm.ConfigDoc, error) {
	return queryOne(ctx, s, "get config "+id, sqlcommon.ConfigNotFound(scope, id), scanConfig,
		`SELECT `+sqlcommon.ConfigColumns+` FROM config_docs WHERE scope = ? AND id = ?`, scope, id)
}

// PutConfig creates the document when d.Rev is 0 or replaces the one stored at d.Rev;
// ErrConflict otherwise. The body is stored byte for byte.
func (s *Store) PutConfig(ctx context.Context, d *knm.ConfigDoc) error {
	if err := sqlcommon.CheckConfig(d); err != nil {
		return err
	}
	now := sqlcommon.Sec(s.now())
	return s.write(ctx, "put config "+d.ID, func(tx *sql.Tx) error {
		var err error
		if d.Rev == 0 {
			err = execOne(ctx, tx, func() error { return sqlcommon.ConfigExists(d.Scope, d.ID) },
				`INSERT INTO config_docs (`+sqlcommon.ConfigColumns+`)
				VALUES (?, ?, ?, 1, ?) ON CONFLICT (scope, id) DO NOTHING`, d.Scope, d.ID, string(d.Body), unix(now))
		} else {
			gone := func() error {
				return s.missed(ctx, tx, "config_docs", "scope = ? AND id = ?", []any{d.Scope, d.ID},
					sqlcommon.ConfigNotFound(d.Scope, d.ID), "config "+d.ID)
			}
			err = execOne(ctx, tx, gone, `UPDATE config_docs SET body = ?, rev = rev + 1, modified = ?
				WHERE scope = ? AND id = ? AND rev = ?`, string(d.Body), unix(now), d.Scope, d.ID, d.Rev)
		}
		if err != nil {
			return err
		}
		d.Rev++
		d.Modified = now
		return nil
	})
}

// ImportConfigs writes every document in one transaction, replacing stored ones; an
// invalid document in the batch means nothing is written.
func (s *Store) ImportConfigs(ctx context.Context, docs []*knm.ConfigDoc) error {
	if err := sqlcommon.CheckConfigs(docs); err != nil {
		return err
	}
	now := sqlcommon.Sec(s.now())
	revs := make([]int64, len(docs))
	err := s.write(ctx, "import configs", func(tx *sql.Tx) error {
		for i, d := range docs {
			err := tx.QueryRowContext(ctx, `INSERT INTO config_docs (`+sqlcommon.ConfigColumns+`)
				VALUES (?, ?, ?, 1, ?) ON CONFLICT (scope, id)
				DO UPDATE SET body = excluded.body, rev = config_docs.rev + 1, modified = excluded.modified
				RETURNING rev`, d.Scope, d.ID, string(d.Body), unix(now)).Scan(&revs[i])
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for i, d := range docs {
		d.Rev, d.Modified = revs[i], now
	}
	return nil
}

// ListConfigs returns every document of a scope, ordered by id.
func (s *Store) ListConfigs(ctx context.Context, scope string) ([]*knm.ConfigDoc, error) {
	return queryAll(ctx, s, "list configs",
		`SELECT `+sqlcommon.ConfigColumns+` FROM config_docs WHERE scope = ? ORDER BY id`, []any{scope}, scanConfig)
}

func scanJournal(row sqlcommon.Scanner) (*knm.JournalEntry, error) {
	return sqlcommon.ScanJournal(row, fromUnix)
}

// CreateJournal stores a new entry with Rev 1; ErrConflict if the id exists. An entry with
// an owner starts at Fence 1, and only while the owner's lease is live.
func (s *Store) CreateJournal(ctx context.Context, e *knm.JournalEntry) error {
	if err := sqlcommon.CheckJournal(e); err != nil {
		return err
	}
	sqlcommon.Stamp(s.now(), &e.Created, &e.Updated)
	fence := int64(0)
	if e.Owner != "" {
		fence = 1
	}
	return s.write(ctx, "create journal "+e.ID, func(tx *sql.Tx) error {
		if e.Owner != "" {
			if live, err := instanceLive(ctx, tx, e.Owner, s.now()); err != nil || !live {
				return cmp.Or(err, error(knm.LeaseLost(e.Owner)))
			}
		}
		err := execOne(ctx, tx, func() error { return sqlcommon.JournalExists(e.ID) },
			`INSERT INTO journals (`+sqlcommon.JournalColumns+`) VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?)
			ON CONFLICT (id) DO NOTHING`, e.ID, e.Carrier, e.State, sqlcommon.NullText(e.Payload), unix(e.Created),
			unix(e.Updated), e.Owner, fence)
		if err == nil {
			e.Rev, e.Fence = 1, fence
		}
		return err
	})
}

// GetJournal returns the entry, or ErrNotFound.
func (s *Store) GetJournal(ctx context.Context, id string) (*knm.JournalEntry, error) {
	return queryOne(ctx, s, "get journal "+id, sqlcommon.JournalNotFound(id), scanJournal,
		`SELECT `+sqlcommon.JournalColumns+` FROM journals WHERE id = ?`, id)
}

// UpdateJournal replaces the entry stored at revision e.Rev (ErrNotFound, ErrConflict)
// and sets e.Updated; the writer must be the entry's owner at its fence, with a live lease.
func (s *Store) UpdateJournal(ctx context.Context, e *knm.JournalEntry) error {
	if err := sqlcommon.CheckJournal(e); err != nil {
		return err
	}
	now := sqlcommon.Sec(s.now())
	nowMs := unixMilli(s.now())
	return s.write(ctx, "update journal "+e.ID, func(tx *sql.Tx) error {
		gone := func() error { return s.journalMissed(ctx, tx, e) }
		rev, created, err := updateAtRev(ctx, tx, gone, `UPDATE journals SET carrier = ?, state = ?, payload = ?,
			rev = rev + 1, updated = ? WHERE id = ? AND rev = ? AND owner = ? AND fence = ?
			AND (owner = '' OR EXISTS (SELECT 1 FROM instances i WHERE i.id = journals.owner AND i.expires > ?))
			RETURNING rev, created`,
			e.Carrier, e.State, sqlcommon.NullText(e.Payload), unix(now), e.ID, e.Rev, e.Owner, e.Fence, nowMs)
		if err == nil {
			e.Rev, e.Created, e.Updated = rev, created, now
		}
		return err
	})
}

// journalMissed tells why a write of e matched no row: gone, written by another, or fenced.
func (s *Store) journalMissed(ctx context.Context, tx *sql.Tx, e *knm.JournalEntry) error {
	var (
		owner string
		fence int64
	)
	err := tx.QueryRowContext(ctx, `SELECT owner, fence FROM journals WHERE id = ?`, e.ID).Scan(&owner, &fence)
	if errors.Is(err, sql.ErrNoRows) {
		return sqlcommon.JournalNotFound(e.ID)
	}
	if err != nil {
		return err
	}
	live := true
	if e.Owner != "" {
		if live, err = instanceLive(ctx, tx, e.Owner, s.now()); err != nil {
			return err
		}
	}
	return sqlcommon.JournalWriteMissed(e, owner, fence, live)
}

// FindJournals returns the entries matching f, ordered by creation time, then id.
func (s *Store) FindJournals(ctx context.Context, f knm.JournalFilter) ([]*knm.JournalEntry, error) {
	q, args := sqlcommon.FindJournalsQuery(f, placeholder)
	return queryAll(ctx, s, "find journals", q, args, scanJournal)
}

// ClaimIdempotencyKey records key -> ref unless key was claimed before, in which case it
// returns the ref stored then. Claims are serialised on the write connection (and by
// SQLite's write lock across processes), so exactly one of concurrent claims wins.
func (s *Store) ClaimIdempotencyKey(ctx context.Context, key, ref string) (string, bool, error) {
	if err := sqlcommon.CheckIdempotencyKey(key); err != nil {
		return "", false, err
	}
	var (
		stored  string
		claimed bool
	)
	err := s.write(ctx, "claim idempotency key", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO idempotency_keys (key, ref, created) VALUES (?, ?, ?)
			ON CONFLICT (key) DO NOTHING`, key, ref, unix(s.now()))
		if err != nil {
			return err
		}
		if k, err := res.RowsAffected(); err != nil {
			return err
		} else if k == 1 {
			stored, claimed = ref, true
			return nil
		}
		return tx.QueryRowContext(ctx, `SELECT ref FROM idempotency_keys WHERE key = ?`, key).Scan(&stored)
	})
	if err != nil {
		return "", false, err
	}
	return stored, claimed, nil
}
