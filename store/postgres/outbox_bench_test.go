package postgres_test

import (
	"context"
	"testing"

	"github.com/knmproject/knm/internal/pgtest"
	"github.com/knmproject/knm/store/postgres"
	"github.com/knmproject/knm/store/storetest"
)

// BenchmarkOutboxActivate: KNM_TEST_POSTGRES=… go test -run '^$' -bench Outbox ./store/postgres/
func BenchmarkOutboxActivate(b *testing.B) {
	with, without := openPair(b)
	storetest.BenchActivate(b, with, without)
}

// BenchmarkOutboxImport measures the outbox's cost on bulk imports.
func BenchmarkOutboxImport(b *testing.B) {
	with, without := openPair(b)
	storetest.BenchImport(b, with, without)
}

// openPair returns two fresh stores in schemas of their own, the second writing no events.
func openPair(b *testing.B) (with, without *postgres.Store) {
	open := func() *postgres.Store {
		s, err := postgres.Open(context.Background(), pgtest.FreshSchemaDSN(b))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		return s
	}
	with, without = open(), open()
	postgres.WithoutOutbox(without)
	return with, without
}
