package config

import (
	"bytes"
	"encoding/json"
	"net/url"
	"regexp"
	"strings"
)

// Redacted is what Redact writes in place of a secret.
const Redacted = `"***"`

// IsSecretKey reports whether a key holds a credential, in any case: any key containing
// "password", "passwd", "passphrase", "secret", "token" or "credential", any key ending in
// "key" or "keys" (api_key, apikey, private_key, developer_key), and "pass" or "pwd".
// Carrier modules name their credentials in many ways (Kazoo's Simwood module reads
// auth_password, Bandwidth a developer key), so the rule errs on the side of hiding: a
// needlessly hidden setting costs a look at the database, a leaked one costs money.
func IsSecretKey(key string) bool {
	k := strings.ToLower(key)
	for _, part := range []string{"password", "passwd", "passphrase", "secret", "token", "credential"} {
		if strings.Contains(k, part) {
			return true
		}
	}
	return strings.HasSuffix(k, "key") || strings.HasSuffix(k, "keys") || k == "pass" || k == "pwd"
}

// urlPassword matches the user:password@ part of a URL inside a JSON string, such as a
// proxy or base_url written with credentials in it.
var urlPassword = regexp.MustCompile(`(://)[^/@"\\\s:]*:[^/@"\\\s]*@`)

// Redact returns body with the value of every secret key (IsSecretKey), at any depth
// (node and zone sections, nested objects, objects inside arrays), replaced by "***".
// Everything else is kept byte for byte, key order and whitespace included. Empty
// strings and nulls are left alone: they show that a credential is unset without
// revealing anything. Invalid JSON cannot be inspected, so it is replaced as a whole.
//
// Credentials written into a URL (scheme://user:password@host) are hidden wherever they
// appear, whatever the key: the user and password become "***".
func Redact(body json.RawMessage) json.RawMessage {
	if !json.Valid(body) {
		return json.RawMessage(Redacted)
	}
	return urlPassword.ReplaceAll(redactKeys(body), []byte("${1}***:***@"))
}

// redactKeys replaces the values of secret keys.
func redactKeys(body json.RawMessage) json.RawMessage {
	type span struct{ start, end int64 }
	var spans []span
	dec := json.NewDecoder(bytes.NewReader(body))
	// stack holds, per open container, whether it is an object and whether the next
	// token in it is a key.
	type frame struct{ object, wantKey bool }
	var stack []frame
	for {
		tok, err := dec.Token()
		if err != nil {
			break // io.EOF: the body was valid, so nothing else can happen
		}
		top := len(stack) - 1
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{', '[':
				if top >= 0 && stack[top].object {
					stack[top].wantKey = true // this container is the value just read
				}
				stack = append(stack, frame{object: d == '{', wantKey: d == '{'})
			default:
				stack = stack[:top]
			}
			continue
		}
		if top < 0 || !stack[top].object {
			continue
		}
		if !stack[top].wantKey {
			stack[top].wantKey = true // a scalar value; the next token is a key
			continue
		}
		key := tok.(string)
		if !IsSecretKey(key) {
			stack[top].wantKey = false
			continue
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			break
		}
		end := dec.InputOffset()
		if t := bytes.TrimSpace(v); len(t) > 0 && string(t) != "null" && string(t) != `""` {
			spans = append(spans, span{end - int64(len(v)), end})
		}
		// The value is consumed; the next token of this object is a key again.
	}
	if len(spans) == 0 {
		return body
	}
	var out bytes.Buffer
	var last int64
	for _, s := range spans {
		out.Write(body[last:s.start])
		out.WriteString(Redacted)
		last = s.end
	}
	out.Write(body[last:])
	return out.Bytes()
}

// MaskSecret shows whether a secret is set without showing it.
func MaskSecret(secret string) string {
	if secret == "" {
		return ""
	}
	return "***"
}

// RedactURL hides a password written into a URL's user information; an unparsable value is
// masked whole, since it may hold anything.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return MaskSecret(raw)
	}
	return u.Redacted()
}
