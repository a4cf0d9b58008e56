package main

import (
	"encoding/json"
	"runtime"
	"strings"
	"testing"
)

// TestVersion: knm version and knm --version print the same line, with the Go version
// from the build information; --json gives the fields.
func TestVersion(t *testing.T) {
	t.Parallel()
	db := sqliteDB(t)
	out := mustCLI(t, db, "version")
	if !strings.HasPrefix(out, "knm ") || !strings.Contains(out, "commit ") || !strings.Contains(out, "built ") ||
		!strings.Contains(out, runtime.Version()) {
		t.Fatalf("version: %q", out)
	}
	if flag := mustCLI(t, db, "--version"); flag != out {
		t.Fatalf("--version %q differs from version %q", flag, out)
	}
	var v versionInfo
	if err := json.Unmarshal([]byte(mustCLI(t, db, "--json", "version")), &v); err != nil || v.GoVersion !=
		runtime.Version() || v.Version == "" || v.Commit == "" {
		t.Fatalf("--json version: %+v %v", v, err)
	}
}
