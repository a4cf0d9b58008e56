package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/knmproject/knm"
	"github.com/knmproject/knm/store/internal/sqlcommon"
)

// Every statement here has a twin in store/sqlite/accounts.go in SQLite's dialect. The pairs are kept
// apart on purpose: each backend reads as plain SQL of its own, and storetest holds both to
// one behaviour.

// scanAccount reads a row of sqlcommon.AccountColumns. The tree is a text[] here, which
// is why this scan is not shared with SQLite (a JSON array there).
func scanAccount(row sqlcommon.Scanner) (*knm.Account, error) {
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

// GetAccount returns the account, or ErrNotFound.
func (s *Store) GetAccount(ctx context.Context, id string) (*knm.Account, error) {
	return queryOne(ctx, s, "get account "+id, sqlcommon.AccountNotFound(id), scanAccount,
		`SELECT `+sqlcommon.AccountColumns+` FROM accounts WHERE id = $1`, id)
}

// CreateAccount stores a new account with Rev 1; ErrConflict if the id exists.
func (s *Store) CreateAccount(ctx context.Context, a *knm.Account) error {
	if err := sqlcommon.CheckAccount(a); err != nil {
		return err
	}
	sqlcommon.Stamp(s.now(), &a.Created, &a.Modified)
	return s.withConn(ctx, "create account "+a.ID, func(c *pgx.Conn) error {
		err := execOne(ctx, c, func() error { return sqlcommon.AccountExists(a.ID) },
			`INSERT INTO accounts (`+sqlcommon.AccountColumns+`)
			VALUES ($1, 1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (id) DO NOTHING`,
			a.ID, a.Name, a.ParentID, tree(a.Tree), a.Reseller, a.ResellerID, a.SuperduperAdmin,
			a.AllowNumberAdditions, a.Enabled, a.Created, a.Modified)
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
	created := keptCreated(a.Created)
	return s.withConn(ctx, "update account "+a.ID, func(c *pgx.Conn) error {
		gone := func() error {
			return missed(ctx, c, `SELECT EXISTS (SELECT 1 FROM accounts WHERE id = $1)`, []any{a.ID},
				sqlcommon.AccountNotFound(a.ID), "account "+a.ID)
		}
		rev, stored, err := updateAtRev(ctx, c, gone, `UPDATE accounts SET rev = rev + 1, name = $1, parent_id = $2,
			tree = $3, reseller = $4, reseller_id = $5, superduper_admin = $6, allow_number_additions = $7,
			enabled = $8, modified = $9, created = coalesce($10, created)
			WHERE id = $11 AND rev = $12 RETURNING rev, created`,
			a.Name, a.ParentID, tree(a.Tree), a.Reseller, a.ResellerID, a.SuperduperAdmin,
			a.AllowNumberAdditions, a.Enabled, now, created, a.ID, a.Rev)
		if err == nil {
			a.Rev, a.Created, a.Modified = rev, stored, now
		}
		return err
	})
}

// FindAccounts returns the accounts matching f, ordered by id. Ancestor uses the GIN
// index on tree.
func (s *Store) FindAccounts(ctx context.Context, f knm.AccountFilter) ([]*knm.Account, error) {
	q, args := sqlcommon.FindAccountsQuery(f, placeholder, func(p string) string {
		return "tree @> ARRAY[" + p + "::text]"
	})
	return queryAll(ctx, s, "find accounts", q, args, scanAccount)
}

// SetAccountAPIKeyHash stores the hash of the account's API key ("" removes it), so
// FindAccounts can find the account by AccountFilter.APIKeyHash. knm.Account has no field
// for it. Returns ErrNotFound for an unknown account and ErrConflict if another account
// holds the same hash. It does not change the account's revision.
func (s *Store) SetAccountAPIKeyHash(ctx context.Context, accountID, hash string) error {
	return s.withConn(ctx, "set api key of account "+accountID, func(c *pgx.Conn) error {
		err := execOne(ctx, c, func() error { return sqlcommon.AccountNotFound(accountID) },
			`UPDATE accounts SET api_key_hash = NULLIF($1, '') WHERE id = $2`, hash, accountID)
		if isUniqueViolation(err) {
			return sqlcommon.APIKeyTaken()
		}
		return err
	})
}
