package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/knmproject/knm/store/sqlite"
	"github.com/knmproject/knm/store/storetest"
)

// BenchmarkOutboxActivate: go test -run '^$' -bench Outbox ./store/sqlite/
func BenchmarkOutboxActivate(b *testing.B) {
	with, without := openPair(b)
	storetest.BenchActivate(b, with, without)
}

// BenchmarkOutboxImport measures the outbox's cost on bulk imports.
func BenchmarkOutboxImport(b *testing.B) {
	with, without := openPair(b)
	storetest.BenchImport(b, with, without)
}

// openPair returns two fresh stores on files, the second writing no events.
func openPair(b *testing.B) (with, without *sqlite.Store) {
	open := func(name string) *sqlite.Store {
		s, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), name))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		return s
	}
	with, without = open("outbox.db"), open("plain.db")
	sqlite.WithoutOutbox(without)
	return with, without
}
