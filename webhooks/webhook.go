// Package webhooks delivers knm's number events to HTTP receivers: the checks a hook's
// settings pass, the signature a receiver verifies, and the Worker that delivers.
//
// Delivery is at-least-once and in order per number: each hook's cursor moves over the
// outbox and queues, in one transaction, a delivery per event the hook's account may see;
// a delivery stays queued until the receiver answers 2xx, is retried with exponential
// backoff and jitter, and carries the same dedup id (X-KNM-Delivery-Id) on every attempt
// and from every instance. A hook that keeps failing is disabled, with the reason shown.
package webhooks

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/knmproject/knm"
)

// Hook names. A hook subscribes to every number event; "all" is Kazoo's spelling of the
// same, accepted so Kazoo tooling can create hooks unchanged.
const (
	HookNumbers = "numbers"
	HookAll     = "all"
)

// Limits of a hook's settings.
const (
	DefaultConcurrency = 4
	MaxConcurrency     = 32
	maxNameLen         = 128
	maxURILen          = 2048
	maxCustomData      = 32
	maxCustomValueLen  = 1024
)

// reservedKeys are the payload's own keys, which custom_data may not replace: a receiver
// must be able to trust them.
var reservedKeys = map[string]bool{
	"hook_event": true, "hook_id": true, "account_id": true, "delivery_id": true, "event": true,
}

// Check validates a hook's user settings and fills the defaults (http_verb post, hook
// numbers, max_concurrency DefaultConcurrency). Every error is knm.ErrInvalid naming the
// field as its cause.
func Check(h *knm.Webhook) error {
	if h.HTTPVerb == "" {
		h.HTTPVerb = "post"
	}
	if h.Hook == "" {
		h.Hook = HookNumbers
	}
	if h.MaxConcurrency == 0 {
		h.MaxConcurrency = DefaultConcurrency
	}
	h.HTTPVerb = strings.ToLower(h.HTTPVerb)
	switch {
	case strings.TrimSpace(h.Name) == "":
		return invalid("name", "name is required")
	case utf8.RuneCountInString(h.Name) > maxNameLen:
		return invalid("name", fmt.Sprintf("name must be at most %d characters", maxNameLen))
	case h.HTTPVerb != "post" && h.HTTPVerb != "put":
		return invalid("http_verb", "http_verb must be post or put (knm signs the body, which get has not)")
	case h.Hook != HookNumbers && h.Hook != HookAll:
		return invalid("hook", `hook must be "numbers" (every number event) or "all"`)
	case h.MaxConcurrency < 1 || h.MaxConcurrency > MaxConcurrency:
		return invalid("max_concurrency", fmt.Sprintf("max_concurrency must be between 1 and %d", MaxConcurrency))
	}
	if err := CheckURI(h.URI); err != nil {
		return err
	}
	return checkCustomData(h.CustomData)
}

// CheckURI accepts absolute http:// and https:// URLs without credentials: a password in
// a hook's URL would be shown to whoever reads the hook, and other schemes cannot receive
// an HTTP request.
func CheckURI(uri string) error {
	if uri == "" {
		return invalid("uri", "uri is required")
	}
	if len(uri) > maxURILen {
		return invalid("uri", fmt.Sprintf("uri must be at most %d characters", maxURILen))
	}
	u, err := url.Parse(uri)
	if err != nil {
		return invalid("uri", "uri is not a valid URL")
	}
	if s := strings.ToLower(u.Scheme); s != "http" && s != "https" {
		return invalid("uri", "uri must be an http:// or https:// URL")
	}
	if u.User != nil {
		return invalid("uri", "uri must not carry credentials (user:password@); authenticate the request by its signature")
	}
	if u.Hostname() == "" {
		return invalid("uri", "uri has no host")
	}
	return nil
}

func checkCustomData(cd map[string]string) error {
	if len(cd) > maxCustomData {
		return invalid("custom_data", fmt.Sprintf("custom_data holds at most %d keys", maxCustomData))
	}
	for k, v := range cd {
		switch {
		case k == "" || reservedKeys[k]:
			return invalid("custom_data", fmt.Sprintf("custom_data key %q is empty or one of the payload's own keys", k))
		case len(v) > maxCustomValueLen:
			return invalid("custom_data", fmt.Sprintf("custom_data %q is longer than %d bytes", k, maxCustomValueLen))
		}
	}
	return nil
}

func invalid(field, msg string) error { return knm.Errorf(knm.ErrInvalid, "%s", msg).WithCause(field) }

// New returns a hook of account with the settings of tmpl checked (Check), a new id and a
// new signing secret, ready for knm.WebhookStore.CreateWebhook.
func New(account string, tmpl knm.Webhook) (*knm.Webhook, error) {
	h := tmpl
	h.AccountID = account
	h.ID = knm.NewAccountID() // the same 32-hex shape as Kazoo's document ids
	h.Secret = NewSecret()
	h.Rev, h.DisableReason, h.ConsecutiveFailures = 0, "", 0
	if err := Check(&h); err != nil {
		return nil, err
	}
	return &h, nil
}

// NewSecret returns a random 256-bit signing secret in hex.
func NewSecret() string {
	var b [32]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// DeliveryID is the dedup id of the delivery of an event to a hook: the same on every
// attempt and from every instance.
func DeliveryID(hookID string, eventID int64) string { return fmt.Sprintf("%s-%d", hookID, eventID) }

// View is the public view of a hook, as the API and the CLI show it: its settings and
// delivery state, never its secret.
func View(h *knm.Webhook) map[string]any {
	cd := h.CustomData
	if cd == nil {
		cd = map[string]string{}
	}
	out := map[string]any{
		"id": h.ID, "account_id": h.AccountID, "name": h.Name, "uri": h.URI, "http_verb": h.HTTPVerb,
		"hook": h.Hook, "enabled": h.Enabled, "include_subaccounts": h.IncludeSubaccounts, "custom_data": cd,
		"max_concurrency": h.MaxConcurrency, "pending_deliveries": h.Pending,
		"consecutive_failures": h.ConsecutiveFailures, "created": h.Created.UTC().Format(time.RFC3339),
		"modified": h.Modified.UTC().Format(time.RFC3339),
	}
	if h.DisableReason != "" {
		out["disable_reason"] = h.DisableReason
	}
	if h.LastError != "" {
		out["last_error"] = h.LastError
	}
	for k, t := range map[string]time.Time{"last_attempt": h.LastAttempt, "last_success": h.LastSuccess} {
		if !t.IsZero() {
			out[k] = t.UTC().Format(time.RFC3339Nano)
		}
	}
	return out
}
