package kazooauth_test

import (
	"strings"
	"testing"

	kazooauth "github.com/knmproject/knm/kazoo/auth"
	"github.com/knmproject/knm/kazoo/auth/kazootest"
)

// TestNonCanonicalTokenRefused: a valid token whose signature is spelt with other padding
// bits in its last base64 character (the same bytes) is refused.
func TestNonCanonicalTokenRefused(t *testing.T) {
	e := newEnv(t, kazooauth.Options{})
	valid := e.token(e.key, nil)
	e.wantAccepted(valid, "the canonical token")
	_, _, sig := kazootest.Parts(valid)
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	// An RS256 signature is 256 bytes: 342 characters, the last carrying 2 bits and 4 of padding.
	last := strings.IndexByte(alphabet, sig[len(sig)-1])
	if last < 0 || last&15 != 0 {
		t.Fatalf("signature %q does not end in a canonical character", sig)
	}
	odd := sig[:len(sig)-1] + string(alphabet[last|1])
	e.wantRefused(forge(valid, nil, nil, &odd), "non-canonical signature")
}
