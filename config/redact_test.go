package config

import (
	"encoding/json"
	"testing"
)

func TestRedact(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, want string }{
		{"top level, order and spacing kept",
			`{"z": 1, "password" : "p@ss", "a":[1, 2]}`,
			`{"z": 1, "password" : "***", "a":[1, 2]}`},
		{"node and zone sections",
			`{"_id":"number_manager.voxbone","default":{"username":"u","api_password":"x","api_key":"k"},` +
				`"node@host":{"password":"y"}}`,
			`{"_id":"number_manager.voxbone","default":{"username":"u","api_password":"***","api_key":"***"},` +
				`"node@host":{"password":"***"}}`},
		{"case-insensitive substrings",
			`{"Client_Secret":"s","AUTH_TOKEN":"t","tokens":["a","b"],"Password":"P","passwords_ok":"v"}`,
			`{"Client_Secret":"***","AUTH_TOKEN":"***","tokens":***,"Password":"***","passwords_ok":"***"}`},
		{"inside arrays and deep objects",
			`[{"a":{"b":[{"secret":{"x":1}},{"api_key":12.5}]}},{"token":true}]`,
			`[{"a":{"b":[{"secret":***},{"api_key":***}]}},{"token":***}]`},
		{"values after a redacted one still parsed",
			`{"password":{"password":"x"},"ok":{"api_key":"y"},"last":"z"}`,
			`{"password":***,"ok":{"api_key":***},"last":"z"}`},
		{"unset secrets left visible",
			`{"password":"","api_key":null,"token":"t"}`,
			`{"password":"","api_key":null,"token":"***"}`},
		{"secret-looking values are not keys",
			`{"note":"password","list":["token"]}`,
			`{"note":"password","list":["token"]}`},
		{"carrier modules' own names for credentials",
			`{"auth_password":"a","private_key":"b","sip_passwd":"c","apikey":"d","credentials":{"user":"u"},` +
				`"developer_key":"e","pass":"f","key_order":"kept"}`,
			`{"auth_password":"***","private_key":"***","sip_passwd":"***","apikey":"***","credentials":***,` +
				`"developer_key":"***","pass":"***","key_order":"kept"}`},
		{"not JSON", `{"password":"x"`, `"***"`},
		{"scalar", `"password"`, `"password"`},
	}
	for _, tt := range tests {
		// A redacted value that is not a string is replaced by the string "***" too.
		want := replaceStars(tt.want)
		got := string(Redact(json.RawMessage(tt.in)))
		if got != want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, got, want)
		}
		if !json.Valid([]byte(got)) {
			t.Errorf("%s: result is not JSON: %s", tt.name, got)
		}
	}
}

func TestRedactURLCredentials(t *testing.T) {
	t.Parallel()
	in := `{"base_url":"https://user:pw@api.example.com/rest","proxy":"http://u:p%40ss@10.0.0.1:3128",` +
		`"plain":"https://api.example.com","user_only":"https://u@h/","list":["ftp://a:b@c"]}`
	want := `{"base_url":"https://***:***@api.example.com/rest","proxy":"http://***:***@10.0.0.1:3128",` +
		`"plain":"https://api.example.com","user_only":"https://u@h/","list":["ftp://***:***@c"]}`
	if got := string(Redact(json.RawMessage(in))); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// replaceStars turns the bare *** placeholders of the table into the JSON string Redact
// writes, leaving the already quoted ones alone.
func replaceStars(s string) string {
	out := []byte{}
	for i := 0; i < len(s); i++ {
		if s[i] == '*' && (i == 0 || s[i-1] != '*' && s[i-1] != '"') {
			out = append(out, []byte(Redacted)...)
			i += 2
			continue
		}
		out = append(out, s[i])
	}
	return string(out)
}

func TestIsSecretKey(t *testing.T) {
	t.Parallel()
	for key, want := range map[string]bool{
		"password": true, "API_PASSWORD": true, "api_key": true, "client_secret": true,
		"x_token_y": true, "username": false, "api_username": false, "apikey": true,
		"passwords": true, "key": true, "auth_password": true, "sip_passwd": true, "private_key": true,
		"developer_key": true, "api_keys": true, "credentials": true, "pass": true, "pwd": true,
		"environment": false, "base_url": false, "page_size": false, "key_order": false,
		"carrier_modules": false, "keyboard": false,
	} {
		if got := IsSecretKey(key); got != want {
			t.Errorf("IsSecretKey(%q) = %v, want %v", key, got, want)
		}
	}
}

// FuzzRedact checks that Redact never panics, always returns JSON for JSON input, and
// leaves no non-empty string value under a secret key.
func FuzzRedact(f *testing.F) {
	for _, s := range []string{`{"password":"x"}`, `[{"a":{"token":[1,{"secret":2}]}}]`, `{"a": 1 , "api_key" : "k" }`,
		`1`, `{`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := Redact(json.RawMessage(in))
		if !json.Valid(out) {
			t.Fatalf("Redact(%q) = %q, not JSON", in, out)
		}
		var check func(v any)
		check = func(v any) {
			switch v := v.(type) {
			case map[string]any:
				for k, x := range v {
					if s, ok := x.(string); ok && IsSecretKey(k) && s != "" && s != "***" {
						t.Fatalf("Redact(%q) left %s=%q", in, k, s)
					}
					check(x)
				}
			case []any:
				for _, x := range v {
					check(x)
				}
			}
		}
		var v any
		_ = json.Unmarshal(out, &v)
		check(v)
	})
}
