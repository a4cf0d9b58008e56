package webhooks_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/webhooks"
)

func TestNewChecksSettings(t *testing.T) {
	ok := knm.Webhook{Name: "n", URI: "https://hooks.example.com/knm?x=1"}
	tests := []struct {
		name  string
		edit  func(h *knm.Webhook)
		cause string // "" when valid
	}{
		{"OK", func(*knm.Webhook) {}, ""},
		{"OKPlainHTTPAndPut", func(h *knm.Webhook) { h.URI, h.HTTPVerb = "http://127.0.0.1:8080/x", "PUT" }, ""},
		{"OKKazooHookAll", func(h *knm.Webhook) { h.Hook = "all" }, ""},
		{"ErrNoName", func(h *knm.Webhook) { h.Name = " " }, "name"},
		{"ErrLongName", func(h *knm.Webhook) { h.Name = strings.Repeat("é", 129) }, "name"},
		{"ErrCredentials", func(h *knm.Webhook) { h.URI = "https://user:pw@hooks.example.com/" }, "uri"},
		{"ErrUserOnly", func(h *knm.Webhook) { h.URI = "https://token@hooks.example.com/" }, "uri"},
		{"ErrScheme", func(h *knm.Webhook) { h.URI = "ftp://hooks.example.com/" }, "uri"},
		{"ErrJavascript", func(h *knm.Webhook) { h.URI = "javascript:alert(1)" }, "uri"},
		{"ErrRelative", func(h *knm.Webhook) { h.URI = "/hooks" }, "uri"},
		{"ErrNoHost", func(h *knm.Webhook) { h.URI = "http:///x" }, "uri"},
		{"ErrNoURI", func(h *knm.Webhook) { h.URI = "" }, "uri"},
		{"ErrGet", func(h *knm.Webhook) { h.HTTPVerb = "get" }, "http_verb"},
		{"ErrHook", func(h *knm.Webhook) { h.Hook = "channel_create" }, "hook"},
		{"ErrConcurrency", func(h *knm.Webhook) { h.MaxConcurrency = 33 }, "max_concurrency"},
		{"ErrReservedCustomData", func(h *knm.Webhook) { h.CustomData = map[string]string{"event": "x"} }, "custom_data"},
	}
	for _, tt := range tests {
		h := ok
		tt.edit(&h)
		got, err := webhooks.New("a0000000000000000000000000000000", h)
		if tt.cause == "" {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
				continue
			}
			if len(got.ID) != 32 || len(got.Secret) != 64 || got.MaxConcurrency != webhooks.DefaultConcurrency ||
				(got.HTTPVerb != "post" && got.HTTPVerb != "put") || got.Hook == "" {
				t.Errorf("%s: defaults not filled: %+v", tt.name, got)
			}
			continue
		}
		var ke *knm.Error
		if !knm.IsErrorName(err, knm.ErrInvalid) || !errors.As(err, &ke) || ke.Cause != tt.cause {
			t.Errorf("%s: error %v, want invalid with cause %s", tt.name, err, tt.cause)
		}
	}
}
