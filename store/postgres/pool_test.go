package postgres

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/knmproject/knm"
	"github.com/knmproject/knm/internal/pgtest"
)

// TestPoolReplacesDeadConnections kills the store's idle connections server-side, as a
// PostgreSQL restart would, and expects the next calls to work on fresh ones.
func TestPoolReplacesDeadConnections(t *testing.T) {
	old := pingAfter
	pingAfter = 0 // check every idle connection before reuse
	t.Cleanup(func() { pingAfter = old })
	ctx := context.Background()
	dsn := pgtest.FreshSchemaDSN(t)
	s, err := Open(ctx, dsn+"&application_name=knm_pool_test")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.CreateNumber(ctx, &knm.Number{Number: "+14155550100", State: knm.StateAvailable}); err != nil {
		t.Fatal(err)
	}
	admin, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	var killed int
	if err := admin.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE application_name = 'knm_pool_test'`).Scan(&killed); err != nil {
		t.Fatal(err)
	}
	if killed == 0 {
		t.Fatal("no store connection to kill")
	}
	for range 3 {
		if _, err := s.GetNumber(ctx, "+14155550100"); err != nil {
			t.Fatalf("after the server dropped the connections: %v", err)
		}
	}
}
