package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/knmproject/knm"
	"github.com/knmproject/knm/internal/testenv"
	"github.com/knmproject/knm/store/postgres"
	"github.com/knmproject/knm/store/storetest"
)

// freshSchemaDSN creates an empty schema, dropped when t ends, and returns a DSN whose
// search_path selects it, so tests run in parallel without seeing each other's rows.
func freshSchemaDSN(t *testing.T) string {
	t.Helper()
	dsn := testenv.PostgresDSN(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("PostgreSQL is required but unreachable: %v", err)
	}
	defer conn.Close(ctx)
	var b [6]byte
	rand.Read(b[:])
	schema := "knmtest_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return withSearchPath(t, dsn, schema)
}

func withSearchPath(t *testing.T, dsn, schema string) string {
	if !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
		return dsn + " search_path=" + schema // key=value form
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) knm.Store {
		s, err := postgres.Open(context.Background(), freshSchemaDSN(t), postgres.WithClock(storetest.Clock(t).Now))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// TestConcurrentOpen opens one fresh schema from several stores at once, as several knm
// instances starting together would: the advisory lock lets one migrate and the others
// find the work done.
func TestConcurrentOpen(t *testing.T) {
	dsn := freshSchemaDSN(t)
	stores := make([]*postgres.Store, 4)
	errs := make([]error, len(stores))
	var wg sync.WaitGroup
	for i := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stores[i], errs[i] = postgres.Open(context.Background(), dsn)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		defer stores[i].Close()
	}
	ctx := context.Background()
	if err := stores[0].CreateNumber(ctx, &knm.Number{Number: "+14155550100", State: knm.StateAvailable}); err != nil {
		t.Fatal(err)
	}
	if _, err := stores[3].GetNumber(ctx, "+14155550100"); err != nil {
		t.Fatalf("a number written through one store is not seen through another: %v", err)
	}
}

func TestOpenBadDSN(t *testing.T) {
	_, err := postgres.Open(context.Background(), "postgres://%zz")
	if !knm.IsErrorName(err, knm.ErrInvalid) {
		t.Fatalf("bad DSN: got %v, want an invalid error", err)
	}
}
