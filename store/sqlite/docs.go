package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/store/internal/sqlcommon"
)

func configNotFound(scope, id string) error {
	return knm.Errorf(knm.ErrNotFound, "config %s not found in scope %q", id, scope).WithCause(id)
}

func scanConfig(row scanner) (*knm.ConfigDoc, error) {
	var (
		d        knm.ConfigDoc
		body     []byte
		modified int64
	)
	if err := row.Scan(&d.Scope, &d.ID, &body, &d.Rev, &modified); err != nil {
		return nil, err
	}
	d.Body = body
	d.Modified = fromUnix(modified)
	return &d, nil
}

// GetConfig returns the document, or ErrNotFound.
func (s *Store) GetConfig(ctx context.Context, scope, id string) (*knm.ConfigDoc, error) {
	d, err := scanConfig(s.rdb.QueryRowContext(ctx,
		`SELECT scope, id, body, rev, modified FROM config_docs WHERE scope = ? AND id = ?`, scope, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, configNotFound(scope, id)
	}
	return d, wrap("get config "+id, err)
}

// PutConfig creates the document when d.Rev is 0 or replaces the one stored at d.Rev;
// ErrConflict otherwise. The body is stored byte for byte.
func (s *Store) PutConfig(ctx context.Context, d *knm.ConfigDoc) error {
	if err := sqlcommon.CheckConfig(d); err != nil {
		return err
	}
	now := sqlcommon.Sec(s.now())
	return s.write(ctx, "put config "+d.ID, func(tx *sql.Tx) error {
		var (
			res sql.Result
			err error
		)
		if d.Rev == 0 {
			res, err = tx.ExecContext(ctx, `INSERT INTO config_docs (scope, id, body, rev, modified)
				VALUES (?, ?, ?, 1, ?) ON CONFLICT (scope, id) DO NOTHING`, d.Scope, d.ID, string(d.Body), unix(now))
		} else {
			res, err = tx.ExecContext(ctx, `UPDATE config_docs SET body = ?, rev = rev + 1, modified = ?
				WHERE scope = ? AND id = ? AND rev = ?`, string(d.Body), unix(now), d.Scope, d.ID, d.Rev)
		}
		if err != nil {
			return err
		}
		if k, err := res.RowsAffected(); err != nil {
			return err
		} else if k == 0 {
			if d.Rev == 0 {
				return knm.Errorf(knm.ErrConflict, "config %s already exists in scope %q", d.ID, d.Scope)
			}
			return s.missed(ctx, tx, "config_docs", "scope = ? AND id = ?", []any{d.Scope, d.ID},
				configNotFound(d.Scope, d.ID), "config "+d.ID)
		}
		d.Rev++
		d.Modified = now
		return nil
	})
}

// ImportConfigs writes every document in one transaction, replacing stored ones; an
// invalid document in the batch means nothing is written.
func (s *Store) ImportConfigs(ctx context.Context, docs []*knm.ConfigDoc) error {
	for _, d := range docs {
		if err := sqlcommon.CheckConfig(d); err != nil {
			return err
		}
	}
	now := sqlcommon.Sec(s.now())
	revs := make([]int64, len(docs))
	err := s.write(ctx, "import configs", func(tx *sql.Tx) error {
		for i, d := range docs {
			err := tx.QueryRowContext(ctx, `INSERT INTO config_docs (scope, id, body, rev, modified)
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
	rows, err := s.rdb.QueryContext(ctx,
		`SELECT scope, id, body, rev, modified FROM config_docs WHERE scope = ? ORDER BY id`, scope)
	if err != nil {
		return nil, wrap("list configs", err)
	}
	defer rows.Close()
	var out []*knm.ConfigDoc
	for rows.Next() {
		d, err := scanConfig(rows)
		if err != nil {
			return nil, wrap("list configs", err)
		}
		out = append(out, d)
	}
	return out, wrap("list configs", rows.Err())
}

func journalNotFound(id string) error {
	return knm.Errorf(knm.ErrNotFound, "journal entry %s not found", id).WithCause(id)
}

const journalColumns = `id, carrier, state, payload, rev, created, updated`

func scanJournal(row scanner) (*knm.JournalEntry, error) {
	var (
		e                knm.JournalEntry
		payload          []byte
		created, updated int64
	)
	if err := row.Scan(&e.ID, &e.Carrier, &e.State, &payload, &e.Rev, &created, &updated); err != nil {
		return nil, err
	}
	if len(payload) > 0 {
		e.Payload = payload
	}
	e.Created, e.Updated = fromUnix(created), fromUnix(updated)
	return &e, nil
}

// CreateJournal stores a new entry with Rev 1; ErrConflict if the id exists.
func (s *Store) CreateJournal(ctx context.Context, e *knm.JournalEntry) error {
	if err := sqlcommon.CheckJournal(e); err != nil {
		return err
	}
	now := sqlcommon.Sec(s.now())
	if e.Created.IsZero() {
		e.Created = now
	}
	if e.Updated.IsZero() {
		e.Updated = now
	}
	e.Created, e.Updated = sqlcommon.Sec(e.Created), sqlcommon.Sec(e.Updated)
	return s.write(ctx, "create journal "+e.ID, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO journals (`+journalColumns+`) VALUES (?, ?, ?, ?, 1, ?, ?)
			ON CONFLICT (id) DO NOTHING`, e.ID, e.Carrier, e.State, nullText(e.Payload), unix(e.Created), unix(e.Updated))
		if err != nil {
			return err
		}
		if k, err := res.RowsAffected(); err != nil {
			return err
		} else if k == 0 {
			return knm.Errorf(knm.ErrConflict, "journal entry %s already exists", e.ID)
		}
		e.Rev = 1
		return nil
	})
}

// GetJournal returns the entry, or ErrNotFound.
func (s *Store) GetJournal(ctx context.Context, id string) (*knm.JournalEntry, error) {
	e, err := scanJournal(s.rdb.QueryRowContext(ctx, `SELECT `+journalColumns+` FROM journals WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, journalNotFound(id)
	}
	return e, wrap("get journal "+id, err)
}

// UpdateJournal replaces the entry stored at revision e.Rev (ErrNotFound, ErrConflict)
// and sets e.Updated.
func (s *Store) UpdateJournal(ctx context.Context, e *knm.JournalEntry) error {
	if err := sqlcommon.CheckJournal(e); err != nil {
		return err
	}
	now := sqlcommon.Sec(s.now())
	return s.write(ctx, "update journal "+e.ID, func(tx *sql.Tx) error {
		var rev, created int64
		err := tx.QueryRowContext(ctx, `UPDATE journals SET carrier = ?, state = ?, payload = ?, rev = rev + 1,
			updated = ? WHERE id = ? AND rev = ? RETURNING rev, created`,
			e.Carrier, e.State, nullText(e.Payload), unix(now), e.ID, e.Rev).Scan(&rev, &created)
		if errors.Is(err, sql.ErrNoRows) {
			return s.missed(ctx, tx, "journals", "id = ?", []any{e.ID}, journalNotFound(e.ID), "journal entry "+e.ID)
		}
		if err != nil {
			return err
		}
		e.Rev, e.Created, e.Updated = rev, fromUnix(created), now
		return nil
	})
}

// FindJournals returns the entries matching f, ordered by creation time, then id.
func (s *Store) FindJournals(ctx context.Context, f knm.JournalFilter) ([]*knm.JournalEntry, error) {
	w := &sqlcommon.Where{Placeholder: placeholder}
	if f.Carrier != "" {
		w.Add("carrier = " + w.Arg(f.Carrier))
	}
	if len(f.States) > 0 {
		w.Add(w.In("state", f.States))
	}
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+journalColumns+` FROM journals`+w.String()+
		` ORDER BY created, id`+sqlcommon.LimitOffset(f.Limit, f.Offset), w.Args...)
	if err != nil {
		return nil, wrap("find journals", err)
	}
	defer rows.Close()
	var out []*knm.JournalEntry
	for rows.Next() {
		e, err := scanJournal(rows)
		if err != nil {
			return nil, wrap("find journals", err)
		}
		out = append(out, e)
	}
	return out, wrap("find journals", rows.Err())
}

// ClaimIdempotencyKey records key -> ref unless key was claimed before, in which case it
// returns the ref stored then. Claims are serialised on the write connection (and by
// SQLite's write lock across processes), so exactly one of concurrent claims wins.
func (s *Store) ClaimIdempotencyKey(ctx context.Context, key, ref string) (string, bool, error) {
	if key == "" {
		return "", false, knm.Errorf(knm.ErrInvalid, "empty idempotency key")
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
