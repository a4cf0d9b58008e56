package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/store/internal/sqlcommon"
)

const accountColumns = `id, rev, name, parent_id, tree, reseller, reseller_id, superduper_admin,
	allow_number_additions, enabled, created, modified`

func scanAccount(row scanner) (*knm.Account, error) {
	var (
		a                 knm.Account
		tree              []byte
		created, modified int64
	)
	err := row.Scan(&a.ID, &a.Rev, &a.Name, &a.ParentID, &tree, &a.Reseller, &a.ResellerID,
		&a.SuperduperAdmin, &a.AllowNumberAdditions, &a.Enabled, &created, &modified)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(tree, &a.Tree); err != nil {
		return nil, err
	}
	if len(a.Tree) == 0 {
		a.Tree = nil
	}
	a.Created, a.Modified = fromUnix(created), fromUnix(modified)
	return &a, nil
}

func treeJSON(tree []string) string {
	if len(tree) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(tree) // a []string always marshals
	return string(b)
}

func accountNotFound(id string) error {
	return knm.Errorf(knm.ErrNotFound, "account %s not found", id).WithCause(id)
}

// GetAccount returns the account, or ErrNotFound.
func (s *Store) GetAccount(ctx context.Context, id string) (*knm.Account, error) {
	a, err := scanAccount(s.rdb.QueryRowContext(ctx, `SELECT `+accountColumns+` FROM accounts WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, accountNotFound(id)
	}
	return a, wrap("get account "+id, err)
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
	return s.write(ctx, "create account "+a.ID, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO accounts (`+accountColumns+`)
			VALUES (?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
			a.ID, a.Name, a.ParentID, treeJSON(a.Tree), a.Reseller, a.ResellerID, a.SuperduperAdmin,
			a.AllowNumberAdditions, a.Enabled, unix(a.Created), unix(a.Modified))
		if err != nil {
			return err
		}
		if k, err := res.RowsAffected(); err != nil {
			return err
		} else if k == 0 {
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
	return s.write(ctx, "update account "+a.ID, func(tx *sql.Tx) error {
		var rev, created int64
		err := tx.QueryRowContext(ctx, `UPDATE accounts SET rev = rev + 1, name = ?, parent_id = ?, tree = ?,
			reseller = ?, reseller_id = ?, superduper_admin = ?, allow_number_additions = ?, enabled = ?,
			modified = ?, created = CASE WHEN ? = 0 THEN created ELSE ? END
			WHERE id = ? AND rev = ? RETURNING rev, created`,
			a.Name, a.ParentID, treeJSON(a.Tree), a.Reseller, a.ResellerID, a.SuperduperAdmin,
			a.AllowNumberAdditions, a.Enabled, unix(now), unix(a.Created), unix(a.Created), a.ID, a.Rev,
		).Scan(&rev, &created)
		if errors.Is(err, sql.ErrNoRows) {
			return s.missed(ctx, tx, "accounts", "id = ?", []any{a.ID}, accountNotFound(a.ID), "account "+a.ID)
		}
		if err != nil {
			return err
		}
		a.Rev, a.Created, a.Modified = rev, fromUnix(created), now
		return nil
	})
}

// missed tells why a revision-guarded write matched no row: notFound when the row is
// gone, ErrConflict naming what otherwise.
func (s *Store) missed(ctx context.Context, tx *sql.Tx, table, where string, args []any, notFound error, what string) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM `+table+` WHERE `+where, args...).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return notFound
	}
	return knm.Conflict(what)
}

// FindAccounts returns the accounts matching f, ordered by id. The Ancestor filter scans
// each account's tree; account tables are small next to numbers.
func (s *Store) FindAccounts(ctx context.Context, f knm.AccountFilter) ([]*knm.Account, error) {
	w := &sqlcommon.Where{Placeholder: placeholder}
	if f.ParentID != nil {
		w.Add("parent_id = " + w.Arg(*f.ParentID))
	}
	if f.Ancestor != "" {
		w.Add("EXISTS (SELECT 1 FROM json_each(accounts.tree) WHERE value = " + w.Arg(f.Ancestor) + ")")
	}
	if f.APIKeyHash != "" {
		w.Add("api_key_hash = " + w.Arg(f.APIKeyHash))
	}
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+accountColumns+` FROM accounts`+w.String()+
		` ORDER BY id`+sqlcommon.LimitOffset(f.Limit, f.Offset), w.Args...)
	if err != nil {
		return nil, wrap("find accounts", err)
	}
	defer rows.Close()
	var out []*knm.Account
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, wrap("find accounts", err)
		}
		out = append(out, a)
	}
	return out, wrap("find accounts", rows.Err())
}

// SetAccountAPIKeyHash stores the hash of the account's API key ("" removes it), so
// FindAccounts can find the account by AccountFilter.APIKeyHash. knm.Account has no field
// for it. Returns ErrNotFound for an unknown account and ErrConflict if another account
// holds the same hash. It does not change the account's revision.
func (s *Store) SetAccountAPIKeyHash(ctx context.Context, accountID, hash string) error {
	return s.write(ctx, "set api key of account "+accountID, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE accounts SET api_key_hash = NULLIF(?, '') WHERE id = ?`, hash, accountID)
		if isUniqueViolation(err) {
			return knm.Errorf(knm.ErrConflict, "API key hash already belongs to another account")
		}
		if err != nil {
			return err
		}
		if k, err := res.RowsAffected(); err != nil {
			return err
		} else if k == 0 {
			return accountNotFound(accountID)
		}
		return nil
	})
}
