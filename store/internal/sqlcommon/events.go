package sqlcommon

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/knmproject/knm"
)

// The columns of the outbox tables, in the order the Scan functions read them. Their
// times are kept in milliseconds (SQLite: Unix milliseconds, PostgreSQL: timestamptz).
const (
	EventColumns = `id, type, number, account_before, account_after, state_before, state_after, module_name, ` +
		`rev, detail, created`
	EventCursorColumns = `name, last_id, owner, lease_until, updated`
	// WebhookColumns ends with the count of the hook's pending deliveries, so it reads
	// "FROM webhooks w".
	WebhookColumns = `w.id, w.rev, w.account_id, w.name, w.uri, w.http_verb, w.hook, w.include_subaccounts, ` +
		`w.custom_data, w.enabled, w.max_concurrency, w.secret, w.disable_reason, w.consecutive_failures, ` +
		`w.last_error, w.last_attempt, w.last_success, w.created, w.modified, ` +
		`(SELECT count(*) FROM webhook_deliveries d WHERE d.hook_id = w.id)`
)

// Milli returns t in UTC at the millisecond precision the outbox tables keep.
func Milli(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC().Truncate(time.Millisecond)
}

// eventDetail is the JSON detail column of an event: what changed.
type eventDetail struct {
	Changed []string                   `json:"changed,omitempty"`
	Public  map[string]json.RawMessage `json:"public,omitempty"`
}

// EventDetail returns the detail column of an event: its Changed and Public. Changed
// holds field names, plain identifiers written as they are: a bulk import encodes one
// detail per number, and encoding/json's reflection was a visible share of it.
func EventDetail(e *knm.Event) (string, error) {
	var b strings.Builder
	b.WriteString(`{"changed":[`)
	for i, name := range e.Changed {
		if i > 0 {
			b.WriteByte(',')
		}
		if plainName(name) {
			b.WriteString(`"` + name + `"`)
		} else {
			q, _ := json.Marshal(name) // a string always encodes
			b.Write(q)
		}
	}
	b.WriteByte(']')
	if len(e.Public) > 0 {
		pub, err := json.Marshal(e.Public)
		if err != nil {
			return "", fmt.Errorf("encode event of %s: %w", e.Number, err)
		}
		b.WriteString(`,"public":`)
		b.Write(pub)
	}
	b.WriteByte('}')
	return b.String(), nil
}

// ScanEvent reads a row of EventColumns.
func ScanEvent[T any](row Scanner, toTime func(T) time.Time) (*knm.Event, error) {
	var (
		e              knm.Event
		typ, sb, sa    string
		detail         []byte
		created        T
		decodedDetails eventDetail
	)
	if err := row.Scan(&e.ID, &typ, &e.Number, &e.AccountBefore, &e.AccountAfter, &sb, &sa, &e.Module, &e.Rev,
		&detail, &created); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(detail, &decodedDetails); err != nil {
		return nil, fmt.Errorf("decode event %d: %w", e.ID, err)
	}
	e.Type, e.StateBefore, e.StateAfter = knm.EventType(typ), knm.State(sb), knm.State(sa)
	e.Changed, e.Public = decodedDetails.Changed, decodedDetails.Public
	if e.Changed == nil {
		e.Changed = []string{}
	}
	e.Time = toTime(created)
	return &e, nil
}

// ScanEventCursor reads a row of EventCursorColumns.
func ScanEventCursor[T any](row Scanner, toTime func(T) time.Time) (*knm.EventCursor, error) {
	var (
		c              knm.EventCursor
		lease, updated T
	)
	if err := row.Scan(&c.Name, &c.LastID, &c.Owner, &lease, &updated); err != nil {
		return nil, err
	}
	c.LeaseUntil, c.Updated = toTime(lease), toTime(updated)
	return &c, nil
}

// ScanWebhook reads a row of WebhookColumns.
func ScanWebhook[T any](row Scanner, toTime func(T) time.Time) (*knm.Webhook, error) {
	var (
		h                                       knm.Webhook
		custom                                  []byte
		lastAttempt, lastSuccess, created, modi T
	)
	if err := row.Scan(&h.ID, &h.Rev, &h.AccountID, &h.Name, &h.URI, &h.HTTPVerb, &h.Hook, &h.IncludeSubaccounts,
		&custom, &h.Enabled, &h.MaxConcurrency, &h.Secret, &h.DisableReason, &h.ConsecutiveFailures,
		&h.LastError, &lastAttempt, &lastSuccess, &created, &modi, &h.Pending); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(custom, &h.CustomData); err != nil {
		return nil, fmt.Errorf("decode webhook %s: %w", h.ID, err)
	}
	h.LastAttempt, h.LastSuccess = toTime(lastAttempt), toTime(lastSuccess)
	h.Created, h.Modified = toTime(created), toTime(modi)
	return &h, nil
}

// CheckWebhook rejects a hook the store must not hold: no id or account, or settings
// that cannot be delivered. The webhooks package checks user input more closely.
func CheckWebhook(h *knm.Webhook) error {
	switch {
	case h == nil || h.ID == "":
		return knm.Errorf(knm.ErrInvalid, "webhook has no id")
	case h.AccountID == "":
		return knm.Errorf(knm.ErrInvalid, "webhook %s has no account", h.ID)
	case h.URI == "" || h.HTTPVerb == "" || h.Hook == "":
		return knm.Errorf(knm.ErrInvalid, "webhook %s needs a uri, an http_verb and a hook", h.ID)
	case h.MaxConcurrency < 1:
		return knm.Errorf(knm.ErrInvalid, "webhook %s: max_concurrency must be at least 1", h.ID)
	}
	return nil
}

// EncodeCustomData returns a hook's custom data as its JSON column.
func EncodeCustomData(h *knm.Webhook) string {
	if len(h.CustomData) == 0 {
		return "{}"
	}
	b, _ := json.Marshal(h.CustomData) // a map of strings always encodes
	return string(b)
}

// WebhookNotFound is the error for an unknown webhook id.
func WebhookNotFound(id string) error {
	return knm.Errorf(knm.ErrNotFound, "webhook %s not found", id).WithCause(id)
}

// EventCursorNotFound is the error for an unknown consumer.
func EventCursorNotFound(name string) error {
	return knm.Errorf(knm.ErrNotFound, "event consumer %s not found", name).WithCause(name)
}

// CursorBackwards is the error for moving a consumer's cursor back.
func CursorBackwards(name string, from, to int64) error {
	return knm.Errorf(knm.ErrInvalid, "event consumer %s is at %d; it cannot move back to %d", name, from, to)
}

// LeaseLost is the error for advancing a cursor whose lease another owner holds.
func LeaseLost(name, owner string) error {
	return knm.Errorf(knm.ErrConflict, "event consumer %s is leased to %s", name, owner)
}

// CheckClaim rejects a claim of a consumer with an empty or oversized name, or by an
// owner without a name.
func CheckClaim(name, owner string) error {
	if name == "" || len(name) > 200 || strings.TrimSpace(name) != name {
		return knm.Errorf(knm.ErrInvalid, "event consumer name %q must be 1-200 characters without outer spaces", name)
	}
	if owner == "" {
		return knm.Errorf(knm.ErrInvalid, "event consumer %s: empty owner", name)
	}
	return nil
}

// PrepareWebhook checks a hook about to be created (CheckWebhook) and stamps its times.
func PrepareWebhook(h *knm.Webhook, now time.Time) error {
	if err := CheckWebhook(h); err != nil {
		return err
	}
	Stamp(now, &h.Created, &h.Modified)
	return nil
}

// DisableReason is the reason a hook disabled after failing is shown with.
func DisableReason(failures int, reason string) string {
	return fmt.Sprintf("disabled after %d consecutive failed deliveries; last: %s", failures, reason)
}

// CheckQueue rejects a QueueWebhookDeliveries call that would move a cursor backwards or
// queue events outside the range it moves over.
func CheckQueue(hookID string, from, to int64, events []*knm.Event) error {
	if to < from {
		return knm.Errorf(knm.ErrInvalid, "webhook %s: cursor cannot move back from %d to %d", hookID, from, to)
	}
	for _, e := range events {
		if e.ID <= from || e.ID > to {
			return knm.Errorf(knm.ErrInvalid, "webhook %s: event %d is outside (%d, %d]", hookID, e.ID, from, to)
		}
	}
	return nil
}

// DueHeads returns the SELECT of the event ids a claim may take, with its four
// parameters numbered from first: the hook id, now (twice) and the most to take. A
// delivery is due when its retry time has come and nobody holds an unexpired lease on it,
// and it may go only when it is the oldest queued delivery of its number for the hook.
func DueHeads(placeholder func(int) string, first int) string {
	p := func(i int) string { return placeholder(first + i) }
	return `SELECT d.event_id FROM webhook_deliveries d
		WHERE d.hook_id = ` + p(0) + ` AND d.next_attempt <= ` + p(1) + ` AND d.lease_until <= ` + p(2) + `
		AND d.event_id = (SELECT min(q.event_id) FROM webhook_deliveries q
			WHERE q.hook_id = d.hook_id AND q.number = d.number)
		ORDER BY d.event_id LIMIT ` + p(3)
}

// CollectClaims reads the (event_id, attempts) rows a claim returns as deliveries whose
// Event holds only its ID, in event order.
func CollectClaims(rows Rows, hookID string) ([]*knm.WebhookDelivery, error) {
	ds, err := Collect(rows, func(row Scanner) (*knm.WebhookDelivery, error) {
		d := &knm.WebhookDelivery{HookID: hookID, Event: &knm.Event{}}
		return d, row.Scan(&d.Event.ID, &d.Attempts)
	})
	slices.SortFunc(ds, func(a, b *knm.WebhookDelivery) int { return cmp.Compare(a.Event.ID, b.Event.ID) })
	return ds, err
}

// ClaimedEventsQuery returns the SELECT of the events of claimed deliveries.
func ClaimedEventsQuery(ds []*knm.WebhookDelivery, placeholder func(int) string) (string, []any) {
	w := &where{placeholder: placeholder}
	ps := make([]string, len(ds))
	for i, d := range ds {
		ps[i] = w.Arg(d.Event.ID)
	}
	return `SELECT ` + EventColumns + ` FROM number_events WHERE id IN (` + strings.Join(ps, ", ") +
		`) ORDER BY id`, w.args
}

// AttachEvents gives each claimed delivery its event. Retention keeps the events of
// pending deliveries, so every one is found; a delivery whose event is missing is left
// out rather than sent empty.
func AttachEvents(ds []*knm.WebhookDelivery, events []*knm.Event) []*knm.WebhookDelivery {
	byID := make(map[int64]*knm.Event, len(events))
	for _, e := range events {
		byID[e.ID] = e
	}
	out := ds[:0]
	for _, d := range ds {
		if e := byID[d.Event.ID]; e != nil {
			d.Event = e
			out = append(out, d)
		}
	}
	return out
}

// plainName reports whether s needs no escaping in a JSON string: lower-case letters,
// digits, '_' and '.'.
func plainName(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// PurgeBatch bounds the events one purge statement deletes, so a large purge never holds
// locks for long.
const PurgeBatch = 5000

// PurgeEventsQuery returns the DELETE of one batch of PurgeEvents and its arguments, given
// the cut-off as the backend stores times. Events are written in time order, so the ones
// before the cut-off are those below the first event written at it or later.
func PurgeEventsQuery(before any, placeholder func(int) string) (string, []any) {
	return `DELETE FROM number_events WHERE id IN (
		SELECT e.id FROM number_events e
		WHERE e.id < coalesce((SELECT k.id FROM number_events k WHERE k.created >= ` + placeholder(1) + `
			ORDER BY k.id LIMIT 1), ` + placeholder(2) + `)
		AND e.id <= coalesce((SELECT min(last_id) FROM event_cursors), ` + placeholder(3) + `)
		AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = e.id)
		ORDER BY e.id LIMIT ` + placeholder(4) + `)`, []any{before, int64(math.MaxInt64), int64(math.MaxInt64), PurgeBatch}
}

// PurgeInBatches runs purge (one batch, returning how many it deleted) until a batch
// comes back short, and returns the total.
func PurgeInBatches(purge func() (int64, error)) (int, error) {
	total := 0
	for {
		k, err := purge()
		total += int(k)
		if err != nil || k < PurgeBatch {
			return total, err
		}
	}
}

// FindWebhooksQuery returns the SELECT of FindWebhooks for f, ordered by id, and its
// arguments.
func FindWebhooksQuery(f knm.WebhookFilter, placeholder func(int) string) (string, []any) {
	w := &where{placeholder: placeholder}
	if f.AccountID != "" {
		w.Add("w.account_id = " + w.Arg(f.AccountID))
	}
	if f.Enabled != nil {
		w.Add("w.enabled = " + w.Arg(*f.Enabled))
	}
	return `SELECT ` + WebhookColumns + ` FROM webhooks w` + w.String() + ` ORDER BY w.id`, w.args
}
