package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/store/sqlite"
	"github.com/knmproject/knm/store/storetest"
)

// BenchmarkOutbox: go test -run '^$' -bench Outbox ./store/sqlite/
func BenchmarkOutbox(b *testing.B) {
	storetest.BenchOutbox(b, func(b *testing.B, outbox bool) knm.Store {
		s, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "knm.db"))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		if !outbox {
			sqlite.WithoutOutbox(s)
		}
		return s
	})
}
