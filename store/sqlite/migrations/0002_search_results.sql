-- The schema of store/postgres/migrations/0002_search_results.sql in SQLite's types;
-- each backend keeps its own DDL.
-- One row per search, holding its results as a JSON array ordered by number: a search is
-- then one insert whatever its size (see sqlcommon.EncodeSearch). search_cache keeps only
-- the discovery rows, which activation looks up by number.
CREATE TABLE search_results (
    query_id   TEXT PRIMARY KEY,
    results    TEXT NOT NULL,
    expires_at INTEGER NOT NULL -- Unix milliseconds
);
CREATE INDEX search_results_expires_at ON search_results (expires_at);
DELETE FROM search_cache;
