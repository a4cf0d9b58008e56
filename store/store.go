// Package store opens the knm.Store named by a database string, the value of knm --db:
// "sqlite:PATH" (or a bare PATH) for the embedded SQLite store, a postgres:// or
// postgresql:// URL for PostgreSQL.
package store

import (
	"context"
	"regexp"
	"strings"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/store/postgres"
	"github.com/knmproject/knm/store/sqlite"
)

// APIKeyHashSetter is implemented by both stores. knm.Account has no field for an
// API key hash, yet knm.AccountFilter.APIKeyHash selects on one: this is how the hash
// gets stored.
type APIKeyHashSetter interface {
	// SetAccountAPIKeyHash stores the hash ("" removes it) without changing the
	// account's revision. ErrNotFound for an unknown account, ErrConflict if another
	// account holds the same hash.
	SetAccountAPIKeyHash(ctx context.Context, accountID, hash string) error
}

var (
	_ APIKeyHashSetter = (*sqlite.Store)(nil)
	_ APIKeyHashSetter = (*postgres.Store)(nil)
)

// schemeRE matches a URL-style scheme ("mysql:", "redis://"), which a bare path lacks.
var schemeRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*:`)

// Open opens the store named by dsn and applies pending migrations:
//
//	sqlite:knm.db, sqlite:/var/lib/knm/knm.db, sqlite::memory:, knm.db, ./data/knm.db
//	postgres://user:pass@host:5432/knm?sslmode=verify-full
//
// Anything else, including an empty string, is knm.ErrInvalid.
func Open(ctx context.Context, dsn string) (knm.Store, error) {
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return postgres.Open(ctx, dsn)
	case strings.HasPrefix(dsn, "sqlite:"):
		path := strings.TrimPrefix(dsn, "sqlite:")
		path = strings.TrimPrefix(path, "//") // sqlite:///abs/path
		if path == "" {
			return nil, knm.Errorf(knm.ErrInvalid, "database %q has no SQLite file path", dsn)
		}
		return sqlite.Open(ctx, path)
	case dsn == "":
		return nil, knm.Errorf(knm.ErrInvalid, "no database given").
			WithCause("use sqlite:PATH or a postgres:// URL")
	case schemeRE.MatchString(dsn):
		scheme, _, _ := strings.Cut(dsn, ":")
		return nil, knm.Errorf(knm.ErrInvalid, "unsupported database type %q", scheme).
			WithCause("use sqlite:PATH or a postgres:// URL")
	}
	return sqlite.Open(ctx, dsn)
}
