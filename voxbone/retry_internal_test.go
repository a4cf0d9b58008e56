package voxbone

import (
	"errors"
	"net/http"
	"testing"
	"time"
)

func TestBackoffBounds(t *testing.T) {
	p := DefaultRetryPolicy()
	now := time.Now()
	for attempt := range 10 {
		ceil := min(p.WaitMax, p.WaitMin<<(attempt+1))
		for range 200 {
			d, ok := p.wait(attempt, http.Header{}, now)
			if !ok || d < p.WaitMin || d > ceil {
				t.Fatalf("attempt %d: wait %v outside [%v, %v]", attempt, d, p.WaitMin, ceil)
			}
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"3":                             3 * time.Second,
		"0":                             0,
		"Mon, 01 Jan 2024 12:00:10 GMT": 10 * time.Second,
		"Mon, 01 Jan 2024 11:00:00 GMT": 0,
	} {
		h := http.Header{"Retry-After": {in}}
		if got, ok := parseRetryAfter(h, now); !ok || got != want {
			t.Errorf("%q -> %v, %v; want %v", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "soon", "-1"} {
		if _, ok := parseRetryAfter(http.Header{"Retry-After": {in}}, now); ok {
			t.Errorf("%q parsed", in)
		}
	}
	if d, ok := (RetryPolicy{}).wait(0, http.Header{"Retry-After": {"120"}}, now); ok || d != 2*time.Minute {
		t.Errorf("Retry-After 120 -> %v, %v; want not honoured", d, ok)
	}
}

func TestRetryableStatus(t *testing.T) {
	for status, want := range map[int]bool{429: true, 509: true, 500: true, 502: true, 503: true, 504: true, 501: false, 400: false, 404: false, 200: false} {
		if got := retryable(status, nil); got != want {
			t.Errorf("retryable(%d) = %v", status, got)
		}
	}
	if !retryable(0, errors.New("connection reset")) {
		t.Error("connection errors must be retryable")
	}
}
