-- Sidecar index of one run directory (runtime_adapter.stores.indexed.IndexedFileRunStore).
-- It lives in the control plane's data directory, never in the run directory, and is
-- rebuilt from the run files whenever this schema or the row code changes.

CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value
) WITHOUT ROWID;

-- Every *.json file seen: its size and mtime decide whether it must be read again.
CREATE TABLE IF NOT EXISTS files (
    name BLOB PRIMARY KEY,      -- the file name's bytes: ORDER BY name is Node's readdir (strcmp) order
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,  -- -1 when the read raced a rewrite, so the next refresh reads it again
    error TEXT,                 -- why the file is not a run; NULL when it is one
    -- content_digest of a big version whose redaction changes nothing (made only when rows are redacted):
    -- a page reading exactly these bytes again need neither redact them nor check their nesting depth.
    vetted BLOB,
    -- queries/run_digest.comparison_digest of that vetted version: what comparing it reads, without parsing it.
    compared BLOB
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS files_mtime ON files (mtime_ns);
-- The store's unreadable files, which every list shows, without reading every file's row.
CREATE INDEX IF NOT EXISTS files_errors ON files (name) WHERE error IS NOT NULL;

-- One row per readable run: listing.RunRow's fields, plus what search and charts need.
CREATE TABLE IF NOT EXISTS runs (
    name BLOB NOT NULL UNIQUE,
    id TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL,
    input_text TEXT NOT NULL,
    output_text TEXT NOT NULL,
    error_text TEXT NOT NULL,
    created_at TEXT,
    updated_at TEXT,
    ended_at TEXT,
    -- Numbers carry no declared type so SQLite keeps ints as ints and floats as floats.
    duration_ms,
    prompt_tokens,
    completion_tokens,
    total_tokens,
    cost,
    release TEXT,
    root_run_id TEXT NOT NULL,
    parent_run_id TEXT,
    branch_origin_run_id TEXT,
    branch_checkpoint_id TEXT,
    correlation_ids TEXT NOT NULL,  -- JSON array; searchable copy in run_correlations
    step_count INTEGER NOT NULL,
    event_count INTEGER NOT NULL,
    tool_call_count INTEGER NOT NULL,
    error_count INTEGER NOT NULL,
    child_count INTEGER NOT NULL,
    pending_approval INTEGER NOT NULL,
    pending_pause INTEGER NOT NULL,
    needs_attention INTEGER NOT NULL,
    incident_type TEXT,
    recommended_action TEXT,
    top_recommendation TEXT,
    -- The failure signature (queries.failure_signature) of a run that needs attention:
    -- cluster_id is a hash of the other four and of incident_type.
    cluster_id TEXT,
    failure_step_type TEXT,
    failure_tool TEXT,
    error_name TEXT,
    message_template TEXT,
    input_key TEXT NOT NULL,        -- a hash of the whole input: the release comparison pairs runs by it
    source TEXT NOT NULL,
    timings TEXT NOT NULL,          -- JSON object
    step_stats TEXT NOT NULL,       -- JSON: per tool and per step type, steps, failed steps, sample durations
    search_text TEXT NOT NULL,      -- case-folded "id\ninput\noutput\nerror", what listing.matches searches
    redacted INTEGER NOT NULL,      -- 1 when the row is of the redacted run (every row, when the index is)
    created_us INTEGER,             -- createdAt in microseconds since the epoch, for usage buckets
    replay_source_run_id TEXT
);

-- Sorts (listing.sort_value with the id tie-break) and filters the UI offers. Indexes
-- on columns most runs leave empty are partial: every index costs each insert.
CREATE INDEX IF NOT EXISTS runs_created ON runs (coalesce(created_at, ''), id);
CREATE INDEX IF NOT EXISTS runs_updated ON runs (coalesce(updated_at, ''), id);
CREATE INDEX IF NOT EXISTS runs_duration ON runs (coalesce(duration_ms, -1), id);
CREATE INDEX IF NOT EXISTS runs_cost ON runs (cost, id);
CREATE INDEX IF NOT EXISTS runs_status ON runs (status, coalesce(created_at, ''), id);
-- A status in each other sort order: SQLite otherwise sorted every run of the status for a page (`re` among failed
-- runs by cost at 100k runs: 12,692 failed runs sorted, 47 ms, against 0.4 ms walked in order).
CREATE INDEX IF NOT EXISTS runs_status_updated ON runs (status, coalesce(updated_at, ''), id);
CREATE INDEX IF NOT EXISTS runs_status_duration ON runs (status, coalesce(duration_ms, -1), id);
CREATE INDEX IF NOT EXISTS runs_status_cost ON runs (status, cost, id);
-- With created_us, the clusters' timeline window from this index alone (SQLite takes a partial index as covering
-- only when the columns of its condition are among its own).
CREATE INDEX IF NOT EXISTS runs_attention ON runs (coalesce(created_at, ''), id, needs_attention, created_us)
    WHERE needs_attention = 1;
CREATE INDEX IF NOT EXISTS runs_incident ON runs (incident_type, coalesce(created_at, ''), id) WHERE needs_attention = 1;
CREATE INDEX IF NOT EXISTS runs_input_prefix ON runs (substr(input_text, 1, 64));
CREATE INDEX IF NOT EXISTS runs_release ON runs (release) WHERE release IS NOT NULL;
-- Failure clusters as aggregates (fleet_sql.cluster_summaries) from this and runs_attention: read from the table, the
-- clusters page's first request at 100k runs spent 150 ms reading the 22,000 clustered runs' rows.
CREATE INDEX IF NOT EXISTS runs_cluster ON runs (cluster_id, coalesce(created_at, ''), id, created_at, needs_attention,
                                                 release, created_us) WHERE cluster_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS runs_root ON runs (root_run_id);
CREATE INDEX IF NOT EXISTS runs_parent ON runs (parent_run_id) WHERE parent_run_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS runs_branch_origin ON runs (branch_origin_run_id) WHERE branch_origin_run_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS runs_replay_source ON runs (replay_source_run_id) WHERE replay_source_run_id IS NOT NULL;
-- The overview's counts and usage charts from these narrow indexes alone (covering): read from the table, the
-- first overview of 100k runs spent 250 ms counting statuses and 130 ms per usage window.
CREATE INDEX IF NOT EXISTS runs_status_name ON runs (status, name);
-- The releases page's summaries (RowTableQueries.release_summaries) from this index alone.
CREATE INDEX IF NOT EXISTS runs_release_summary ON runs (release, status, created_at, duration_ms, total_tokens, cost)
    WHERE release IS NOT NULL;
-- A release's rows as a release comparison reads them (RowTableQueries.fleet_rows with step_stats) from this index
-- alone: from the table, the 34,000 runs of two releases at 100k took 150 ms of its first request.
CREATE INDEX IF NOT EXISTS runs_release_fleet ON runs (release, id, status, created_at, root_run_id, duration_ms,
    total_tokens, cost, input_key, cluster_id, incident_type, failure_step_type, failure_tool, error_name,
    message_template, recommended_action, step_stats) WHERE release IS NOT NULL;
CREATE INDEX IF NOT EXISTS runs_usage ON runs (created_at, created_us, status, prompt_tokens, completion_tokens,
                                               total_tokens, cost);

CREATE TABLE IF NOT EXISTS run_correlations (
    value TEXT NOT NULL,
    run INTEGER NOT NULL  -- runs.rowid
);
CREATE INDEX IF NOT EXISTS run_correlations_value ON run_correlations (value);
CREATE INDEX IF NOT EXISTS run_correlations_run ON run_correlations (run);

-- Substring search: trigrams of search_text narrow the candidates, instr() confirms.
-- detail=none keeps the index a third of the size; it only has to say which rows.
-- The refresh keeps it in step with `runs` by explicit statements, not triggers: FTS5
-- flushes its buffer at every trigger's savepoint, which made each row 40 times dearer.
CREATE VIRTUAL TABLE IF NOT EXISTS runs_fts USING fts5 (
    search_text, content = 'runs', content_rowid = 'rowid', tokenize = 'trigram case_sensitive 1', detail = 'none'
);

-- Merge search segments only when 16 pile up at one level: the default (4) makes a
-- refresh of 1,000 runs twice as slow on a 100k-run index.
INSERT INTO runs_fts (runs_fts, rank) VALUES ('automerge', 16);
