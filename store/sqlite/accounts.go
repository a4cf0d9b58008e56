package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/store/internal/sqlcommon"
)

// Every statement here has a twin in store/postgres/accounts.go in PostgreSQL's dialect. The pairs are kept
// apart on purpose: each backend reads as plain SQL of its own, and storetest holds both to
// one behaviour.

// scanAccount reads a row of sqlcommon.AccountColumns. The tree is a JSON array here,
// which is why this scan is not shared with PostgreSQL (a text[] there).
func scanAccount(row sqlcommon.Scanner) (*knm.Account, error) {
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

// GetAccount returns the account, or ErrNotFound.
func (s *Store) GetAccount(ctx context.Context, id string) (*knm.Account, error) {
	return queryOne(ctx, s, "get account "+id, sqlcommon.AccountNotFound(id), scanAccount,
		`SELECT `+sqlcommon.AccountColumns+` FROM accounts WHERE id = ?`, id)
}

// CreateAccount stores a new account with Rev 1; ErrConflict if the id exists.
func (s *Store) CreateAccount(ctx context.Context, a *knm.Account) error {
	if err := sqlcommon.CheckAccount(a); err != nil {
		return err
	}
	sqlcommon.Stamp(s.now(), &a.Created, &a.Modified)
	return s.write(ctx, "create account "+a.ID, func(tx *sql.Tx) error {
		err := execOne(ctx, tx, func() error { return sqlcommon.AccountExists(a.ID) },
			`INSERT INTO accounts (`+sqlcommon.AccountColumns+`)
			VALUES (?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
			a.ID, a.Name, a.ParentID, treeJSON(a.Tree), a.Reseller, a.ResellerID, a.SuperduperAdmin,
			a.AllowNumberAdditions, a.Enabled, unix(a.Created), unix(a.Modified))
		if err == nil {
			a.Rev = 1
		}
		return err
	})
}

// UpdateAccount replaces the account stored at revision a.Rev (ErrNotFound, ErrConflict).
// The API key hash is not part of knm.Account and is left as it is.
func (s *Store) UpdateAccount(ctx context.Context, a *knm.Account) error {
	now := sqlcommon.Sec(s.now())
	return s.write(ctx, "update account "+a.ID, func(tx *sql.Tx) error {
		gone := func() error {
			return s.missed(ctx, tx, "accounts", "id = ?", []any{a.ID}, sqlcommon.AccountNotFound(a.ID),
				"account "+a.ID)
		}
		rev, created, err := updateAtRev(ctx, tx, gone, `UPDATE accounts SET rev = rev + 1, name = ?,
			parent_id = ?, tree = ?, reseller = ?, reseller_id = ?, superduper_admin = ?,
			allow_number_additions = ?, enabled = ?, modified = ?, created = CASE WHEN ? = 0 THEN created ELSE ? END
			WHERE id = ? AND rev = ? RETURNING rev, created`,
			a.Name, a.ParentID, treeJSON(a.Tree), a.Reseller, a.ResellerID, a.SuperduperAdmin,
			a.AllowNumberAdditions, a.Enabled, unix(now), unix(a.Created), unix(a.Created), a.ID, a.Rev)
		if err == nil {
			a.Rev, a.Created, a.Modified = rev, created, now
		}
		return err
	})
}

// FindAccounts returns the accounts matching f, ordered by id. The Ancestor filter scans
// each account's tree; account tables are small next to numbers.
func (s *Store) FindAccounts(ctx context.Context, f knm.AccountFilter) ([]*knm.Account, error) {
	q, args := sqlcommon.FindAccountsQuery(f, placeholder, func(p string) string {
		return "EXISTS (SELECT 1 FROM json_each(accounts.tree) WHERE value = " + p + ")"
	})
	return queryAll(ctx, s, "find accounts", q, args, scanAccount)
}

// SetAccountAPIKeyHash stores the hash of the account's API key ("" removes it), so
// FindAccounts can find the account by AccountFilter.APIKeyHash. knm.Account has no field
// for it. Returns ErrNotFound for an unknown account and ErrConflict if another account
// holds the same hash. It does not change the account's revision.
func (s *Store) SetAccountAPIKeyHash(ctx context.Context, accountID, hash string) error {
	return s.write(ctx, "set api key of account "+accountID, func(tx *sql.Tx) error {
		err := execOne(ctx, tx, func() error { return sqlcommon.AccountNotFound(accountID) },
			`UPDATE accounts SET api_key_hash = NULLIF(?, '') WHERE id = ?`, hash, accountID)
		if isUniqueViolation(err) {
			return sqlcommon.APIKeyTaken()
		}
		return err
	})
}
