//go:build !nopg

package knmvoxbone

import (
	"context"
	"testing"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/internal/pgtest"
	"github.com/knmproject/knm/store/postgres"
)

// TestHeldNumbersRoutedLaterStillExpirePostgres: as on SQLite, where the store keeps the
// numbers' JSON as jsonb.
func TestHeldNumbersRoutedLaterStillExpirePostgres(t *testing.T) {
	t.Parallel()
	testHeldNumbersRoutedLaterStillExpire(t, openPostgres(t))
}

// TestKeyAcrossTwoInstancesBuysOncePostgres: two instances with their own connection pools.
func TestKeyAcrossTwoInstancesBuysOncePostgres(t *testing.T) {
	t.Parallel()
	dsn := pgtest.FreshSchemaDSN(t)
	open := func() knm.Store {
		s, err := postgres.Open(context.Background(), dsn, postgres.WithMaxConns(4))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	testKeyAcrossTwoInstancesBuysOnce(t, open(), open())
}
