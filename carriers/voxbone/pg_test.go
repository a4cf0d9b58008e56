//go:build !nopg

package voxbone

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

var pgSchemaSeq atomic.Int64

// openPostgres opens a store on a fresh schema of the test PostgreSQL server (dropped at
// cleanup), or skips the test when none is configured outside CI.
func openPostgres(t *testing.T) knm.Store {
	t.Helper()
	dsn := testenv.PostgresDSN(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("PostgreSQL at %s: %v", dsn, err)
	}
	defer conn.Close(ctx)
	schema := fmt.Sprintf("vox_%d_%d", time.Now().UnixNano(), pgSchemaSeq.Add(1))
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if c, err := pgx.Connect(context.Background(), dsn); err == nil {
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
	s, err := postgres.Open(ctx, u.String(), postgres.WithMaxConns(4))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestFaultMatrixPostgres runs the steps where money and journal meet on PostgreSQL.
func TestFaultMatrixPostgres(t *testing.T) {
	t.Parallel()
	steps := map[string]bool{"cart.create": true, "cart.add": true, "cart.checkout": true, "did.list": true, "cart.delete": true}
	for _, step := range buySteps {
		if !steps[step.endpoint] || step.nth > 1 {
			continue
		}
		for _, fk := range faultKinds {
			name := fmt.Sprintf("%s#%d/%s", step.endpoint, step.nth, fk.name)
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				runFaultCase(t, openPostgres(t), step.endpoint, step.nth, fk.fault, fk.crash, fk.effect)
			})
		}
	}
}
