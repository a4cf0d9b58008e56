package postgres_test

import (
	"context"
	"testing"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/internal/pgtest"
	"github.com/knmproject/knm/store/postgres"
	"github.com/knmproject/knm/store/storetest"
)

// BenchmarkOutbox: KNM_TEST_POSTGRES=… go test -run '^$' -bench Outbox ./store/postgres/
func BenchmarkOutbox(b *testing.B) {
	storetest.BenchOutbox(b, func(b *testing.B, outbox bool) knm.Store {
		s, err := postgres.Open(context.Background(), pgtest.FreshSchemaDSN(b))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		if !outbox {
			postgres.WithoutOutbox(s)
		}
		return s
	})
}
