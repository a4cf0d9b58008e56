//go:build !nopg

package manager

import (
	"context"
	"testing"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/internal/pgtest"
	"github.com/knmproject/knm/store/postgres"
)

func init() { backends = append(backends, backend{"postgres", openPostgres}) }

// pgSchemaDSN returns a DSN selecting a fresh schema of its own, dropped at cleanup.
func pgSchemaDSN(t *testing.T) string { return pgtest.FreshSchemaDSN(t) }

func openPostgresDSN(t *testing.T, dsn string) knm.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func openPostgres(t *testing.T) knm.Store { return openPostgresDSN(t, pgSchemaDSN(t)) }
