package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestServeCORSOrigins checks the serve wiring: KNM_CORS_ORIGINS opens the API to a
// listed origin, and a malformed origin stops serve with one line naming it.
func TestServeCORSOrigins(t *testing.T) {
	t.Parallel()
	code, _, errs := cli(t, sqliteDB(t), "serve", "--listen", "127.0.0.1:0", "--cors-origins",
		"https://ui.example.com,ftp://x")
	lines := strings.Split(strings.TrimSpace(errs), "\n")
	last := lines[len(lines)-1]
	if code == 0 || !strings.HasPrefix(last, "knm serve: ") || !strings.Contains(last, `"ftp://x"`) {
		t.Fatalf("bad origin: exit %d, stderr %q", code, errs)
	}
	env := map[string]string{"KNM_CORS_ORIGINS": "https://ui.example.com"}
	d := startDaemon(t, env, "", "--db", sqliteDB(t), "serve", "--listen", "127.0.0.1:0")
	for origin, want := range map[string]int{
		"https://ui.example.com":    http.StatusNoContent,
		"https://other.example.com": http.StatusForbidden,
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		req, _ := http.NewRequestWithContext(ctx, "OPTIONS", d.url+"/v2/api_auth", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "PUT")
		resp, err := http.DefaultClient.Do(req)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		allowed := resp.Header.Get("Access-Control-Allow-Origin") == origin
		if resp.StatusCode != want || allowed != (want == http.StatusNoContent) {
			t.Errorf("preflight from %s: %d %v", origin, resp.StatusCode, resp.Header)
		}
	}
}
