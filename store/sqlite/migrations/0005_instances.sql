-- The running knm processes and their leases. An instance owns the journal entries it
-- works on; another takes them over only once the owner's lease has expired.
CREATE TABLE instances (
    id        TEXT PRIMARY KEY,
    host      TEXT NOT NULL DEFAULT '',
    pid       INTEGER NOT NULL DEFAULT 0,
    started   INTEGER NOT NULL, -- Unix milliseconds
    heartbeat INTEGER NOT NULL, -- Unix milliseconds
    expires   INTEGER NOT NULL  -- Unix milliseconds
) WITHOUT ROWID;

-- The owner of each journal entry ('' for none) and its fence, which grows at each takeover.
ALTER TABLE journals ADD COLUMN owner TEXT NOT NULL DEFAULT '';
ALTER TABLE journals ADD COLUMN fence INTEGER NOT NULL DEFAULT 0;

-- Recovery looks for unfinished entries every few seconds: by state, not by reading them all.
CREATE INDEX journals_carrier_state ON journals (carrier, state, created, id);
