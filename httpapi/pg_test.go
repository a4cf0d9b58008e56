package httpapi

import (
	"testing"

	"github.com/knmproject/knm/internal/pgtest"
)

// freshSchemaDSN returns the test PostgreSQL DSN selecting a new schema, dropped when t ends.
func freshSchemaDSN(t *testing.T) string { return pgtest.FreshSchemaDSN(t) }
