package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/knmproject/knm"
	"github.com/knmproject/knm/store/internal/sqlcommon"
)

const accountColumns = `id, rev, name, parent_id, tree, reseller, reseller_id, superduper_admin,
	allow_number_additions, enabled, created, modified`

func scanAccount(row pgx.Row) (*knm.Account, error) {
	var (
		a                 knm.Account
		created, modified time.Time
	)
	err := row.Scan(&a.ID, &a.Rev, &a.Name, &a.ParentID, &a.Tree, &a.Reseller, &a.ResellerID,
		&a.SuperduperAdmin, &a.AllowNumberAdditions, &a.Enabled, &created, &modified)
	if err != nil {
		return nil, err
	}
	if len(a.Tree) == 0 {
		a.Tree = nil
	}
	a.Created, a.Modified = utc(created), utc(modified)
	return &a, nil
}

// tree returns the account's ancestors as a non-NULL text[].
func tree(t []string) []string {
	if t == nil {
		return []string{}
	}
	return t
}

func accountNotFound(id string) error {
	return knm.Errorf(knm.ErrNotFound, "account %s not found", id).WithCause(id)
}

// GetAccount returns the account, or ErrNotFound.
func (s *Store) GetAccount(ctx context.Context, id string) (*knm.Account, error) {
	var a *knm.Account
	err := s.withConn(ctx, "get account "+id, func(c *pgx.Conn) (err error) {
		a, err = scanAccount(c.QueryRow(ctx, `SELECT `+accountColumns+` FROM accounts WHERE id = $1`, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return accountNotFound(id)
		}
		return err
	})
	return a, err
}

// CreateAccount stores a new account with Rev 1; ErrConflict if the id exists.
func (s *Store) CreateAccount(ctx context.Context, a *knm.Account) error {
	if a.ID == "" {
		return knm.Errorf(knm.ErrInvalid, "account has no id")
	}
	now := sqlcommon.Sec(s.now())
	if a.Created.IsZero() {
		a.Created = now
	}
	if a.Modified.IsZero() {
		a.Modified = now
	}
	a.Created, a.Modified = sqlcommon.Sec(a.Created), sqlcommon.Sec(a.Modified)
	return s.withConn(ctx, "create account "+a.ID, func(c *pgx.Conn) error {
		tag, err := c.Exec(ctx, `INSERT INTO accounts (`+accountColumns+`)
			VALUES ($1, 1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (id) DO NOTHING`,
			a.ID, a.Name, a.ParentID, tree(a.Tree), a.Reseller, a.ResellerID, a.SuperduperAdmin,
			a.AllowNumberAdditions, a.Enabled, a.Created, a.Modified)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return knm.Errorf(knm.ErrConflict, "account %s already exists", a.ID)
		}
		a.Rev = 1
		return nil
	})
}

// UpdateAccount replaces the account stored at revision a.Rev (ErrNotFound, ErrConflict).
// The API key hash is not part of knm.Account and is left as it is.
func (s *Store) UpdateAccount(ctx context.Context, a *knm.Account) error {
	now := sqlcommon.Sec(s.now())
	var created *time.Time
	if !a.Created.IsZero() {
		c := sqlcommon.Sec(a.Created)
		created = &c
	}
	return s.withConn(ctx, "update account "+a.ID, func(c *pgx.Conn) error {
		var (
			rev    int64
			stored time.Time
		)
		err := c.QueryRow(ctx, `UPDATE accounts SET rev = rev + 1, name = $1, parent_id = $2, tree = $3,
			reseller = $4, reseller_id = $5, superduper_admin = $6, allow_number_additions = $7, enabled = $8,
			modified = $9, created = coalesce($10, created)
			WHERE id = $11 AND rev = $12 RETURNING rev, created`,
			a.Name, a.ParentID, tree(a.Tree), a.Reseller, a.ResellerID, a.SuperduperAdmin,
			a.AllowNumberAdditions, a.Enabled, now, created, a.ID, a.Rev).Scan(&rev, &stored)
		if errors.Is(err, pgx.ErrNoRows) {
			return missed(ctx, c, `SELECT EXISTS (SELECT 1 FROM accounts WHERE id = $1)`, []any{a.ID},
				accountNotFound(a.ID), "account "+a.ID)
		}
		if err != nil {
			return err
		}
		a.Rev, a.Created, a.Modified = rev, utc(stored), now
		return nil
	})
}

// FindAccounts returns the accounts matching f, ordered by id. Ancestor uses the GIN
// index on tree.
func (s *Store) FindAccounts(ctx context.Context, f knm.AccountFilter) ([]*knm.Account, error) {
	w := &sqlcommon.Where{Placeholder: placeholder}
	if f.ParentID != nil {
		w.Add("parent_id = " + w.Arg(*f.ParentID))
	}
	if f.Ancestor != "" {
		w.Add("tree @> ARRAY[" + w.Arg(f.Ancestor) + "::text]")
	}
	if f.APIKeyHash != "" {
		w.Add("api_key_hash = " + w.Arg(f.APIKeyHash))
	}
	q := `SELECT ` + accountColumns + ` FROM accounts` + w.String() + ` ORDER BY id` + sqlcommon.LimitOffset(f.Limit, f.Offset)
	var out []*knm.Account
	err := s.withConn(ctx, "find accounts", func(c *pgx.Conn) error {
		rows, err := c.Query(ctx, q, w.Args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			a, err := scanAccount(rows)
			if err != nil {
				return err
			}
			out = append(out, a)
		}
		return rows.Err()
	})
	return out, err
}

// SetAccountAPIKeyHash stores the hash of the account's API key ("" removes it), so
// FindAccounts can find the account by AccountFilter.APIKeyHash. knm.Account has no field
// for it. Returns ErrNotFound for an unknown account and ErrConflict if another account
// holds the same hash. It does not change the account's revision.
func (s *Store) SetAccountAPIKeyHash(ctx context.Context, accountID, hash string) error {
	return s.withConn(ctx, "set api key of account "+accountID, func(c *pgx.Conn) error {
		tag, err := c.Exec(ctx, `UPDATE accounts SET api_key_hash = NULLIF($1, '') WHERE id = $2`, hash, accountID)
		if isUniqueViolation(err) {
			return knm.Errorf(knm.ErrConflict, "API key hash already belongs to another account")
		}
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return accountNotFound(accountID)
		}
		return nil
	})
}
