package postgres_test

import (
	"context"
	"testing"

	"github.com/knmproject/knm/internal/pgtest"
	"github.com/knmproject/knm/store/postgres"
	"github.com/knmproject/knm/store/storetest"
)

// BenchmarkOutboxActivate: KNM_TEST_POSTGRES=… go test -run '^$' -bench OutboxActivate ./store/postgres/
func BenchmarkOutboxActivate(b *testing.B) {
	open := func() *postgres.Store {
		s, err := postgres.Open(context.Background(), pgtest.FreshSchemaDSN(b))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		return s
	}
	with, without := open(), open()
	postgres.WithoutOutbox(without)
	storetest.BenchActivate(b, with, without)
}
