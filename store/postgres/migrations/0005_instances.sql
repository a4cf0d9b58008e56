-- The running knm processes and their leases. An instance owns the journal entries it
-- works on; another takes them over only once the owner's lease has expired.
CREATE TABLE instances (
    id        text COLLATE "C" PRIMARY KEY,
    host      text NOT NULL DEFAULT '',
    pid       integer NOT NULL DEFAULT 0,
    started   timestamptz NOT NULL,
    heartbeat timestamptz NOT NULL,
    expires   timestamptz NOT NULL
);

-- The owner of each journal entry ('' for none) and its fence, which grows at each takeover.
ALTER TABLE journals ADD COLUMN owner text NOT NULL DEFAULT '';
ALTER TABLE journals ADD COLUMN fence bigint NOT NULL DEFAULT 0;

-- Recovery looks for unfinished entries every few seconds: by state, not by reading them all.
CREATE INDEX journals_carrier_state ON journals (carrier, state, created, id);
