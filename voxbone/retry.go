package voxbone

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// RetryPolicy says how often and how patiently safe requests are retried.
//
// Only requests without side effects are ever retried: GETs other than checkout, and cart
// deletion (deleting twice at worst answers 400 INVALID_CART_IDENTIFIER). Add-to-cart,
// remove-from-cart, cart creation, checkout, cancel and configuration changes are sent
// exactly once, because a lost answer does not mean the server did nothing.
//
// A retry happens on 429, 509, any 5xx but 501, and on connection errors. The wait before
// retry n (0-based) is drawn uniformly from [WaitMin, min(WaitMax, WaitMin·2^(n+1))] (full
// jitter above a floor), unless the server sent Retry-After, which is honoured when it is
// at most MaxRetryAfter. No retry starts if its wait would end past the context deadline.
type RetryPolicy struct {
	MaxRetries int           // retries after the first attempt; 0 disables retrying
	WaitMin    time.Duration // floor of every backoff wait
	WaitMax    time.Duration // ceiling of the exponential backoff
}

// MaxRetryAfter is the longest Retry-After the client waits out by itself. A longer one
// ends the call with an *Error whose RetryAfter tells the caller when to come back.
const MaxRetryAfter = time.Minute

// DefaultRetryPolicy returns 4 retries with waits between 200 ms and 5 s.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{MaxRetries: 4, WaitMin: 200 * time.Millisecond, WaitMax: 5 * time.Second}
}

// wait returns how long to sleep before retry attempt+1, and false when the server asked
// for a pause longer than MaxRetryAfter.
func (p RetryPolicy) wait(attempt int, h http.Header, now time.Time) (time.Duration, bool) {
	if ra, ok := parseRetryAfter(h, now); ok {
		return ra, ra <= MaxRetryAfter
	}
	ceil := p.WaitMax
	if attempt < 30 {
		if c := p.WaitMin << (attempt + 1); c > 0 && c < ceil {
			ceil = c
		}
	}
	if ceil <= p.WaitMin {
		return p.WaitMin, true
	}
	return p.WaitMin + rand.N(ceil-p.WaitMin+1), true
}

// parseRetryAfter reads Retry-After as delay-seconds or an HTTP date (RFC 9110 §10.2.3).
func parseRetryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s < 0 {
			return 0, false
		}
		if s > int64(24*time.Hour/time.Second) {
			s = int64(24 * time.Hour / time.Second) // avoid overflow; far beyond MaxRetryAfter anyway
		}
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// retryable reports whether an attempt that ended with status (0 if none) and err may be
// repeated, for a request that is safe to repeat.
func retryable(status int, err error) bool {
	var apiErr *Error
	if errors.As(err, &apiErr) {
		return retryableStatus(apiErr.HTTPStatus)
	}
	if err == nil {
		return retryableStatus(status)
	}
	// A certificate problem will not fix itself; everything else at the transport level
	// (refused, reset, timeout of one attempt, truncated body) may.
	var certErr *tls.CertificateVerificationError
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invalid x509.CertificateInvalidError
	if errors.As(err, &certErr) || errors.As(err, &unknownAuth) || errors.As(err, &hostErr) ||
		errors.As(err, &invalid) {
		return false
	}
	return true
}

func retryableStatus(status int) bool {
	switch {
	case status == http.StatusTooManyRequests, status == 509:
		return true
	case status == http.StatusNotImplemented:
		return false
	default:
		return status >= 500 && status <= 599
	}
}
