//go:build !nopg

package knmvoxbone

import (
	"context"
	"fmt"
	"testing"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/internal/pgtest"
	"github.com/knmproject/knm/store/postgres"
)

// openPostgres opens a store on a fresh schema of the test PostgreSQL server (dropped at
// cleanup), or skips the test when none is configured outside CI.
func openPostgres(t *testing.T) knm.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), pgtest.FreshSchemaDSN(t), postgres.WithMaxConns(4))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestFaultMatrixPostgres runs the steps where money and journal meet on PostgreSQL.
func TestFaultMatrixPostgres(t *testing.T) {
	t.Parallel()
	steps := map[string]bool{"cart.create": true, "cart.add": true, "cart.checkout": true, "did.list": true,
		"cart.delete": true}
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

// TestVoiceURIOnceAcrossInstancesPostgres: two instances (two stores, two connection pools)
// on one PostgreSQL database configure concurrently and create exactly one voice URI.
func TestVoiceURIOnceAcrossInstancesPostgres(t *testing.T) {
	t.Parallel()
	dsn := pgtest.FreshSchemaDSN(t)
	open := func() knm.Store {
		s, err := postgres.Open(context.Background(), dsn, postgres.WithMaxConns(4))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	voiceURIAcrossStores(t, open(), open())
}

// TestRoutingFaultMatrixPostgres runs the faults of the configuration request on PostgreSQL.
func TestRoutingFaultMatrixPostgres(t *testing.T) {
	t.Parallel()
	for _, fk := range faultKinds {
		t.Run("configuration#1/"+fk.name, func(t *testing.T) {
			t.Parallel()
			runRoutingFault(t, openPostgres(t), "configuration", 1, fk.fault, fk.crash, fk.effect)
		})
	}
}
