package kazooauth_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"testing"
	"time"

	"github.com/knmproject/knm"
	kazooauth "github.com/knmproject/knm/kazoo/auth"
	"github.com/knmproject/knm/kazoo/auth/kazootest"
)

func TestKazooTokenAccepted(t *testing.T) {
	e := newEnv(t, kazooauth.Options{})
	for _, alg := range kazooauth.Algorithms {
		acc, owner := knm.NewAccountID(), kazootest.RandHex(16)
		c := e.wantAccepted(e.token(e.key, func(tok *kazootest.Token) {
			tok.Alg, tok.AccountID, tok.OwnerID = alg, acc, owner
		}), alg)
		if c.AccountID != acc || c.OwnerID != owner || c.Method != "cb_user_auth" || c.Identity() != owner {
			t.Fatalf("%s: claims %+v", alg, c)
		}
	}
	// An api_auth token names no owner: the identity is the account.
	apiAuth := e.token(e.key, func(tok *kazootest.Token) { tok.OwnerID, tok.Method = "", "cb_api_auth" })
	c := e.wantAccepted(apiAuth, "api_auth")
	if c.OwnerID != "" || c.Identity() != c.AccountID {
		t.Fatalf("api_auth claims %+v", c)
	}
}

// forge replaces a part of a valid token.
func forge(token string, header, payload, sig *string) string {
	h, p, s := kazootest.Parts(token)
	if header != nil {
		h = *header
	}
	if payload != nil {
		p = *payload
	}
	if sig != nil {
		s = *sig
	}
	return h + "." + p + "." + s
}

func b64(s string) *string { v := base64.RawURLEncoding.EncodeToString([]byte(s)); return &v }

func TestForgedTokensRefused(t *testing.T) {
	e := newEnv(t, kazooauth.Options{})
	valid := e.token(e.key, nil)
	e.wantAccepted(valid, "the valid token the forgeries start from")
	_, payload, _ := kazootest.Parts(valid)
	empty := ""

	none := forge(valid, b64(`{"alg":"none","typ":"JWT","kid":"`+e.key.ID+`"}`), nil, &empty)

	hsHeader := *b64(`{"alg":"HS256","typ":"JWT","kid":"` + e.key.ID + `"}`)
	mac := hmac.New(sha256.New, []byte(e.key.PublicPEM()))
	mac.Write([]byte(hsHeader + "." + payload))
	hsSig := base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
	hmacWithPublicKey := forge(valid, &hsHeader, nil, &hsSig)

	other := kazootest.NewKey(t)
	sameKIDOtherKey := e.token(kazootest.Key{ID: e.key.ID, Priv: other.Priv}, nil)

	tampered := forge(valid, nil, b64(`{"account_id":"`+knm.NewAccountID()+`","method":"cb_user_auth","exp":`+
		strconv.FormatInt(e.clock.Now().Add(time.Hour).Unix(), 10)+`,"iss":"kazoo"}`), nil)

	cases := []struct{ name, token, reason string }{
		{"alg none", none, "algorithm not allowed"},
		{"HS256 keyed with the public key", hmacWithPublicKey, "algorithm not allowed"},
		{"RS256 by another key, same kid", sameKIDOtherKey, "bad signature"},
		{"unknown kid", e.token(other, nil), "unknown kid"},
		{"no kid", e.token(e.key, func(tok *kazootest.Token) { tok.Header = map[string]any{"kid": nil} }), "no kid"},
		{"typ not JWT", e.token(e.key, func(tok *kazootest.Token) { tok.Header = map[string]any{"typ": "JWS"} }),
			"typ is not JWT"},
		{"expired beyond the skew", e.token(e.key, func(tok *kazootest.Token) {
			tok.Exp = e.clock.Now().Add(-31 * time.Second)
		}), "expired"},
		{"no exp", e.token(e.key, func(tok *kazootest.Token) { tok.Claims = map[string]any{"exp": nil} }),
			"exp or iss missing"},
		{"issued in the future", e.token(e.key, func(tok *kazootest.Token) {
			tok.Claims = map[string]any{"iat": e.clock.Now().Add(time.Hour).Unix()}
		}), "issued in the future"},
		{"tampered payload", tampered, "bad signature"},
		{"wrong iss", e.token(e.key, func(tok *kazootest.Token) { tok.Issuer = "kazoo.example" }), "iss is not kazoo"},
		{"no iss", e.token(e.key, func(tok *kazootest.Token) { tok.Claims = map[string]any{"iss": nil} }),
			"exp or iss missing"},
		{"account_id not an account id", e.token(e.key, func(tok *kazootest.Token) {
			tok.AccountID = "../../_all_dbs"
		}), "account_id is missing or not a Kazoo account id"},
		{"not base64", "a.b.c", "malformed token"},
		{"no signature", forge(valid, nil, nil, &empty), "bad signature"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if r := e.wantRefused(c.token, c.name); r.Reason != c.reason {
				t.Fatalf("reason %q, want %q", r.Reason, c.reason)
			}
		})
	}
}

func TestClockSkew(t *testing.T) {
	e := newEnv(t, kazooauth.Options{})
	e.set("clock_skew_s", 30)
	tok := e.token(e.key, func(tok *kazootest.Token) { tok.Exp = e.clock.Now().Add(time.Minute) })
	e.wantAccepted(tok, "fresh")
	e.clock.Add(time.Minute + 29*time.Second)
	e.wantAccepted(tok, "expired 29 s ago, within the 30 s skew")
	e.clock.Add(2 * time.Second)
	e.wantRefused(tok, "expired 31 s ago")
	iat := e.token(e.key, func(tok *kazootest.Token) {
		tok.Claims = map[string]any{"iat": e.clock.Now().Add(20 * time.Second).Unix()}
	})
	e.wantAccepted(iat, "iat 20 s ahead: a clock slightly fast")
}
