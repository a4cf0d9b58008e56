package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/knmproject/knm/store/sqlite"
	"github.com/knmproject/knm/store/storetest"
)

// BenchmarkOutboxActivate: go test -run '^$' -bench OutboxActivate ./store/sqlite/
func BenchmarkOutboxActivate(b *testing.B) {
	open := func(name string) *sqlite.Store {
		s, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), name))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		return s
	}
	with, without := open("outbox.db"), open("plain.db")
	sqlite.WithoutOutbox(without)
	storetest.BenchActivate(b, with, without)
}
