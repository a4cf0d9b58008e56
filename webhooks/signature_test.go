package webhooks_test

import (
	"errors"
	"testing"
	"time"

	"github.com/knmproject/knm/webhooks"
)

func TestSignature(t *testing.T) {
	const secret = "s3cr3t"
	sent := time.Unix(1_700_000_000, 0)
	body := []byte(`{"event":{"id":1}}`)
	h := webhooks.Sign(secret, sent, body)
	if h != webhooks.Sign(secret, sent, body) || h[:13] != "t=1700000000," {
		t.Fatalf("header %q", h)
	}
	tests := []struct {
		name   string
		secret string
		header string
		body   string
		now    time.Time
		want   error
	}{
		{"OK", secret, h, string(body), sent.Add(time.Minute), nil},
		{"OKSkewedClock", secret, h, string(body), sent.Add(-time.Minute), nil},
		{"ErrReplayedLater", secret, h, string(body), sent.Add(10 * time.Minute), webhooks.ErrStale},
		{"ErrOtherSecret", "other", h, string(body), sent, webhooks.ErrBadSignature},
		{"ErrBodyChanged", secret, h, `{"event":{"id":2}}`, sent, webhooks.ErrBadSignature},
		{"ErrTimestampChanged", secret, "t=1700000300" + h[12:], string(body), sent, webhooks.ErrBadSignature},
		{"ErrMalformed", secret, "v1=zz", string(body), sent, webhooks.ErrBadSignature},
		{"ErrEmpty", secret, "", string(body), sent, webhooks.ErrBadSignature},
	}
	for _, tt := range tests {
		err := webhooks.Verify(tt.secret, tt.header, []byte(tt.body), tt.now, 5*time.Minute)
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: Verify = %v, want %v", tt.name, err, tt.want)
		}
	}
}
