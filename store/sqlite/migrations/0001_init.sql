-- The schema of store/postgres/migrations/0001_init.sql in SQLite's types;
-- each backend keeps its own DDL.
-- Numbers: the columns queries filter on, the rest in one JSON column (extra). A rowid
-- table, not WITHOUT ROWID: new rows are appended instead of being spread over pages
-- clustered by number, which more than halves the pages a bulk import rewrites.
CREATE TABLE numbers (
    number       TEXT PRIMARY KEY,
    rev          INTEGER NOT NULL,
    state        TEXT NOT NULL,
    assigned_to  TEXT NOT NULL DEFAULT '',
    module_name  TEXT NOT NULL DEFAULT '',
    carrier_data TEXT,
    extra        TEXT NOT NULL DEFAULT '{}',
    created      INTEGER NOT NULL,
    modified     INTEGER NOT NULL
);
-- Searches and listings select by state and read in number order, often inside a prefix
-- range; the module is filtered from the index entry itself. (Kazoo's numbers/status view
-- is (state, module, number), which cannot list one state in number order.)
CREATE INDEX numbers_state_number_module ON numbers (state, number, module_name);
-- Partial: most stock is unowned, and imports need not maintain entries for it.
CREATE INDEX numbers_assigned_to_number ON numbers (assigned_to, number) WHERE assigned_to <> '';

CREATE TABLE accounts (
    id                     TEXT PRIMARY KEY,
    rev                    INTEGER NOT NULL,
    name                   TEXT NOT NULL DEFAULT '',
    parent_id              TEXT NOT NULL DEFAULT '',
    tree                   TEXT NOT NULL DEFAULT '[]', -- JSON array, root first
    reseller               INTEGER NOT NULL DEFAULT 0,
    reseller_id            TEXT NOT NULL DEFAULT '',
    superduper_admin       INTEGER NOT NULL DEFAULT 0,
    allow_number_additions INTEGER NOT NULL DEFAULT 0,
    enabled                INTEGER NOT NULL DEFAULT 0,
    api_key_hash           TEXT,
    created                INTEGER NOT NULL,
    modified               INTEGER NOT NULL
);
CREATE INDEX accounts_parent_id ON accounts (parent_id, id);
CREATE UNIQUE INDEX accounts_api_key_hash ON accounts (api_key_hash) WHERE api_key_hash IS NOT NULL;

-- Bodies are TEXT so that key order is kept byte for byte.
CREATE TABLE config_docs (
    scope    TEXT NOT NULL,
    id       TEXT NOT NULL,
    body     TEXT NOT NULL,
    rev      INTEGER NOT NULL,
    modified INTEGER NOT NULL,
    PRIMARY KEY (scope, id)
) WITHOUT ROWID;

CREATE TABLE search_cache (
    query_id     TEXT NOT NULL,
    number       TEXT NOT NULL,
    module       TEXT NOT NULL DEFAULT '',
    state        TEXT NOT NULL DEFAULT '',
    carrier_data TEXT,
    expires_at   INTEGER NOT NULL, -- Unix milliseconds
    PRIMARY KEY (query_id, number)
) WITHOUT ROWID;
CREATE INDEX search_cache_number ON search_cache (number, state);
CREATE INDEX search_cache_expires_at ON search_cache (expires_at);

CREATE TABLE journals (
    id      TEXT PRIMARY KEY,
    carrier TEXT NOT NULL DEFAULT '',
    state   TEXT NOT NULL DEFAULT '',
    payload TEXT,
    rev     INTEGER NOT NULL,
    created INTEGER NOT NULL,
    updated INTEGER NOT NULL
);
CREATE INDEX journals_carrier_created ON journals (carrier, created, id);
CREATE INDEX journals_created ON journals (created, id);

CREATE TABLE idempotency_keys (
    key     TEXT PRIMARY KEY,
    ref     TEXT NOT NULL,
    created INTEGER NOT NULL
);
