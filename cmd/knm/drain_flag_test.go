package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// TestDrainTimeoutRefusesBadValues: a KNM_DRAIN_TIMEOUT that is not a duration, or a negative
// --drain-timeout, is one clear error before serve starts, not the default used unseen.
func TestDrainTimeoutRefusesBadValues(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		env  string
		args []string
		want string
	}{
		{"env not a duration", "soon", nil, `KNM_DRAIN_TIMEOUT "soon"`},
		{"env negative", "-5s", nil, `KNM_DRAIN_TIMEOUT "-5s"`},
		{"flag negative", "", []string{"--drain-timeout=-1s"}, "--drain-timeout -1s is negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			env := func(k string) string {
				if k == "KNM_DRAIN_TIMEOUT" {
					return tc.env
				}
				return ""
			}
			var out, errb bytes.Buffer
			args := append([]string{"--db", sqliteDB(t), "serve", "--listen", "127.0.0.1:0"}, tc.args...)
			code := run(ctx, args, strings.NewReader(""), &out, &errb, env)
			if code == 0 || !strings.Contains(errb.String(), tc.want) {
				t.Fatalf("exit %d, stderr %q, want an error naming %q", code, errb.String(), tc.want)
			}
			if n := strings.Count(strings.TrimSpace(errb.String()), "\n"); n != 0 {
				t.Errorf("stderr has %d extra lines: %q", n, errb.String())
			}
		})
	}
}
