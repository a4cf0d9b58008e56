-- The schema of store/sqlite/migrations/0002_search_results.sql in PostgreSQL's types;
-- each backend keeps its own DDL.
-- One row per search, holding its results as a JSON array ordered by number: a search is
-- then one insert whatever its size (see sqlcommon.EncodeSearch). search_cache keeps only
-- the discovery rows, which activation looks up by number. Both are UNLOGGED: a search
-- cache needs no crash safety (PostgreSQL empties such tables after a crash, and a lost
-- search is simply run again), and skipping the WAL keeps a search's write off the
-- commit flush.
CREATE UNLOGGED TABLE search_results (
    query_id   text PRIMARY KEY,
    results    text NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX search_results_expires_at ON search_results (expires_at);
DELETE FROM search_cache;
ALTER TABLE search_cache SET UNLOGGED;
