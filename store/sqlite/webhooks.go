// The statements here have twins in store/postgres/webhooks.go in the other dialect, kept apart on purpose so each
// backend reads as plain SQL of its own; storetest holds both to one behaviour.

package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/store/internal/sqlcommon"
)

// SQLite serves one knm instance: its single write connection already serialises the
// claims that PostgreSQL makes with row locks.

func scanWebhook(row sqlcommon.Scanner) (*knm.Webhook, error) {
	return sqlcommon.ScanWebhook(row, fromUnixMilli)
}

// CreateWebhook stores a new hook and registers its cursor at the newest event.
func (s *Store) CreateWebhook(ctx context.Context, h *knm.Webhook) error {
	now := s.now()
	if err := sqlcommon.PrepareWebhook(h, now); err != nil {
		return err
	}
	return s.write(ctx, "create webhook "+h.ID, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO webhooks (id, rev, account_id, name, uri, http_verb, hook,
			include_subaccounts, custom_data, enabled, max_concurrency, secret, created, modified)
			VALUES (?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			h.ID, h.AccountID, h.Name, h.URI, h.HTTPVerb, h.Hook, h.IncludeSubaccounts, sqlcommon.EncodeCustomData(h),
			h.Enabled, h.MaxConcurrency, h.Secret, unixMilli(h.Created), unixMilli(h.Modified))
		if isUniqueViolation(err) {
			return knm.Errorf(knm.ErrConflict, "webhook %s already exists", h.ID)
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO event_cursors (name, last_id, updated)
			VALUES (?, (`+lastEventIDQuery+`), ?)
			ON CONFLICT (name) DO UPDATE SET last_id = excluded.last_id, owner = '', lease_until = 0`,
			knm.WebhookConsumer(h.ID), unixMilli(now)); err != nil {
			return err
		}
		h.Rev = 1
		return nil
	})
}

// GetWebhook returns the hook, or ErrNotFound.
func (s *Store) GetWebhook(ctx context.Context, id string) (*knm.Webhook, error) {
	return queryOne(ctx, s, "get webhook "+id, sqlcommon.WebhookNotFound(id), scanWebhook,
		`SELECT `+sqlcommon.WebhookColumns+` FROM webhooks w WHERE w.id = ?`, id)
}

// FindWebhooks returns the hooks matching f, ordered by id.
func (s *Store) FindWebhooks(ctx context.Context, f knm.WebhookFilter) ([]*knm.Webhook, error) {
	q, args := sqlcommon.FindWebhooksQuery(f, placeholder)
	return queryAll(ctx, s, "find webhooks", q, args, scanWebhook)
}

// UpdateWebhook replaces the hook's settings at revision h.Rev.
func (s *Store) UpdateWebhook(ctx context.Context, h *knm.Webhook) error {
	if err := sqlcommon.CheckWebhook(h); err != nil {
		return err
	}
	now := sqlcommon.Sec(s.now())
	return s.write(ctx, "update webhook "+h.ID, func(tx *sql.Tx) error {
		var (
			rev     int64
			enabled bool
		)
		err := tx.QueryRowContext(ctx, `SELECT rev, enabled FROM webhooks WHERE id = ?`, h.ID).Scan(&rev, &enabled)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return sqlcommon.WebhookNotFound(h.ID)
		case err != nil:
			return err
		case rev != h.Rev:
			return knm.Conflict("webhook " + h.ID)
		}
		reenable := h.Enabled && !enabled
		if _, err := tx.ExecContext(ctx, `UPDATE webhooks SET rev = rev + 1, name = ?, uri = ?, http_verb = ?, hook = ?,
			include_subaccounts = ?, custom_data = ?, enabled = ?, max_concurrency = ?, modified = ?,
			disable_reason = CASE WHEN ? THEN '' ELSE disable_reason END,
			consecutive_failures = CASE WHEN ? THEN 0 ELSE consecutive_failures END
			WHERE id = ?`, h.Name, h.URI, h.HTTPVerb, h.Hook, h.IncludeSubaccounts, sqlcommon.EncodeCustomData(h),
			h.Enabled, h.MaxConcurrency, unixMilli(now), reenable, reenable, h.ID); err != nil {
			return err
		}
		if reenable {
			if _, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET next_attempt = ? WHERE hook_id = ?`,
				unixMilli(now), h.ID); err != nil {
				return err
			}
			h.DisableReason, h.ConsecutiveFailures = "", 0
		}
		h.Rev, h.Modified = rev+1, now
		return nil
	})
}

// DeleteWebhook removes the hook, its pending deliveries and its cursor.
func (s *Store) DeleteWebhook(ctx context.Context, id string) error {
	return s.write(ctx, "delete webhook "+id, func(tx *sql.Tx) error {
		err := execOne(ctx, tx, func() error { return sqlcommon.WebhookNotFound(id) },
			`DELETE FROM webhooks WHERE id = ?`, id)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM event_cursors WHERE name = ?`, knm.WebhookConsumer(id))
		return err
	})
}

// QueueWebhookDeliveries moves the hook's cursor from `from` to `to` and queues the events.
func (s *Store) QueueWebhookDeliveries(ctx context.Context, hookID string, from, to int64, events []*knm.Event) error {
	if err := sqlcommon.CheckQueue(hookID, from, to, events); err != nil {
		return err
	}
	return s.write(ctx, "queue webhook deliveries "+hookID, func(tx *sql.Tx) error {
		now := unixMilli(s.now())
		gone := func() error {
			return s.missed(ctx, tx, "webhooks", "id = ?", []any{hookID}, sqlcommon.WebhookNotFound(hookID),
				"event cursor of webhook "+hookID)
		}
		err := execOne(ctx, tx, gone,
			`UPDATE event_cursors SET last_id = ?, updated = ? WHERE name = ? AND last_id = ?`,
			to, now, knm.WebhookConsumer(hookID), from)
		if err != nil {
			return err
		}
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO webhook_deliveries (hook_id, event_id, number, next_attempt)
			VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, e := range events {
			if _, err := stmt.ExecContext(ctx, hookID, e.ID, e.Number, now); err != nil {
				return err
			}
		}
		return nil
	})
}

// ClaimWebhookDeliveries leases the due heads of the hook's queues to owner, within the
// hook's concurrency.
func (s *Store) ClaimWebhookDeliveries(ctx context.Context, hookID, owner string,
	lease time.Duration) ([]*knm.WebhookDelivery, error) {
	var out []*knm.WebhookDelivery
	err := s.write(ctx, "claim webhook deliveries "+hookID, func(tx *sql.Tx) error {
		now := unixMilli(s.now())
		var free int
		err := tx.QueryRowContext(ctx, `SELECT w.max_concurrency - (SELECT count(*) FROM webhook_deliveries d
			WHERE d.hook_id = w.id AND d.lease_until > ?) FROM webhooks w WHERE w.id = ? AND w.enabled`,
			now, hookID).Scan(&free)
		if errors.Is(err, sql.ErrNoRows) || free <= 0 {
			return nil
		}
		if err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `UPDATE webhook_deliveries SET owner = ?, lease_until = ?
			WHERE hook_id = ? AND event_id IN (`+sqlcommon.DueHeads(placeholder, 4)+`)
			RETURNING event_id, attempts`, owner, now+lease.Milliseconds(), hookID, hookID, now, now, free)
		if err != nil {
			return err
		}
		claimed, err := sqlcommon.CollectClaims(rows, hookID)
		rows.Close()
		if err != nil || len(claimed) == 0 {
			return err
		}
		out, err = s.attachEvents(ctx, tx, claimed)
		return err
	})
	return out, err
}

// attachEvents reads the events of claimed deliveries, in event order.
func (s *Store) attachEvents(ctx context.Context, tx *sql.Tx,
	ds []*knm.WebhookDelivery) ([]*knm.WebhookDelivery, error) {
	q, args := sqlcommon.ClaimedEventsQuery(ds, placeholder)
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	events, err := sqlcommon.Collect(rows, scanEvent)
	if err != nil {
		return nil, err
	}
	return sqlcommon.AttachEvents(ds, events), nil
}

// CompleteWebhookDelivery removes an acknowledged delivery and clears the hook's failures.
func (s *Store) CompleteWebhookDelivery(ctx context.Context, hookID string, eventID int64) error {
	return s.write(ctx, "complete webhook delivery "+hookID, func(tx *sql.Tx) error {
		now := unixMilli(s.now())
		if _, err := tx.ExecContext(ctx, `DELETE FROM webhook_deliveries WHERE hook_id = ? AND event_id = ?`,
			hookID, eventID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE webhooks SET consecutive_failures = 0, last_attempt = ?, last_success = ?
			WHERE id = ?`, now, now, hookID)
		return err
	})
}

// FailWebhookDelivery records a failed attempt and disables the hook after too many.
func (s *Store) FailWebhookDelivery(ctx context.Context, hookID string, eventID int64, owner string,
	f knm.WebhookFailure) (bool, error) {
	disabled := false
	err := s.write(ctx, "fail webhook delivery "+hookID, func(tx *sql.Tx) error {
		now := s.now()
		res, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET attempts = attempts + 1, next_attempt = ?,
			lease_until = 0 WHERE hook_id = ? AND event_id = ? AND owner = ?`,
			unixMilli(now.Add(f.RetryIn)), hookID, eventID, owner)
		if err != nil {
			return err
		}
		if k, err := res.RowsAffected(); err != nil || k == 0 {
			return err
		}
		var failures int
		var enabled bool
		if err := tx.QueryRowContext(ctx, `UPDATE webhooks SET consecutive_failures = consecutive_failures + 1,
			last_error = ?, last_attempt = ? WHERE id = ? RETURNING consecutive_failures, enabled`,
			f.Reason, unixMilli(now), hookID).Scan(&failures, &enabled); err != nil {
			return err
		}
		if !enabled || f.DisableAfter <= 0 || failures < f.DisableAfter {
			return nil
		}
		disabled = true
		_, err = tx.ExecContext(ctx, `UPDATE webhooks SET enabled = 0, rev = rev + 1, modified = ?, disable_reason = ?
			WHERE id = ?`, unixMilli(now), sqlcommon.DisableReason(failures, f.Reason), hookID)
		return err
	})
	return disabled, err
}
