-- The outbox: one row per committed change of a number, written in the change's own
-- transaction. AUTOINCREMENT, so an id is never handed out twice even after the newest
-- events are purged: a consumer's cursor must never see an id again.
CREATE TABLE number_events (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    type           TEXT NOT NULL,
    number         TEXT NOT NULL,
    account_before TEXT NOT NULL DEFAULT '',
    account_after  TEXT NOT NULL DEFAULT '',
    state_before   TEXT NOT NULL DEFAULT '',
    state_after    TEXT NOT NULL DEFAULT '',
    module_name    TEXT NOT NULL DEFAULT '',
    rev            INTEGER NOT NULL,
    detail         TEXT NOT NULL DEFAULT '{}', -- {"changed": [...], "public": {...}}
    created        INTEGER NOT NULL            -- Unix milliseconds
);
-- No index on created: events are written in time order, so retention finds the first
-- event to keep by walking ids, and each event is one row to write, not two.

-- The named consumers of the outbox and their leases.
CREATE TABLE event_cursors (
    name        TEXT PRIMARY KEY,
    last_id     INTEGER NOT NULL,
    owner       TEXT NOT NULL DEFAULT '',
    lease_until INTEGER NOT NULL DEFAULT 0, -- Unix milliseconds
    updated     INTEGER NOT NULL            -- Unix milliseconds
) WITHOUT ROWID;

CREATE TABLE webhooks (
    id                   TEXT PRIMARY KEY,
    rev                  INTEGER NOT NULL,
    account_id           TEXT NOT NULL,
    name                 TEXT NOT NULL DEFAULT '',
    uri                  TEXT NOT NULL,
    http_verb            TEXT NOT NULL,
    hook                 TEXT NOT NULL,
    include_subaccounts  INTEGER NOT NULL DEFAULT 0,
    custom_data          TEXT NOT NULL DEFAULT '{}',
    enabled              INTEGER NOT NULL,
    max_concurrency      INTEGER NOT NULL,
    secret               TEXT NOT NULL,
    disable_reason       TEXT NOT NULL DEFAULT '',
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    last_error           TEXT NOT NULL DEFAULT '',
    last_attempt         INTEGER NOT NULL DEFAULT 0, -- Unix milliseconds
    last_success         INTEGER NOT NULL DEFAULT 0, -- Unix milliseconds
    created              INTEGER NOT NULL,
    modified             INTEGER NOT NULL
);
CREATE INDEX webhooks_account_id ON webhooks (account_id, id);

-- Deliveries queued and not yet acknowledged, one per (hook, event).
CREATE TABLE webhook_deliveries (
    hook_id      TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id     INTEGER NOT NULL,
    number       TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_attempt INTEGER NOT NULL,            -- Unix milliseconds
    owner        TEXT NOT NULL DEFAULT '',
    lease_until  INTEGER NOT NULL DEFAULT 0,  -- Unix milliseconds
    PRIMARY KEY (hook_id, event_id)
) WITHOUT ROWID;
-- The head of each number's queue: the oldest delivery of a (hook, number).
CREATE INDEX webhook_deliveries_number ON webhook_deliveries (hook_id, number, event_id);
-- A claim counts the hook's unexpired leases against its concurrency.
CREATE INDEX webhook_deliveries_lease ON webhook_deliveries (hook_id, lease_until);
-- Retention keeps the events that pending deliveries still need.
CREATE INDEX webhook_deliveries_event_id ON webhook_deliveries (event_id);
