-- The outbox: one row per committed change of a number, written in the change's own
-- transaction. Ids come from number_event_counter, not a sequence: the counter row is
-- locked from the event's insert to the commit, so ids are handed out in commit order and
-- a reader that has seen event N never later finds a new event below N. (A sequence hands
-- ids out at insert time; a transaction that commits later with a smaller id would be
-- skipped by every cursor already past it.) A rollback gives the id back, so ids have
-- no gaps.
CREATE TABLE number_event_counter (
    last_id bigint NOT NULL
);
INSERT INTO number_event_counter (last_id) VALUES (0);

CREATE TABLE number_events (
    id             bigint PRIMARY KEY,
    type           text NOT NULL,
    number         text COLLATE "C" NOT NULL,
    account_before text NOT NULL DEFAULT '',
    account_after  text NOT NULL DEFAULT '',
    state_before   text NOT NULL DEFAULT '',
    state_after    text NOT NULL DEFAULT '',
    module_name    text NOT NULL DEFAULT '',
    rev            bigint NOT NULL,
    detail         text NOT NULL DEFAULT '{}', -- {"changed": [...], "public": {...}}
    created        timestamptz NOT NULL
);
-- No index on created: events are written in time order, so retention finds the first
-- event to keep by walking ids, and each event is one row to write, not two.

-- The named consumers of the outbox and their leases.
CREATE TABLE event_cursors (
    name        text COLLATE "C" PRIMARY KEY,
    last_id     bigint NOT NULL,
    owner       text NOT NULL DEFAULT '',
    lease_until timestamptz NOT NULL DEFAULT 'epoch',
    updated     timestamptz NOT NULL
);

CREATE TABLE webhooks (
    id                   text COLLATE "C" PRIMARY KEY,
    rev                  bigint NOT NULL,
    account_id           text COLLATE "C" NOT NULL,
    name                 text NOT NULL DEFAULT '',
    uri                  text NOT NULL,
    http_verb            text NOT NULL,
    hook                 text NOT NULL,
    include_subaccounts  boolean NOT NULL DEFAULT false,
    custom_data          text NOT NULL DEFAULT '{}',
    enabled              boolean NOT NULL,
    max_concurrency      integer NOT NULL,
    secret               text NOT NULL,
    disable_reason       text NOT NULL DEFAULT '',
    consecutive_failures integer NOT NULL DEFAULT 0,
    last_error           text NOT NULL DEFAULT '',
    last_attempt         timestamptz NOT NULL DEFAULT 'epoch',
    last_success         timestamptz NOT NULL DEFAULT 'epoch',
    created              timestamptz NOT NULL,
    modified             timestamptz NOT NULL
);
CREATE INDEX webhooks_account_id ON webhooks (account_id, id);

-- Deliveries queued and not yet acknowledged, one per (hook, event).
CREATE TABLE webhook_deliveries (
    hook_id      text COLLATE "C" NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id     bigint NOT NULL,
    number       text COLLATE "C" NOT NULL,
    attempts     integer NOT NULL DEFAULT 0,
    next_attempt timestamptz NOT NULL,
    owner        text NOT NULL DEFAULT '',
    lease_until  timestamptz NOT NULL DEFAULT 'epoch',
    PRIMARY KEY (hook_id, event_id)
);
-- The head of each number's queue: the oldest delivery of a (hook, number).
CREATE INDEX webhook_deliveries_number ON webhook_deliveries (hook_id, number, event_id);
-- A claim counts the hook's unexpired leases against its concurrency.
CREATE INDEX webhook_deliveries_lease ON webhook_deliveries (hook_id, lease_until);
-- Retention keeps the events that pending deliveries still need.
CREATE INDEX webhook_deliveries_event_id ON webhook_deliveries (event_id);
