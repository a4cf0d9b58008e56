package manager

import (
	"context"

	"github.com/knmproject/knm"
)

// EventFilter returns whether auth may see an event: the system account and superduper
// admins see every event; any other account sees the events of numbers assigned, before
// or after the change, to itself or one of its descendants (Kazoo's
// is_in_account_hierarchy, the rule that lets it read those numbers). The filter keeps the
// accounts it loads, so make one per batch or per poll, not one for ever.
func (m *Manager) EventFilter(ctx context.Context, auth string) func(*knm.Event) (bool, error) {
	az := m.authz(ctx, auth)
	return func(e *knm.Event) (bool, error) {
		if auth == "" {
			return false, nil
		}
		if admin, err := az.isAdmin(auth); err != nil || admin {
			return admin, err
		}
		for _, owner := range []string{e.AccountBefore, e.AccountAfter} {
			if ok, err := az.inHierarchy(auth, owner); err != nil || ok {
				return ok, err
			}
		}
		return false, nil
	}
}

// maxEventScan bounds how many events one Events call reads looking for ones the caller
// may see, so a caller who sees few events gets a prompt, possibly empty, page.
const maxEventScan = 5000

// Events returns up to limit events auth may see (EventFilter) with ID > after, in ID
// order. next is where the caller continues: the last event read, seen or not, so a run
// of events the caller may not see is skipped once, not read again on every call.
func (m *Manager) Events(ctx context.Context, auth string, after int64, limit int) (
	events []*knm.Event, next int64, err error) {
	if limit <= 0 {
		return nil, after, knm.Errorf(knm.ErrInvalid, "limit must be at least 1").WithCause("limit")
	}
	visible := m.EventFilter(ctx, auth)
	next = after
	batch := max(limit, 200)
	for scanned := 0; scanned < maxEventScan && len(events) < limit; {
		page, err := m.store.Events(ctx, next, batch)
		if err != nil {
			return nil, after, err
		}
		for _, e := range page {
			ok, err := visible(e)
			if err != nil {
				return nil, after, err
			}
			if ok {
				events = append(events, e)
			}
			next = e.ID
			if len(events) == limit {
				return events, next, nil
			}
		}
		if len(page) < batch {
			break
		}
		scanned += len(page)
	}
	return events, next, nil
}

// NumberEvents returns up to limit events of number that auth may see (EventFilter), newest
// first, older than event before (before <= 0: from the newest). The caller must be able to
// read the number (Get's rule and errors). older is where the next, older page starts, 0
// when there is none.
func (m *Manager) NumberEvents(ctx context.Context, auth, number string, before int64, limit int) (
	events []*knm.Event, older int64, err error) {
	if limit <= 0 {
		return nil, 0, knm.Errorf(knm.ErrInvalid, "limit must be at least 1").WithCause("limit")
	}
	n, err := m.Get(ctx, auth, number)
	if err != nil {
		return nil, 0, err
	}
	visible := m.EventFilter(ctx, auth)
	for scanned := 0; scanned < maxEventScan; {
		page, err := m.store.NumberEvents(ctx, n.Number, before, limit+1)
		if err != nil {
			return nil, 0, err
		}
		for _, e := range page {
			ok, err := visible(e)
			if err != nil {
				return nil, 0, err
			}
			if ok && len(events) == limit {
				return events, before, nil // e is the first of the next page
			}
			if ok {
				events = append(events, e)
			}
			before = e.ID
		}
		if len(page) <= limit {
			return events, 0, nil
		}
		scanned += len(page)
	}
	return events, before, nil
}
