//go:build !nopg

package manager

import (
	"context"
	"fmt"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/knmproject/knm"
	"github.com/knmproject/knm/internal/testenv"
	"github.com/knmproject/knm/store/postgres"
)

func init() { backends = append(backends, backend{"postgres", openPostgres}) }

var schemaSeq atomic.Int64

// pgSchemaDSN creates a fresh schema for the test (dropped at cleanup) and returns a DSN
// whose search_path points at it.
func pgSchemaDSN(t *testing.T) string {
	t.Helper()
	dsn := testenv.PostgresDSN(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("PostgreSQL at %s: %v", dsn, err)
	}
	defer conn.Close(ctx)
	schema := fmt.Sprintf("mgr_%d_%d", time.Now().UnixNano(), schemaSeq.Add(1))
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), dsn)
		if err == nil {
			c.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
			c.Close(context.Background())
		}
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

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
