// The statements here have twins in store/sqlite/webhooks.go in the other dialect, kept apart on purpose so each
// backend reads as plain SQL of its own; storetest holds both to one behaviour.

package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/knmproject/knm"
	"github.com/knmproject/knm/store/internal/sqlcommon"
)

func scanWebhook(row sqlcommon.Scanner) (*knm.Webhook, error) {
	return sqlcommon.ScanWebhook(row, utcOrZero)
}

// CreateWebhook stores a new hook and registers its cursor at the newest event.
func (s *Store) CreateWebhook(ctx context.Context, h *knm.Webhook) error {
	now := s.now()
	if err := sqlcommon.PrepareWebhook(h, now); err != nil {
		return err
	}
	return s.withTx(ctx, "create webhook "+h.ID, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO webhooks (id, rev, account_id, name, uri, http_verb, hook,
			include_subaccounts, custom_data, enabled, max_concurrency, secret, created, modified)
			VALUES ($1, 1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
			h.ID, h.AccountID, h.Name, h.URI, h.HTTPVerb, h.Hook, h.IncludeSubaccounts, sqlcommon.EncodeCustomData(h),
			h.Enabled, h.MaxConcurrency, h.Secret, h.Created, h.Modified)
		if isUniqueViolation(err) {
			return knm.Errorf(knm.ErrConflict, "webhook %s already exists", h.ID)
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO event_cursors (name, last_id, updated)
			SELECT $1, last_id, $2 FROM number_event_counter
			ON CONFLICT (name) DO UPDATE SET last_id = excluded.last_id, owner = '', lease_until = 'epoch'`,
			knm.WebhookConsumer(h.ID), sqlcommon.Milli(now)); err != nil {
			return err
		}
		h.Rev = 1
		return nil
	})
}

// GetWebhook returns the hook, or ErrNotFound.
func (s *Store) GetWebhook(ctx context.Context, id string) (*knm.Webhook, error) {
	return queryOne(ctx, s, "get webhook "+id, sqlcommon.WebhookNotFound(id), scanWebhook,
		`SELECT `+sqlcommon.WebhookColumns+` FROM webhooks w WHERE w.id = $1`, id)
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
	return s.withTx(ctx, "update webhook "+h.ID, func(tx pgx.Tx) error {
		var (
			rev     int64
			enabled bool
		)
		err := tx.QueryRow(ctx, `SELECT rev, enabled FROM webhooks WHERE id = $1 FOR UPDATE`, h.ID).Scan(&rev, &enabled)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return sqlcommon.WebhookNotFound(h.ID)
		case err != nil:
			return err
		case rev != h.Rev:
			return knm.Conflict("webhook " + h.ID)
		}
		reenable := h.Enabled && !enabled
		if _, err := tx.Exec(ctx, `UPDATE webhooks SET rev = rev + 1, name = $1, uri = $2, http_verb = $3, hook = $4,
			include_subaccounts = $5, custom_data = $6, enabled = $7, max_concurrency = $8, modified = $9,
			disable_reason = CASE WHEN $10 THEN '' ELSE disable_reason END,
			consecutive_failures = CASE WHEN $10 THEN 0 ELSE consecutive_failures END
			WHERE id = $11`, h.Name, h.URI, h.HTTPVerb, h.Hook, h.IncludeSubaccounts, sqlcommon.EncodeCustomData(h),
			h.Enabled, h.MaxConcurrency, now, reenable, h.ID); err != nil {
			return err
		}
		if reenable {
			if _, err := tx.Exec(ctx, `UPDATE webhook_deliveries SET next_attempt = $1 WHERE hook_id = $2`,
				now, h.ID); err != nil {
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
	return s.withTx(ctx, "delete webhook "+id, func(tx pgx.Tx) error {
		err := execOne(ctx, tx, func() error { return sqlcommon.WebhookNotFound(id) },
			`DELETE FROM webhooks WHERE id = $1`, id)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM event_cursors WHERE name = $1`, knm.WebhookConsumer(id))
		return err
	})
}

// QueueWebhookDeliveries moves the hook's cursor from `from` to `to` and queues the events.
// The cursor moves by compare-and-swap: of two instances queueing the same events, the
// second matches no row and rolls back.
func (s *Store) QueueWebhookDeliveries(ctx context.Context, hookID string, from, to int64, events []*knm.Event) error {
	if err := sqlcommon.CheckQueue(hookID, from, to, events); err != nil {
		return err
	}
	return s.withTx(ctx, "queue webhook deliveries "+hookID, func(tx pgx.Tx) error {
		now := sqlcommon.Milli(s.now())
		gone := func() error {
			return missed(ctx, tx, `SELECT EXISTS (SELECT 1 FROM webhooks WHERE id = $1)`, []any{hookID},
				sqlcommon.WebhookNotFound(hookID), "event cursor of webhook "+hookID)
		}
		err := execOne(ctx, tx, gone,
			`UPDATE event_cursors SET last_id = $1, updated = $2 WHERE name = $3 AND last_id = $4`,
			to, now, knm.WebhookConsumer(hookID), from)
		if err != nil {
			return err
		}
		if len(events) == 0 {
			return nil
		}
		ids := make([]int64, len(events))
		nums := make([]string, len(events))
		for i, e := range events {
			ids[i], nums[i] = e.ID, e.Number
		}
		_, err = tx.Exec(ctx, `INSERT INTO webhook_deliveries (hook_id, event_id, number, next_attempt)
			SELECT $1, u.id, u.number, $2 FROM unnest($3::bigint[], $4::text[]) AS u (id, number)
			ON CONFLICT DO NOTHING`, hookID, now, ids, nums)
		return err
	})
}

// ClaimWebhookDeliveries leases the due heads of the hook's queues to owner, within the
// hook's concurrency. The hook's row is claimed FOR NO KEY UPDATE SKIP LOCKED: an
// instance finding another one claiming for the same hook takes nothing this time, so two
// instances never lease the same delivery nor, between them, exceed the concurrency.
func (s *Store) ClaimWebhookDeliveries(ctx context.Context, hookID, owner string,
	lease time.Duration) ([]*knm.WebhookDelivery, error) {
	var out []*knm.WebhookDelivery
	err := s.withTx(ctx, "claim webhook deliveries "+hookID, func(tx pgx.Tx) error {
		now := sqlcommon.Milli(s.now())
		var (
			limit   int
			enabled bool
		)
		err := tx.QueryRow(ctx, `SELECT max_concurrency, enabled FROM webhooks WHERE id = $1
			FOR NO KEY UPDATE SKIP LOCKED`, hookID).Scan(&limit, &enabled)
		if errors.Is(err, pgx.ErrNoRows) || (err == nil && !enabled) {
			return nil
		}
		if err != nil {
			return err
		}
		var busy int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM webhook_deliveries WHERE hook_id = $1 AND lease_until > $2`,
			hookID, now).Scan(&busy); err != nil {
			return err
		}
		if limit-busy <= 0 {
			return nil
		}
		rows, err := tx.Query(ctx, `UPDATE webhook_deliveries SET owner = $1, lease_until = $2
			WHERE hook_id = $3 AND event_id IN (`+sqlcommon.DueHeads(placeholder, 4)+`)
			RETURNING event_id, attempts`, owner, now.Add(lease), hookID, hookID, now, now, limit-busy)
		if err != nil {
			return err
		}
		claimed, err := sqlcommon.CollectClaims(rows, hookID)
		rows.Close()
		if err != nil || len(claimed) == 0 {
			return err
		}
		q, args := sqlcommon.ClaimedEventsQuery(claimed, placeholder)
		evRows, err := tx.Query(ctx, q, args...)
		if err != nil {
			return err
		}
		defer evRows.Close()
		events, err := sqlcommon.Collect(evRows, scanEvent)
		out = sqlcommon.AttachEvents(claimed, events)
		return err
	})
	return out, err
}

// CompleteWebhookDelivery removes an acknowledged delivery and clears the hook's failures.
func (s *Store) CompleteWebhookDelivery(ctx context.Context, hookID string, eventID int64) error {
	return s.withTx(ctx, "complete webhook delivery "+hookID, func(tx pgx.Tx) error {
		now := sqlcommon.Milli(s.now())
		if _, err := tx.Exec(ctx, `DELETE FROM webhook_deliveries WHERE hook_id = $1 AND event_id = $2`,
			hookID, eventID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE webhooks SET consecutive_failures = 0, last_attempt = $1, last_success = $1
			WHERE id = $2`, now, hookID)
		return err
	})
}

// FailWebhookDelivery records a failed attempt and disables the hook after too many.
func (s *Store) FailWebhookDelivery(ctx context.Context, hookID string, eventID int64, owner string,
	f knm.WebhookFailure) (bool, error) {
	disabled := false
	err := s.withTx(ctx, "fail webhook delivery "+hookID, func(tx pgx.Tx) error {
		now := sqlcommon.Milli(s.now())
		tag, err := tx.Exec(ctx, `UPDATE webhook_deliveries SET attempts = attempts + 1, next_attempt = $1,
			lease_until = 'epoch' WHERE hook_id = $2 AND event_id = $3 AND owner = $4`,
			now.Add(f.RetryIn), hookID, eventID, owner)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		var (
			failures int
			enabled  bool
		)
		if err := tx.QueryRow(ctx, `UPDATE webhooks SET consecutive_failures = consecutive_failures + 1,
			last_error = $1, last_attempt = $2 WHERE id = $3 RETURNING consecutive_failures, enabled`,
			f.Reason, now, hookID).Scan(&failures, &enabled); err != nil {
			return err
		}
		if !enabled || f.DisableAfter <= 0 || failures < f.DisableAfter {
			return nil
		}
		disabled = true
		_, err = tx.Exec(ctx, `UPDATE webhooks SET enabled = false, rev = rev + 1, modified = $1, disable_reason = $2
			WHERE id = $3`, sqlcommon.Sec(now), sqlcommon.DisableReason(failures, f.Reason), hookID)
		return err
	})
	return disabled, err
}
