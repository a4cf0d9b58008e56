package postgres

import (
	"cmp"
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/knmproject/knm"
	"github.com/knmproject/knm/store/internal/sqlcommon"
)

// Every statement here has a twin in store/sqlite/docs.go in SQLite's dialect. The pairs are kept
// apart on purpose: each backend reads as plain SQL of its own, and storetest holds both to
// one behaviour.

func scanConfig(row sqlcommon.Scanner) (*knm.ConfigDoc, error) {
	return sqlcommon.ScanConfig(row, utc)
}

// GetConfig returns the document, or ErrNotFound.
func (s *Store) GetConfig(ctx context.Context, scope, id string) (*knm.ConfigDoc, error) {
	return queryOne(ctx, s, "get config "+id, sqlcommon.ConfigNotFound(scope, id), scanConfig,
		`SELECT `+sqlcommon.ConfigColumns+` FROM config_docs WHERE scope = $1 AND id = $2`, scope, id)
}

// PutConfig creates the document when d.Rev is 0 or replaces the one stored at d.Rev;
// ErrConflict otherwise. The body is stored as text, byte for byte.
func (s *Store) PutConfig(ctx context.Context, d *knm.ConfigDoc) error {
	if err := sqlcommon.CheckConfig(d); err != nil {
		return err
	}
	now := sqlcommon.Sec(s.now())
	return s.withConn(ctx, "put config "+d.ID, func(c *pgx.Conn) error {
		var err error
		if d.Rev == 0 {
			err = execOne(ctx, c, func() error { return sqlcommon.ConfigExists(d.Scope, d.ID) },
				`INSERT INTO config_docs (`+sqlcommon.ConfigColumns+`)
				VALUES ($1, $2, $3, 1, $4) ON CONFLICT (scope, id) DO NOTHING`, d.Scope, d.ID, string(d.Body), now)
		} else {
			gone := func() error {
				return missed(ctx, c, `SELECT EXISTS (SELECT 1 FROM config_docs WHERE scope = $1 AND id = $2)`,
					[]any{d.Scope, d.ID}, sqlcommon.ConfigNotFound(d.Scope, d.ID), "config "+d.ID)
			}
			err = execOne(ctx, c, gone, `UPDATE config_docs SET body = $1, rev = rev + 1, modified = $2
				WHERE scope = $3 AND id = $4 AND rev = $5`, string(d.Body), now, d.Scope, d.ID, d.Rev)
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
	err := s.withTx(ctx, "import configs", func(tx pgx.Tx) error {
		for i, d := range docs {
			err := tx.QueryRow(ctx, `INSERT INTO config_docs (`+sqlcommon.ConfigColumns+`)
				VALUES ($1, $2, $3, 1, $4) ON CONFLICT (scope, id)
				DO UPDATE SET body = excluded.body, rev = config_docs.rev + 1, modified = excluded.modified
				RETURNING rev`, d.Scope, d.ID, string(d.Body), now).Scan(&revs[i])
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
		`SELECT `+sqlcommon.ConfigColumns+` FROM config_docs WHERE scope = $1 ORDER BY id`, []any{scope}, scanConfig)
}

func scanJournal(row sqlcommon.Scanner) (*knm.JournalEntry, error) {
	return sqlcommon.ScanJournal(row, utc)
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
	return s.withConn(ctx, "create journal "+e.ID, func(c *pgx.Conn) error {
		// The insert and the lease check are one statement, so the lease cannot end between them.
		err := execOne(ctx, c, func() error { return s.createJournalMissed(ctx, c, e) },
			`INSERT INTO journals (`+sqlcommon.JournalColumns+`)
			SELECT $1, $2, $3, $4, 1, $5, $6, $7, $8
			WHERE $7 = '' OR EXISTS (SELECT 1 FROM instances WHERE id = $7 AND expires > $9)
			ON CONFLICT (id) DO NOTHING`, e.ID, e.Carrier, e.State, sqlcommon.NullText(e.Payload), e.Created,
			e.Updated, e.Owner, fence, sqlcommon.Milli(s.now()))
		if err == nil {
			e.Rev, e.Fence = 1, fence
		}
		return err
	})
}

// createJournalMissed tells why the insert of e added no row: the id is taken, or the
// owner's lease is not live.
func (s *Store) createJournalMissed(ctx context.Context, c *pgx.Conn, e *knm.JournalEntry) error {
	if e.Owner != "" {
		if live, err := instanceLive(ctx, c, e.Owner, s.now()); err != nil || !live {
			return cmp.Or(err, error(knm.LeaseLost(e.Owner)))
		}
	}
	return sqlcommon.JournalExists(e.ID)
}

// GetJournal returns the entry, or ErrNotFound.
func (s *Store) GetJournal(ctx context.Context, id string) (*knm.JournalEntry, error) {
	return queryOne(ctx, s, "get journal "+id, sqlcommon.JournalNotFound(id), scanJournal,
		`SELECT `+sqlcommon.JournalColumns+` FROM journals WHERE id = $1`, id)
}

// UpdateJournal replaces the entry stored at revision e.Rev (ErrNotFound, ErrConflict)
// and sets e.Updated; the writer must be the entry's owner at its fence, with a live lease.
func (s *Store) UpdateJournal(ctx context.Context, e *knm.JournalEntry) error {
	if err := sqlcommon.CheckJournal(e); err != nil {
		return err
	}
	now := sqlcommon.Sec(s.now())
	return s.withConn(ctx, "update journal "+e.ID, func(c *pgx.Conn) error {
		gone := func() error { return s.journalMissed(ctx, c, e) }
		rev, created, err := updateAtRev(ctx, c, gone, `UPDATE journals SET carrier = $1, state = $2, payload = $3,
			rev = rev + 1, updated = $4 WHERE id = $5 AND rev = $6 AND owner = $7 AND fence = $8
			AND (owner = '' OR EXISTS (SELECT 1 FROM instances i WHERE i.id = journals.owner AND i.expires > $9))
			RETURNING rev, created`,
			e.Carrier, e.State, sqlcommon.NullText(e.Payload), now, e.ID, e.Rev, e.Owner, e.Fence,
			sqlcommon.Milli(s.now()))
		if err == nil {
			e.Rev, e.Created, e.Updated = rev, created, now
		}
		return err
	})
}

// journalMissed tells why a write of e matched no row: gone, written by another, or fenced.
func (s *Store) journalMissed(ctx context.Context, c *pgx.Conn, e *knm.JournalEntry) error {
	var (
		owner string
		fence int64
	)
	err := c.QueryRow(ctx, `SELECT owner, fence FROM journals WHERE id = $1`, e.ID).Scan(&owner, &fence)
	if errors.Is(err, pgx.ErrNoRows) {
		return sqlcommon.JournalNotFound(e.ID)
	}
	if err != nil {
		return err
	}
	live := true
	if e.Owner != "" {
		if live, err = instanceLive(ctx, c, e.Owner, s.now()); err != nil {
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
// returns the ref stored then. Of concurrent claims, the INSERTs that lose wait for the
// winner's commit and insert nothing; the SELECT that follows, a new statement, sees the
// winner's ref.
func (s *Store) ClaimIdempotencyKey(ctx context.Context, key, ref string) (string, bool, error) {
	if err := sqlcommon.CheckIdempotencyKey(key); err != nil {
		return "", false, err
	}
	var (
		stored  string
		claimed bool
	)
	err := s.withConn(ctx, "claim idempotency key", func(c *pgx.Conn) error {
		tag, err := c.Exec(ctx, `INSERT INTO idempotency_keys (key, ref, created) VALUES ($1, $2, $3)
			ON CONFLICT (key) DO NOTHING`, key, ref, s.now())
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 1 {
			stored, claimed = ref, true
			return nil
		}
		return c.QueryRow(ctx, `SELECT ref FROM idempotency_keys WHERE key = $1`, key).Scan(&stored)
	})
	if err != nil {
		return "", false, err
	}
	return stored, claimed, nil
}
