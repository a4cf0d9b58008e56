package knm

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"slices"
	"time"
)

// EventType says what a change did to a number.
type EventType string

// The event types. An update is classified by what it changed, most telling first: the
// owner (assigned, moved, released), then the state, then the features; anything else is
// number.updated.
const (
	// EventNumberCreated is a number stored for the first time (CreateNumber).
	EventNumberCreated EventType = "number.created"
	// EventNumberImported is a number stored by a bulk import (ImportNumbers).
	EventNumberImported EventType = "number.imported"
	// EventNumberAssigned is a number without an owner given one.
	EventNumberAssigned EventType = "number.assigned"
	// EventNumberMoved is a number that changed owner.
	EventNumberMoved EventType = "number.moved"
	// EventNumberReleased is a number whose owner let it go; it is kept, unowned.
	EventNumberReleased EventType = "number.released"
	// EventNumberStateChanged is a number whose state changed under the same owner.
	EventNumberStateChanged EventType = "number.state_changed"
	// EventNumberFeaturesChanged is a number whose features (or allowed/denied features)
	// changed, and nothing above.
	EventNumberFeaturesChanged EventType = "number.features_changed"
	// EventNumberUpdated is any other change: public fields, carrier data, used_by, ….
	EventNumberUpdated EventType = "number.updated"
	// EventNumberDeleted is a number removed from the store.
	EventNumberDeleted EventType = "number.deleted"
)

// EventTypes lists every event type.
var EventTypes = []EventType{
	EventNumberCreated, EventNumberImported, EventNumberAssigned, EventNumberMoved, EventNumberReleased,
	EventNumberStateChanged, EventNumberFeaturesChanged, EventNumberUpdated, EventNumberDeleted,
}

// Event is one committed change of one number. The store writes it in the same
// transaction as the change (a transactional outbox), so there is never a change without
// its event nor an event without its change. Webhooks, the event stream and the Kazoo
// projection all read events in ID order from a persisted cursor.
type Event struct {
	// ID increases with every event, in commit order: a reader that has seen event N never
	// later finds a new event below N, so a cursor never skips one.
	ID            int64     `json:"id"`
	Type          EventType `json:"type"`
	Number        string    `json:"number"`
	AccountBefore string    `json:"account_before"` // pvt_assigned_to before; "" for none
	AccountAfter  string    `json:"account_after"`  // pvt_assigned_to after; "" for none
	StateBefore   State     `json:"state_before"`   // "" for a created or imported number
	StateAfter    State     `json:"state_after"`    // "" for a deleted number
	Module        string    `json:"module_name"`    // after the change (before it, for a delete)
	Rev           int64     `json:"rev"`            // the number's revision after; 0 when deleted
	// Changed names the private fields whose value changed, sorted: assigned_to,
	// carrier_data, features, features_allowed, features_denied, module_name, ported_in,
	// previously_assigned_to, region, reserve_history, state, used_by. A number created
	// or deleted changes every field it has.
	Changed []string `json:"changed"`
	// Public holds the public fields that changed, with their new value (JSON null for a
	// field removed).
	Public map[string]json.RawMessage `json:"public,omitempty"`
	// Time is when the change was committed, by the store's clock, in milliseconds.
	Time time.Time `json:"timestamp"`
}

// Involves reports whether the number belonged to account before or after the change.
func (e *Event) Involves(account string) bool {
	return account != "" && (e.AccountBefore == account || e.AccountAfter == account)
}

// NumberEvent returns the event of a change from before to after: before nil for a number
// being created, after nil for one being deleted. The store sets ID and Time; an import
// changes the type to EventNumberImported.
func NumberEvent(before, after *Number) *Event {
	var b, a Number
	if before != nil {
		b = *before
	}
	if after != nil {
		a = *after
	}
	e := &Event{
		Number: a.Number, AccountBefore: b.AssignedTo, AccountAfter: a.AssignedTo,
		StateBefore: b.State, StateAfter: a.State, Module: a.ModuleName, Rev: a.Rev,
		Changed: changedFields(&b, &a), Public: changedPublic(b.Public, a.Public),
	}
	switch {
	case before == nil:
		e.Type = EventNumberCreated
	case after == nil:
		e.Type, e.Number, e.Module = EventNumberDeleted, b.Number, b.ModuleName
	default:
		e.Type = updateType(&b, &a)
	}
	return e
}

// updateType classifies an update by what it changed.
func updateType(b, a *Number) EventType {
	switch {
	case b.AssignedTo == "" && a.AssignedTo != "":
		return EventNumberAssigned
	case b.AssignedTo != "" && a.AssignedTo == "":
		return EventNumberReleased
	case b.AssignedTo != a.AssignedTo:
		return EventNumberMoved
	case b.State != a.State:
		return EventNumberStateChanged
	case !rawMapsEqual(b.Features, a.Features) || !slices.Equal(b.FeaturesAllowed, a.FeaturesAllowed) ||
		!slices.Equal(b.FeaturesDenied, a.FeaturesDenied):
		return EventNumberFeaturesChanged
	}
	return EventNumberUpdated
}

// changedFields names the private fields that differ between b and a, sorted.
func changedFields(b, a *Number) []string {
	changed := []string{}
	add := func(name string, differ bool) {
		if differ {
			changed = append(changed, name)
		}
	}
	add("assigned_to", b.AssignedTo != a.AssignedTo)
	add("carrier_data", !jsonEqual(b.CarrierData, a.CarrierData))
	add("features", !rawMapsEqual(b.Features, a.Features))
	add("features_allowed", !slices.Equal(b.FeaturesAllowed, a.FeaturesAllowed))
	add("features_denied", !slices.Equal(b.FeaturesDenied, a.FeaturesDenied))
	add("module_name", b.ModuleName != a.ModuleName)
	add("ported_in", b.PortedIn != a.PortedIn)
	add("previously_assigned_to", b.PreviouslyAssignedTo != a.PreviouslyAssignedTo)
	add("region", b.Region != a.Region)
	add("reserve_history", !slices.Equal(b.ReserveHistory, a.ReserveHistory))
	add("state", b.State != a.State)
	add("used_by", b.UsedBy != a.UsedBy)
	return changed
}

// changedPublic returns the public fields of a that differ from b's, and null for the
// fields b has and a lacks; nil when none changed.
func changedPublic(b, a map[string]json.RawMessage) map[string]json.RawMessage {
	var out map[string]json.RawMessage
	set := func(k string, v json.RawMessage) {
		if out == nil {
			out = map[string]json.RawMessage{}
		}
		out[k] = v
	}
	for k, v := range a {
		if old, ok := b[k]; !ok || !jsonEqual(old, v) {
			set(k, slices.Clone(v))
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			set(k, json.RawMessage("null"))
		}
	}
	return out
}

func rawMapsEqual(x, y map[string]json.RawMessage) bool {
	return maps.EqualFunc(x, y, func(a, b json.RawMessage) bool { return jsonEqual(a, b) })
}

// jsonEqual compares two JSON texts, ignoring insignificant white space (stores may
// re-encode raw values compactly).
func jsonEqual(x, y json.RawMessage) bool {
	if bytes.Equal(x, y) {
		return true
	}
	if len(x) == 0 || len(y) == 0 {
		return false // one is absent, the other not
	}
	var cx, cy bytes.Buffer
	if json.Compact(&cx, x) != nil || json.Compact(&cy, y) != nil {
		return false
	}
	return bytes.Equal(cx.Bytes(), cy.Bytes())
}

// EventCursor is a named consumer's place in the outbox ("kazoo_sync", "webhook:<id>"),
// kept in the store so the consumer survives restarts and, with its lease, is served by
// one instance at a time.
type EventCursor struct {
	Name       string
	LastID     int64     // the last event the consumer has handled
	Owner      string    // the instance holding the lease; "" when none ever did
	LeaseUntil time.Time // the lease's end; a lease in the past is free
	Updated    time.Time
}

// EventStore is the outbox: events in ID order, the cursors of its consumers and its
// retention.
type EventStore interface {
	// Events returns up to limit events (limit > 0) with ID > afterID, in ID order.
	Events(ctx context.Context, afterID int64, limit int) ([]*Event, error)
	// NumberEvents returns up to limit events (limit > 0) of one number with ID < beforeID
	// (beforeID <= 0: from the newest), newest first: a number's history, as far back as
	// retention keeps it.
	NumberEvents(ctx context.Context, number string, beforeID int64, limit int) ([]*Event, error)
	// LastEventID returns the ID of the newest event ever written, purged or not; 0 when
	// none was. Events IDs have no gaps, so LastEventID - cursor is the consumer's lag.
	LastEventID(ctx context.Context) (int64, error)
	// GetEventCursor returns a consumer's cursor, or ErrNotFound.
	GetEventCursor(ctx context.Context, name string) (*EventCursor, error)
	// EventCursors returns every registered consumer, ordered by name.
	EventCursors(ctx context.Context) ([]*EventCursor, error)
	// ClaimEventCursor registers the consumer at position start when it is new (start < 0:
	// the newest event), then gives owner its lease until now+ttl unless another owner
	// holds an unexpired one. It returns the cursor and whether owner now holds the lease.
	ClaimEventCursor(ctx context.Context, name, owner string, ttl time.Duration, start int64) (*EventCursor, bool, error)
	// AdvanceEventCursor moves the consumer to lastID if owner holds its lease (unexpired
	// or not, as long as nobody took it over); ErrConflict otherwise, ErrNotFound for an
	// unknown consumer, ErrInvalid for a move backwards.
	AdvanceEventCursor(ctx context.Context, name, owner string, lastID int64) error
	// DeleteEventCursor unregisters a consumer, so retention no longer waits for it.
	// ErrNotFound when it is unknown.
	DeleteEventCursor(ctx context.Context, name string) error
	// PurgeEvents deletes the events written before t that every registered consumer has
	// passed and no pending webhook delivery needs, and returns how many it deleted.
	PurgeEvents(ctx context.Context, before time.Time) (int, error)
}
