package knm

import (
	"context"
	"time"
)

// Webhook is an account's subscription to number events, shaped like Kazoo's webhook
// document: knm POSTs (or PUTs) each event it may see to URI, signed with Secret.
type Webhook struct {
	ID                 string // 32 lower-case hex characters
	Rev                int64
	AccountID          string            // the owning account; it sees the events this account may see
	Name               string            // a friendly name
	URI                string            // http:// or https://, without credentials
	HTTPVerb           string            // "post" or "put"
	Hook               string            // the events wanted: "numbers" (every number event)
	IncludeSubaccounts bool              // also the events of the account's descendants
	CustomData         map[string]string // added to every payload
	Enabled            bool
	MaxConcurrency     int    // most deliveries of this hook in flight at once, over all instances
	Secret             string // HMAC-SHA256 signing key; shown once, when the hook is created
	Created            time.Time
	Modified           time.Time

	// Delivery state, kept by the store as deliveries succeed or fail; UpdateWebhook
	// ignores these fields.

	// DisableReason says why knm disabled the hook by itself; "" otherwise.
	DisableReason       string
	ConsecutiveFailures int       // failed attempts since the last success
	LastError           string    // the last failure, as the receiver or the network said it
	LastAttempt         time.Time // the last delivery attempt, successful or not
	LastSuccess         time.Time
	Pending             int // deliveries queued and not yet acknowledged
}

// WebhookConsumer is the name of a hook's event cursor.
func WebhookConsumer(hookID string) string { return "webhook:" + hookID }

// WebhookFilter selects webhooks. Zero fields do not constrain. Results are ordered by id.
type WebhookFilter struct {
	AccountID string
	Enabled   *bool
}

// WebhookDelivery is one event due to one hook: its dedup id, which the receiver sees, is
// the same on every attempt and every instance.
type WebhookDelivery struct {
	HookID   string
	Event    *Event
	Attempts int // attempts made before this one
}

// WebhookFailure is what a failed delivery attempt records.
type WebhookFailure struct {
	RetryIn      time.Duration // when to try the delivery again
	Reason       string        // shown in the hook's LastError, and DisableReason if it is disabled
	DisableAfter int           // disable the hook when its consecutive failures reach this (0: never)
}

// WebhookStore persists webhooks and the delivery queue. The queue is what makes delivery
// at-least-once across restarts and instances: each hook's cursor moves over the outbox
// and queues a delivery per event it wants, in the same transaction; deliveries are
// leased to one instance at a time and removed only once the receiver acknowledged them.
type WebhookStore interface {
	// CreateWebhook stores a new hook (Rev 1) and, in the same transaction, registers its
	// cursor (WebhookConsumer) at the newest event: the hook receives the events committed
	// after it. ErrConflict if the id exists.
	CreateWebhook(ctx context.Context, h *Webhook) error
	// GetWebhook returns the hook, or ErrNotFound.
	GetWebhook(ctx context.Context, id string) (*Webhook, error)
	// FindWebhooks returns the hooks matching f, ordered by id.
	FindWebhooks(ctx context.Context, f WebhookFilter) ([]*Webhook, error)
	// UpdateWebhook replaces the settings of the hook stored at h.Rev (ErrNotFound,
	// ErrConflict), not its secret nor its delivery state. Enabling a disabled hook clears
	// its failures and DisableReason and makes its pending deliveries due at once.
	UpdateWebhook(ctx context.Context, h *Webhook) error
	// DeleteWebhook removes the hook, its pending deliveries and its cursor (ErrNotFound).
	DeleteWebhook(ctx context.Context, id string) error
	// QueueWebhookDeliveries moves the hook's cursor from `from` to `to` and queues a
	// delivery of each of events (whose IDs are in (from, to]), in one transaction. It is
	// ErrConflict when the cursor is not at from (another instance queued them first) and
	// ErrNotFound when the hook is gone.
	QueueWebhookDeliveries(ctx context.Context, hookID string, from, to int64, events []*Event) error
	// ClaimWebhookDeliveries leases due deliveries of an enabled hook to owner until
	// now+lease: only the oldest pending delivery of each number, so a number's events go
	// out in order, and only as many as keep the hook's unexpired leases within its
	// MaxConcurrency. Instances never claim the same hook at the same moment.
	ClaimWebhookDeliveries(ctx context.Context, hookID, owner string, lease time.Duration) ([]*WebhookDelivery, error)
	// CompleteWebhookDelivery removes a delivery the receiver acknowledged and clears the
	// hook's consecutive failures. Removing one already gone is not an error.
	CompleteWebhookDelivery(ctx context.Context, hookID string, eventID int64) error
	// FailWebhookDelivery records a failed attempt of a delivery owner holds: the attempt
	// is counted, the lease dropped and the delivery due again after f.RetryIn; the hook's
	// consecutive failures grow and, when they reach f.DisableAfter, the hook is disabled
	// with f.Reason. It reports whether this failure disabled the hook. A delivery owner no
	// longer holds is left alone.
	FailWebhookDelivery(ctx context.Context, hookID string, eventID int64, owner string,
		f WebhookFailure) (disabled bool, err error)
}
