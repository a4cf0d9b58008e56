package store_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/internal/pgtest"
	"github.com/knmproject/knm/store"
	"github.com/knmproject/knm/store/postgres"
	"github.com/knmproject/knm/store/sqlite"
)

func TestOpenSQLite(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	tests := []struct {
		dsn  string
		file string // the file Open must create; "" for memory
	}{
		{"sqlite:" + filepath.Join(dir, "a.db"), "a.db"},
		{"sqlite://" + filepath.Join(dir, "b.db"), "b.db"},
		{"sqlite:c.db", "c.db"},
		{filepath.Join(dir, "d.db"), "d.db"},
		{"e.db", "e.db"},
		{"sqlite::memory:", ""},
		{":memory:", ""},
	}
	for _, tt := range tests {
		t.Run(tt.dsn, func(t *testing.T) {
			s, err := store.Open(context.Background(), tt.dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if _, ok := s.(*sqlite.Store); !ok {
				t.Fatalf("Open(%q) = %T, want *sqlite.Store", tt.dsn, s)
			}
			if _, ok := s.(store.APIKeyHashSetter); !ok {
				t.Fatal("store does not implement APIKeyHashSetter")
			}
			if err := s.CreateNumber(context.Background(), &knm.Number{Number: "+1", State: knm.StateAvailable}); err != nil {
				t.Fatal(err)
			}
			if tt.file != "" {
				if _, err := os.Stat(filepath.Join(dir, tt.file)); err != nil {
					t.Fatalf("database file not created: %v", err)
				}
			}
		})
	}
}

func TestOpenInvalid(t *testing.T) {
	for _, dsn := range []string{"", "sqlite:", "mysql://root@localhost/knm", "redis:6379", "http://example.com/db"} {
		s, err := store.Open(context.Background(), dsn)
		if err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded", dsn)
			continue
		}
		if !knm.IsErrorName(err, knm.ErrInvalid) {
			t.Errorf("Open(%q) = %v, want an invalid error", dsn, err)
		}
	}
}

func TestOpenPostgres(t *testing.T) {
	dsn := pgtest.FreshSchemaDSN(t)
	s, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, ok := s.(*postgres.Store); !ok {
		t.Fatalf("Open(%q) = %T, want *postgres.Store", dsn, s)
	}
}
