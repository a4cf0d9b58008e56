package webhooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// The headers of a delivery.
const (
	// SignatureHeader is "t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>".
	// Signing the time with the body lets a receiver refuse a replayed delivery: it checks
	// the signature, then that t is recent (Verify).
	SignatureHeader = "X-KNM-Signature"
	// DeliveryHeader is the delivery's dedup id (DeliveryID), the same on every attempt.
	DeliveryHeader = "X-KNM-Delivery-Id"
	// EventIDHeader and EventTypeHeader repeat the event's id and type.
	EventIDHeader   = "X-KNM-Event-Id"
	EventTypeHeader = "X-KNM-Event-Type"
	// AttemptHeader counts attempts of this delivery, from 1.
	AttemptHeader = "X-KNM-Attempt"
)

// Sign returns the SignatureHeader value of body sent at t.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return m.Sum(nil)
}

// Errors of Verify.
var (
	ErrBadSignature = errors.New("webhooks: signature does not match")
	ErrStale        = errors.New("webhooks: signature timestamp outside the tolerance")
)

// Verify checks a SignatureHeader value against body, as a receiver does: the HMAC must
// match and its timestamp be within tolerance of now, so a captured delivery cannot be
// replayed later. Receivers written in other languages do the same: split the header on
// ",", take t and v1, compute HMAC-SHA256(secret, t + "." + body) and compare in constant
// time.
func Verify(secret, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var ts, sig string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sig = v
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	want, herr := hex.DecodeString(sig)
	if err != nil || herr != nil || !hmac.Equal(want, mac(secret, ts, body)) {
		return ErrBadSignature
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return ErrStale
	}
	return nil
}
