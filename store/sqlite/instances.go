package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/store/internal/sqlcommon"
)

// Every statement here has a twin in store/postgres/instances.go in PostgreSQL's dialect.

func scanInstance(row sqlcommon.Scanner) (*knm.Instance, error) {
	return sqlcommon.ScanInstance(row, fromUnixMilli)
}

// instanceLive reports whether instance id holds a lease lasting past now.
func instanceLive(ctx context.Context, tx *sql.Tx, id string, now time.Time) (bool, error) {
	var live bool
	err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM instances WHERE id = ? AND expires > ?)`,
		id, unixMilli(now)).Scan(&live)
	return live, err
}

// RegisterInstance stores a new instance with a lease of ttl from now.
func (s *Store) RegisterInstance(ctx context.Context, in *knm.Instance, ttl time.Duration) error {
	if err := sqlcommon.CheckInstance(in.ID, ttl); err != nil {
		return err
	}
	now := sqlcommon.Milli(s.now())
	return s.write(ctx, "register instance "+in.ID, func(tx *sql.Tx) error {
		err := execOne(ctx, tx, func() error { return sqlcommon.InstanceExists(in.ID) },
			`INSERT INTO instances (`+sqlcommon.InstanceColumns+`) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO NOTHING`, in.ID, in.Host, in.PID, unixMilli(now), unixMilli(now),
			unixMilli(now.Add(ttl)))
		if err == nil {
			in.Started, in.Heartbeat, in.Expires = now, now, now.Add(ttl)
		}
		return err
	})
}

// RenewInstance extends a live lease to now+ttl; an expired or released one is lost.
func (s *Store) RenewInstance(ctx context.Context, id string, ttl time.Duration) (time.Time, error) {
	if err := sqlcommon.CheckInstance(id, ttl); err != nil {
		return time.Time{}, err
	}
	now := sqlcommon.Milli(s.now())
	err := s.write(ctx, "renew instance "+id, func(tx *sql.Tx) error {
		return execOne(ctx, tx, func() error { return knm.LeaseLost(id) },
			`UPDATE instances SET heartbeat = ?, expires = ? WHERE id = ? AND expires > ?`,
			unixMilli(now), unixMilli(now.Add(ttl)), id, unixMilli(now))
	})
	if err != nil {
		return time.Time{}, err
	}
	return now.Add(ttl), nil
}

// ReleaseInstance ends the lease at once by deleting the instance.
func (s *Store) ReleaseInstance(ctx context.Context, id string) error {
	return s.write(ctx, "release instance "+id, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM instances WHERE id = ?`, id)
		return err
	})
}

// ListInstances returns every registered instance, ordered by id.
func (s *Store) ListInstances(ctx context.Context) ([]*knm.Instance, error) {
	return queryAll(ctx, s, "list instances", `SELECT `+sqlcommon.InstanceColumns+` FROM instances ORDER BY id`,
		nil, scanInstance)
}

// TakeOverJournal makes owner the entry's owner when its current owner's lease is not live.
func (s *Store) TakeOverJournal(ctx context.Context, id string, rev int64, owner string) (*knm.JournalEntry, error) {
	var e *knm.JournalEntry
	now := s.now()
	err := s.write(ctx, "take over journal "+id, func(tx *sql.Tx) error {
		if live, err := instanceLive(ctx, tx, owner, now); err != nil || !live {
			return cmp.Or(err, error(knm.LeaseLost(owner)))
		}
		cur, err := scanJournal(tx.QueryRowContext(ctx, `SELECT `+sqlcommon.JournalColumns+`
			FROM journals WHERE id = ?`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return sqlcommon.JournalNotFound(id)
		}
		if err != nil {
			return err
		}
		if cur.Rev != rev {
			return knm.Conflict("journal entry " + id)
		}
		if cur.Owner != "" && cur.Owner != owner {
			if live, err := instanceLive(ctx, tx, cur.Owner, now); err != nil || live {
				return cmp.Or(err, sqlcommon.OwnedByLive(id, cur.Owner))
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE journals SET owner = ?, fence = fence + 1, rev = rev + 1
			WHERE id = ?`, owner, id); err != nil {
			return err
		}
		cur.Owner, cur.Fence, cur.Rev = owner, cur.Fence+1, cur.Rev+1
		e = cur
		return nil
	})
	return e, err
}
