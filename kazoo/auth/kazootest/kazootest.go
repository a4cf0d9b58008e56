// Package kazootest mints tokens exactly as Kazoo's crossbar does (kz_auth_jwt:encode
// after kz_auth:create_token), for tests of anything that accepts Kazoo tokens. It uses no
// JWT library, so the tests prove that knm reads what Kazoo writes, not what a library
// writes.
package kazootest

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/knmproject/knm/kazoo/auth"
)

// Key is a signing key as Kazoo keeps it: an id (system_config auth system_key, a random
// 32-hex string) and a 2048-bit RSA private key.
type Key struct {
	ID   string
	Priv *rsa.PrivateKey
}

// NewKey generates a key with a random id.
func NewKey(t testing.TB) Key {
	t.Helper()
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return Key{ID: RandHex(16), Priv: priv}
}

// RandHex returns n random bytes in hex, as kz_binary:rand_hex(n).
func RandHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// PublicPEM is the key's public half as Erlang's public_key writes it ("RSA PUBLIC KEY").
func (k Key) PublicPEM() string {
	der := x509.MarshalPKCS1PublicKey(&k.Priv.PublicKey)
	return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: der}))
}

// PrivatePEM is the private_key.pem attachment Kazoo stores ("RSA PRIVATE KEY").
func (k Key) PrivatePEM() string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k.Priv)}))
}

// Token describes a token to mint. Zero fields take crossbar's values.
type Token struct {
	Alg       string // RS256 (default), RS384, RS512
	AccountID string
	OwnerID   string // omitted when ""
	Method    string // default cb_user_auth
	Exp       time.Time
	// IdentitySecret and SystemSecret make identity_sig as kz_auth_identity:sign does;
	// identity_sig is omitted when both are "".
	IdentitySecret, SystemSecret string
	Issuer                       string // default "kazoo"
	// Header and Claims replace or add fields after the defaults (nil removes one).
	Header, Claims map[string]any
}

// member is one key of a JSON object written in order, as kz_json:encode keeps it.
type member struct {
	k string
	v any
}

func encodeObject(ms []member, extra map[string]any) []byte {
	var buf bytes.Buffer
	buf.WriteByte('{')
	first := true
	write := func(k string, v any) {
		if !first {
			buf.WriteByte(',')
		}
		first = false
		kb, _ := json.Marshal(k)
		vb, _ := json.Marshal(v)
		buf.Write(kb)
		buf.WriteByte(':')
		buf.Write(vb)
	}
	for _, m := range ms {
		if v, ok := extra[m.k]; ok {
			if v != nil {
				write(m.k, v)
			}
			continue
		}
		write(m.k, m.v)
	}
	for k, v := range extra {
		if v != nil && !has(ms, k) {
			write(k, v)
		}
	}
	buf.WriteByte('}')
	return buf.Bytes()
}

func has(ms []member, k string) bool {
	for _, m := range ms {
		if m.k == k {
			return true
		}
	}
	return false
}

// Mint signs tok with key as Kazoo does: header {"alg","typ":"JWT","kid"}, payload
// identity_sig, account_id, owner_id, method, exp, iss, each part base64url without padding,
// signed RSASSA-PKCS1-v1_5 over "header.payload".
func Mint(t testing.TB, key Key, tok Token) string {
	t.Helper()
	if tok.Alg == "" {
		tok.Alg = "RS256"
	}
	if tok.Method == "" {
		tok.Method = "cb_user_auth"
	}
	if tok.Issuer == "" {
		tok.Issuer = kazooauth.Issuer
	}
	header := encodeObject([]member{{"alg", tok.Alg}, {"typ", "JWT"}, {"kid", key.ID}}, tok.Header)
	var claims []member
	if tok.IdentitySecret != "" || tok.SystemSecret != "" {
		c := kazooauth.Claims{AccountID: tok.AccountID, OwnerID: tok.OwnerID}
		sig := kazooauth.IdentitySignature(c.Identity(), tok.IdentitySecret, tok.SystemSecret)
		claims = append(claims, member{"identity_sig", sig})
	}
	claims = append(claims, member{"account_id", tok.AccountID})
	if tok.OwnerID != "" {
		claims = append(claims, member{"owner_id", tok.OwnerID})
	}
	claims = append(claims, member{"method", tok.Method}, member{"exp", tok.Exp.Unix()}, member{"iss", tok.Issuer})
	enc := base64.RawURLEncoding
	signed := enc.EncodeToString(header) + "." + enc.EncodeToString(encodeObject(claims, tok.Claims))
	sig, err := Sign(key.Priv, tok.Alg, signed)
	if err != nil {
		t.Fatal(err)
	}
	return signed + "." + enc.EncodeToString(sig)
}

// Sign is public_key:sign(Data, Digest, Key) for RS256/384/512.
func Sign(priv *rsa.PrivateKey, alg, data string) ([]byte, error) {
	var h crypto.Hash
	switch alg {
	case "RS256":
		h = crypto.SHA256
	case "RS384":
		h = crypto.SHA384
	case "RS512":
		h = crypto.SHA512
	default:
		return nil, fmt.Errorf("kazootest: Kazoo does not sign with %s", alg)
	}
	d := h.New()
	d.Write([]byte(data))
	return rsa.SignPKCS1v15(rand.Reader, priv, h, d.Sum(nil))
}

// Parts splits a token into its three base64url parts.
func Parts(token string) (header, payload, sig string) {
	p := strings.SplitN(token, ".", 3)
	for len(p) < 3 {
		p = append(p, "")
	}
	return p[0], p[1], p[2]
}
