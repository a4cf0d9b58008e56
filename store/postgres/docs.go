package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/knmproject/knm"
	"github.com/knmproject/knm/store/internal/sqlcommon"
)

func configNotFound(scope, id string) error {
	return knm.Errorf(knm.ErrNotFound, "config %s not found in scope %q", id, scope).WithCause(id)
}

func scanConfig(row pgx.Row) (*knm.ConfigDoc, error) {
	var (
		d        knm.ConfigDoc
		body     string
		modified time.Time
	)
	if err := row.Scan(&d.Scope, &d.ID, &body, &d.Rev, &modified); err != nil {
		return nil, err
	}
	d.Body, d.Modified = []byte(body), utc(modified)
	return &d, nil
}

// GetConfig returns the document, or ErrNotFound.
func (s *Store) GetConfig(ctx context.Context, scope, id string) (*knm.ConfigDoc, error) {
	var d *knm.ConfigDoc
	err := s.withConn(ctx, "get config "+id, func(c *pgx.Conn) (err error) {
		d, err = scanConfig(c.QueryRow(ctx, `SELECT scope, id, body, rev, modified FROM config_docs
			WHERE scope = $1 AND id = $2`, scope, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return configNotFound(scope, id)
		}
		return err
	})
	return d, err
}

// PutConfig creates the document when d.Rev is 0 or replaces the one stored at d.Rev;
// ErrConflict otherwise. The body is stored as text, byte for byte.
func (s *Store) PutConfig(ctx context.Context, d *knm.ConfigDoc) error {
	if err := sqlcommon.CheckConfig(d); err != nil {
		return err
	}
	now := sqlcommon.Sec(s.now())
	return s.withConn(ctx, "put config "+d.ID, func(c *pgx.Conn) error {
		if d.Rev == 0 {
			tag, err := c.Exec(ctx, `INSERT INTO config_docs (scope, id, body, rev, modified)
				VALUES ($1, $2, $3, 1, $4) ON CONFLICT (scope, id) DO NOTHING`, d.Scope, d.ID, string(d.Body), now)
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 0 {
				return knm.Errorf(knm.ErrConflict, "config %s already exists in scope %q", d.ID, d.Scope)
			}
		} else {
			tag, err := c.Exec(ctx, `UPDATE config_docs SET body = $1, rev = rev + 1, modified = $2
				WHERE scope = $3 AND id = $4 AND rev = $5`, string(d.Body), now, d.Scope, d.ID, d.Rev)
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 0 {
				return missed(ctx, c, `SELECT EXISTS (SELECT 1 FROM config_docs WHERE scope = $1 AND id = $2)`,
					[]any{d.Scope, d.ID}, configNotFound(d.Scope, d.ID), "config "+d.ID)
			}
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
	err := s.withTx(ctx, "import configs", func(tx pgx.Tx) error {
		for i, d := range docs {
			err := tx.QueryRow(ctx, `INSERT INTO config_docs (scope, id, body, rev, modified)
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
	var out []*knm.ConfigDoc
	err := s.withConn(ctx, "list configs", func(c *pgx.Conn) error {
		rows, err := c.Query(ctx, `SELECT scope, id, body, rev, modified FROM config_docs
			WHERE scope = $1 ORDER BY id`, scope)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			d, err := scanConfig(rows)
			if err != nil {
				return err
			}
			out = append(out, d)
		}
		return rows.Err()
	})
	return out, err
}

func journalNotFound(id string) error {
	return knm.Errorf(knm.ErrNotFound, "journal entry %s not found", id).WithCause(id)
}

const journalColumns = `id, carrier, state, payload, rev, created, updated`

func scanJournal(row pgx.Row) (*knm.JournalEntry, error) {
	var (
		e                knm.JournalEntry
		payload          []byte
		created, updated time.Time
	)
	if err := row.Scan(&e.ID, &e.Carrier, &e.State, &payload, &e.Rev, &created, &updated); err != nil {
		return nil, err
	}
	if len(payload) > 0 {
		e.Payload = payload
	}
	e.Created, e.Updated = utc(created), utc(updated)
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
	return s.withConn(ctx, "create journal "+e.ID, func(c *pgx.Conn) error {
		tag, err := c.Exec(ctx, `INSERT INTO journals (`+journalColumns+`) VALUES ($1, $2, $3, $4, 1, $5, $6)
			ON CONFLICT (id) DO NOTHING`, e.ID, e.Carrier, e.State, nullText(e.Payload), e.Created, e.Updated)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return knm.Errorf(knm.ErrConflict, "journal entry %s already exists", e.ID)
		}
		e.Rev = 1
		return nil
	})
}

// GetJournal returns the entry, or ErrNotFound.
func (s *Store) GetJournal(ctx context.Context, id string) (*knm.JournalEntry, error) {
	var e *knm.JournalEntry
	err := s.withConn(ctx, "get journal "+id, func(c *pgx.Conn) (err error) {
		e, err = scanJournal(c.QueryRow(ctx, `SELECT `+journalColumns+` FROM journals WHERE id = $1`, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return journalNotFound(id)
		}
		return err
	})
	return e, err
}

// UpdateJournal replaces the entry stored at revision e.Rev (ErrNotFound, ErrConflict)
// and sets e.Updated.
func (s *Store) UpdateJournal(ctx context.Context, e *knm.JournalEntry) error {
	if err := sqlcommon.CheckJournal(e); err != nil {
		return err
	}
	now := sqlcommon.Sec(s.now())
	return s.withConn(ctx, "update journal "+e.ID, func(c *pgx.Conn) error {
		var (
			rev     int64
			created time.Time
		)
		err := c.QueryRow(ctx, `UPDATE journals SET carrier = $1, state = $2, payload = $3, rev = rev + 1,
			updated = $4 WHERE id = $5 AND rev = $6 RETURNING rev, created`,
			e.Carrier, e.State, nullText(e.Payload), now, e.ID, e.Rev).Scan(&rev, &created)
		if errors.Is(err, pgx.ErrNoRows) {
			return missed(ctx, c, `SELECT EXISTS (SELECT 1 FROM journals WHERE id = $1)`, []any{e.ID},
				journalNotFound(e.ID), "journal entry "+e.ID)
		}
		if err != nil {
			return err
		}
		e.Rev, e.Created, e.Updated = rev, utc(created), now
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
	q := `SELECT ` + journalColumns + ` FROM journals` + w.String() + ` ORDER BY created, id` + sqlcommon.LimitOffset(f.Limit, f.Offset)
	var out []*knm.JournalEntry
	err := s.withConn(ctx, "find journals", func(c *pgx.Conn) error {
		rows, err := c.Query(ctx, q, w.Args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			e, err := scanJournal(rows)
			if err != nil {
				return err
			}
			out = append(out, e)
		}
		return rows.Err()
	})
	return out, err
}

// ClaimIdempotencyKey records key -> ref unless key was claimed before, in which case it
// returns the ref stored then. Of concurrent claims, the INSERTs that lose wait for the
// winner's commit and insert nothing; the SELECT that follows, a new statement, sees the
// winner's ref.
func (s *Store) ClaimIdempotencyKey(ctx context.Context, key, ref string) (string, bool, error) {
	if key == "" {
		return "", false, knm.Errorf(knm.ErrInvalid, "empty idempotency key")
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
