package postgres

import (
	"cmp"
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/knmproject/knm"
	"github.com/knmproject/knm/store/internal/sqlcommon"
)

// Every statement here has a twin in store/sqlite/instances.go in SQLite's dialect.

func scanInstance(row sqlcommon.Scanner) (*knm.Instance, error) {
	return sqlcommon.ScanInstance(row, utc)
}

// instanceLive reports whether instance id holds a lease lasting past now.
func instanceLive(ctx context.Context, c querier, id string, now time.Time) (bool, error) {
	var live bool
	err := c.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM instances WHERE id = $1 AND expires > $2)`,
		id, sqlcommon.Milli(now)).Scan(&live)
	return live, err
}

// RegisterInstance stores a new instance with a lease of ttl from now.
func (s *Store) RegisterInstance(ctx context.Context, in *knm.Instance, ttl time.Duration) error {
	if err := sqlcommon.CheckInstance(in.ID, ttl); err != nil {
		return err
	}
	now := sqlcommon.Milli(s.now())
	return s.withConn(ctx, "register instance "+in.ID, func(c *pgx.Conn) error {
		err := execOne(ctx, c, func() error { return sqlcommon.InstanceExists(in.ID) },
			`INSERT INTO instances (`+sqlcommon.InstanceColumns+`) VALUES ($1, $2, $3, $4, $4, $5)
			ON CONFLICT (id) DO NOTHING`, in.ID, in.Host, in.PID, now, now.Add(ttl))
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
	err := s.withConn(ctx, "renew instance "+id, func(c *pgx.Conn) error {
		return execOne(ctx, c, func() error { return knm.LeaseLost(id) },
			`UPDATE instances SET heartbeat = $1, expires = $2 WHERE id = $3 AND expires > $1`,
			now, now.Add(ttl), id)
	})
	if err != nil {
		return time.Time{}, err
	}
	return now.Add(ttl), nil
}

// ReleaseInstance ends the lease at once by deleting the instance.
func (s *Store) ReleaseInstance(ctx context.Context, id string) error {
	return s.withConn(ctx, "release instance "+id, func(c *pgx.Conn) error {
		_, err := c.Exec(ctx, `DELETE FROM instances WHERE id = $1`, id)
		return err
	})
}

// ListInstances returns every registered instance, ordered by id.
func (s *Store) ListInstances(ctx context.Context) ([]*knm.Instance, error) {
	return queryAll(ctx, s, "list instances", `SELECT `+sqlcommon.InstanceColumns+` FROM instances ORDER BY id`,
		nil, scanInstance)
}

// TakeOverJournal makes owner the entry's owner when its current owner's lease is not live.
// The entry's row is locked for the transaction, so of two instances taking it over at
// once, the second finds the first's revision and gets a conflict.
func (s *Store) TakeOverJournal(ctx context.Context, id string, rev int64, owner string) (*knm.JournalEntry, error) {
	var e *knm.JournalEntry
	now := s.now()
	err := s.withTx(ctx, "take over journal "+id, func(tx pgx.Tx) error {
		if live, err := instanceLive(ctx, tx, owner, now); err != nil || !live {
			return cmp.Or(err, error(knm.LeaseLost(owner)))
		}
		cur, err := scanJournal(tx.QueryRow(ctx, `SELECT `+sqlcommon.JournalColumns+`
			FROM journals WHERE id = $1 FOR UPDATE`, id))
		if errors.Is(err, pgx.ErrNoRows) {
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
		if _, err := tx.Exec(ctx, `UPDATE journals SET owner = $1, fence = fence + 1, rev = rev + 1
			WHERE id = $2`, owner, id); err != nil {
			return err
		}
		cur.Owner, cur.Fence, cur.Rev = owner, cur.Fence+1, cur.Rev+1
		e = cur
		return nil
	})
	return e, err
}
