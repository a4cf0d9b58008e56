// Package testenv decides, in one place, how tests reach the real PostgreSQL and Redis
// servers they need.
//
// The policy (DEVELOPERS.md): when CI=true, tests that need PostgreSQL or Redis must run and
// fail if they cannot connect; elsewhere they skip with a clear message when no address is
// given. The addresses come from KNM_TEST_POSTGRES (a DSN) and KNM_TEST_REDIS (host:port);
// under CI they default to the servers every CI machine runs.
package testenv

import (
	"context"
	"net"
	"os"
	"testing"
	"time"
)

const (
	// DefaultPostgresDSN is the database every CI machine runs.
	DefaultPostgresDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	// DefaultRedisAddr is the Redis server every CI machine runs.
	DefaultRedisAddr = "127.0.0.1:6379"
)

// InCI reports whether the tests run under CI (CI=true), where skipping is not allowed.
func InCI() bool { return os.Getenv("CI") == "true" }

// PostgresDSN returns the DSN of the test PostgreSQL server, skips the test when none is
// configured outside CI, and fails it when the server cannot be reached under CI.
func PostgresDSN(tb testing.TB) string {
	tb.Helper()
	return server(tb, "PostgreSQL", "KNM_TEST_POSTGRES", DefaultPostgresDSN)
}

// server returns the address of a test server named by the environment variable env:
// outside CI an unset variable skips the test, under CI it means the default address.
func server(tb testing.TB, name, env, def string) string {
	tb.Helper()
	addr := os.Getenv(env)
	if addr == "" {
		if !InCI() {
			tb.Skip(name + " tests skipped: set " + env + "=" + def + " to run them")
		}
		addr = def
	}
	return addr
}

// RedisAddr returns host:port of the test Redis server, skips the test when none is
// configured outside CI, and fails it when the server cannot be reached under CI.
func RedisAddr(tb testing.TB) string {
	tb.Helper()
	addr := server(tb, "Redis", "KNM_TEST_REDIS", DefaultRedisAddr)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		tb.Fatalf("Redis at %s is required but unreachable: %v", addr, err)
	}
	c.Close()
	return addr
}
