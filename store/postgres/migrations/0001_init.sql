-- The schema of store/sqlite/migrations/0001_init.sql in PostgreSQL's types;
-- each backend keeps its own DDL.
-- Numbers: the columns queries filter on, the rest in one JSON column (extra).
-- COLLATE "C" makes ORDER BY number and the prefix range byte-wise, as in SQLite, whatever
-- the database's locale.
CREATE TABLE numbers (
    number       text COLLATE "C" PRIMARY KEY,
    rev          bigint NOT NULL,
    state        text NOT NULL,
    assigned_to  text NOT NULL DEFAULT '',
    module_name  text NOT NULL DEFAULT '',
    carrier_data text,
    extra        text NOT NULL DEFAULT '{}',
    created      timestamptz NOT NULL,
    modified     timestamptz NOT NULL
);
-- Searches and listings select by state and read in number order, often inside a prefix
-- range; the module is filtered from the index entry itself. (Kazoo's numbers/status view
-- is (state, module, number), which cannot list one state in number order.)
CREATE INDEX numbers_state_number_module ON numbers (state, number, module_name);
-- Partial: most stock is unowned, and imports need not maintain entries for it.
CREATE INDEX numbers_assigned_to_number ON numbers (assigned_to, number) WHERE assigned_to <> '';

CREATE TABLE accounts (
    id                     text COLLATE "C" PRIMARY KEY,
    rev                    bigint NOT NULL,
    name                   text NOT NULL DEFAULT '',
    parent_id              text NOT NULL DEFAULT '',
    tree                   text[] NOT NULL DEFAULT '{}', -- root first
    reseller               boolean NOT NULL DEFAULT false,
    reseller_id            text NOT NULL DEFAULT '',
    superduper_admin       boolean NOT NULL DEFAULT false,
    allow_number_additions boolean NOT NULL DEFAULT false,
    enabled                boolean NOT NULL DEFAULT false,
    api_key_hash           text UNIQUE,
    created                timestamptz NOT NULL,
    modified               timestamptz NOT NULL
);
CREATE INDEX accounts_parent_id ON accounts (parent_id, id);
CREATE INDEX accounts_tree ON accounts USING gin (tree);

-- Bodies are text, not jsonb: jsonb reorders keys and key order matters here.
CREATE TABLE config_docs (
    scope    text COLLATE "C" NOT NULL,
    id       text COLLATE "C" NOT NULL,
    body     text NOT NULL,
    rev      bigint NOT NULL,
    modified timestamptz NOT NULL,
    PRIMARY KEY (scope, id)
);

CREATE TABLE search_cache (
    query_id     text NOT NULL,
    number       text COLLATE "C" NOT NULL,
    module       text NOT NULL DEFAULT '',
    state        text NOT NULL DEFAULT '',
    carrier_data text,
    expires_at   timestamptz NOT NULL,
    PRIMARY KEY (query_id, number)
);
CREATE INDEX search_cache_number ON search_cache (number, state);
CREATE INDEX search_cache_expires_at ON search_cache (expires_at);

CREATE TABLE journals (
    id      text COLLATE "C" PRIMARY KEY,
    carrier text NOT NULL DEFAULT '',
    state   text NOT NULL DEFAULT '',
    payload text,
    rev     bigint NOT NULL,
    created timestamptz NOT NULL,
    updated timestamptz NOT NULL
);
CREATE INDEX journals_carrier_created ON journals (carrier, created, id);
CREATE INDEX journals_created ON journals (created, id);

CREATE TABLE idempotency_keys (
    key     text PRIMARY KEY,
    ref     text NOT NULL,
    created timestamptz NOT NULL
);
