-- PostgreSQL schema of a run store (runtime_adapter.stores.postgres.PostgresRunStore).
--
-- The control plane only SELECTs from these tables: its role needs CONNECT and SELECT.
-- `manage.py load_runs SOURCE TARGET` creates them and fills them (COPY into a staging
-- table, then an upsert by id); a runtime-side writer can fill them the same way.
-- Idempotent: every statement can run again on an existing database.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- One row per run. Every column except `document`, `row_version` and `loaded_at` is a
-- field of runtime_adapter.listing.RunRow (run_row(run) computes them) or derived from it.
CREATE TABLE IF NOT EXISTS runs (
    id text COLLATE "C" PRIMARY KEY,
    -- The run's file name in the runtime's FileRunStore (`<id>.json`). The listing order
    -- is `ORDER BY source COLLATE "C"`, i.e. Node's readdir (strcmp) order.
    source text COLLATE "C" NOT NULL UNIQUE,
    status text COLLATE "C" NOT NULL,
    -- Display and search text: input/output as strings or JSON, the last error's message;
    -- each cut to 2,000 characters (listing.text_of).
    input_text text NOT NULL,
    output_text text NOT NULL,
    error_text text NOT NULL,
    -- Timestamps are kept as the runtime wrote them and compared as text (ISO-8601 `…Z`
    -- sorts like time); `created_us` is createdAt in microseconds for time buckets.
    created_at text COLLATE "C",
    updated_at text COLLATE "C",
    ended_at text COLLATE "C",  -- completedAt, failedAt or cancelledAt
    created_us bigint,
    duration_ms double precision,  -- ended - (startedAt or createdAt)
    prompt_tokens double precision NOT NULL DEFAULT 0,
    completion_tokens double precision NOT NULL DEFAULT 0,
    total_tokens double precision NOT NULL DEFAULT 0,
    cost double precision NOT NULL DEFAULT 0,
    timings jsonb NOT NULL DEFAULT '{}',  -- metrics.timings: retrievalMs, modelMs, toolMs, workflowMs, verifierMs
    -- JSON (as text: jsonb refuses Infinity) per tool and per step type: steps, failed steps, sample durations.
    step_stats text NOT NULL DEFAULT '{}',
    release text COLLATE "C",  -- metadata.release (or .version/.label/.name), else metadata.releaseLabel
    -- metadata.lineage
    root_run_id text COLLATE "C" NOT NULL,
    parent_run_id text COLLATE "C",
    branch_origin_run_id text COLLATE "C",
    branch_checkpoint_id text COLLATE "C",
    replay_source_run_id text COLLATE "C",  -- metadata.replay.sourceRunId, else metadata.replaySourceRunId
    correlation_ids text[] COLLATE "C" NOT NULL DEFAULT '{}',  -- metadata.correlation values, correlationId, traceId, requestId
    step_count integer NOT NULL DEFAULT 0,
    event_count integer NOT NULL DEFAULT 0,
    tool_call_count integer NOT NULL DEFAULT 0,
    error_count integer NOT NULL DEFAULT 0,
    child_count integer NOT NULL DEFAULT 0,  -- lineage.childRunIds length
    pending_approval boolean NOT NULL DEFAULT false,
    pending_pause boolean NOT NULL DEFAULT false,
    -- failed / waiting_for_approval / paused, a pending approval or pause, or any error
    needs_attention boolean NOT NULL DEFAULT false,
    -- The triage fields of a run that needs attention (NULL otherwise): incident type,
    -- the recovery plan's first action and the report's first recommendation.
    incident_type text,
    recommended_action text,
    top_recommendation text,
    -- The failure signature (queries.failure_signature) of a run that needs attention:
    -- cluster_id is a hash of the other four and of incident_type.
    cluster_id text COLLATE "C",
    failure_step_type text,
    failure_tool text,
    error_name text,
    message_template text,
    input_key text COLLATE "C" NOT NULL DEFAULT '',  -- a hash of the whole input: release comparisons pair runs by it
    -- casefold(id || E'\n' || input_text || E'\n' || output_text || E'\n' || error_text):
    -- the text search matches rows containing every term.
    search_text text NOT NULL,
    -- true when the row is that of the redacted run (rowsql.row_values(..., redact=True)): its
    -- text, correlation ids and search text hold nothing redaction hides. A control plane with
    -- redaction on lists only tables whose rows all are; load_runs writes them so by default.
    redacted boolean NOT NULL DEFAULT false,
    -- The whole run exactly as the runtime wrote it (JSON.stringify(run.toJSON())). `json`,
    -- not `jsonb`: jsonb reorders keys and refuses \u0000, and the runtime's views depend
    -- on key order. Cast with document::jsonb for ad-hoc queries. load_runs sets
    -- `ALTER TABLE runs ALTER COLUMN document SET COMPRESSION lz4` where the server has lz4.
    document json NOT NULL,
    -- Which version of the row code computed the columns (load_runs recomputes stale rows).
    row_version text NOT NULL DEFAULT '',
    loaded_at timestamptz NOT NULL DEFAULT now()
);

-- Changes since the first release of this schema; no-ops on new tables. Rows from before
-- `redacted` count as unredacted until load_runs rewrites them.
ALTER TABLE runs ADD COLUMN IF NOT EXISTS redacted boolean NOT NULL DEFAULT false;
ALTER TABLE runs ADD COLUMN IF NOT EXISTS cluster_id text COLLATE "C";
ALTER TABLE runs ADD COLUMN IF NOT EXISTS failure_step_type text;
ALTER TABLE runs ADD COLUMN IF NOT EXISTS failure_tool text;
ALTER TABLE runs ADD COLUMN IF NOT EXISTS error_name text;
ALTER TABLE runs ADD COLUMN IF NOT EXISTS message_template text;
ALTER TABLE runs ADD COLUMN IF NOT EXISTS input_key text COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN IF NOT EXISTS step_stats text NOT NULL DEFAULT '{}';
DROP INDEX IF EXISTS runs_search_redacts;
ALTER TABLE runs DROP COLUMN IF EXISTS search_redacts;

-- Every sort the UI offers (ties broken on id) and every filter.
CREATE INDEX IF NOT EXISTS runs_created ON runs ((coalesce(created_at, '')), id);
CREATE INDEX IF NOT EXISTS runs_updated ON runs ((coalesce(updated_at, '')), id);
CREATE INDEX IF NOT EXISTS runs_duration ON runs ((coalesce(duration_ms, -1)), id);
CREATE INDEX IF NOT EXISTS runs_cost ON runs (cost, id);
CREATE INDEX IF NOT EXISTS runs_status ON runs (status, (coalesce(created_at, '')), id);
CREATE INDEX IF NOT EXISTS runs_attention ON runs ((coalesce(created_at, '')), id) WHERE needs_attention;
CREATE INDEX IF NOT EXISTS runs_roots ON runs ((coalesce(created_at, '')), id) WHERE coalesce(parent_run_id, '') = '';
CREATE INDEX IF NOT EXISTS runs_incident ON runs (incident_type, (coalesce(created_at, '')), id);
DROP INDEX IF EXISTS runs_release;  -- runs_release_fleet (below) serves every release filter
CREATE INDEX IF NOT EXISTS runs_cluster ON runs (cluster_id, (coalesce(created_at, '')), id) WHERE cluster_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS runs_root ON runs (root_run_id);
CREATE INDEX IF NOT EXISTS runs_parent ON runs (parent_run_id);
CREATE INDEX IF NOT EXISTS runs_branch_origin ON runs (branch_origin_run_id);
CREATE INDEX IF NOT EXISTS runs_replay_source ON runs (replay_source_run_id);
-- The usage and failure-rate buckets (usage_series) sum these columns from the index alone.
DROP INDEX IF EXISTS runs_created_us;
CREATE INDEX IF NOT EXISTS runs_usage ON runs (created_us)
    INCLUDE (created_at, status, prompt_tokens, completion_tokens, total_tokens, cost);
CREATE INDEX IF NOT EXISTS runs_input_prefix ON runs ((substr(input_text, 1, 64)));
CREATE INDEX IF NOT EXISTS runs_correlation_ids ON runs USING gin (correlation_ids);
CREATE INDEX IF NOT EXISTS runs_search ON runs USING gin (search_text gin_trgm_ops);
-- Views over many runs (stores/fleet_sql.py) read these narrow indexes rather than the table: index-only
-- scans once VACUUM has marked the pages all-visible (load_runs vacuums after a large load).
CREATE INDEX IF NOT EXISTS runs_attention_fleet ON runs (cluster_id) INCLUDE (created_at, created_us, release, root_run_id, id)
    WHERE needs_attention;
CREATE INDEX IF NOT EXISTS runs_release_fleet ON runs (release) INCLUDE (status, created_at, duration_ms, total_tokens, cost);
-- created_at is included so that the index alone answers the newest run per input (an expression alone would not).
CREATE INDEX IF NOT EXISTS runs_release_inputs ON runs (release, input_key, (coalesce(created_at, '')) DESC, id DESC)
    INCLUDE (created_at);
-- Whether any row was made with the other redaction setting: one probe per listing query
-- (B-tree deduplication keeps an index of two values tiny).
CREATE INDEX IF NOT EXISTS runs_redacted ON runs (redacted);

-- Records that could not be read as runs (bad JSON, id not matching the file name...),
-- listed beside the runs so one bad file never hides the rest.
CREATE TABLE IF NOT EXISTS store_errors (
    source text COLLATE "C" PRIMARY KEY,
    error text NOT NULL,
    loaded_at timestamptz NOT NULL DEFAULT now()
);

-- A counter every change to runs or store_errors bumps (statement triggers below), so
-- the control plane's caches key on it and never serve a stale tree.
CREATE TABLE IF NOT EXISTS store_meta (
    key text PRIMARY KEY,
    value bigint NOT NULL
);
INSERT INTO store_meta (key, value) VALUES ('generation', 0) ON CONFLICT (key) DO NOTHING;

CREATE OR REPLACE FUNCTION runs_bump_generation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM changed_rows) THEN
        UPDATE store_meta SET value = value + 1 WHERE key = 'generation';
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION runs_bump_generation_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE store_meta SET value = value + 1 WHERE key = 'generation';
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER generation_on_insert AFTER INSERT ON runs
    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION runs_bump_generation();
CREATE OR REPLACE TRIGGER generation_on_update AFTER UPDATE ON runs
    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION runs_bump_generation();
CREATE OR REPLACE TRIGGER generation_on_delete AFTER DELETE ON runs
    REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION runs_bump_generation();
CREATE OR REPLACE TRIGGER generation_on_truncate AFTER TRUNCATE ON runs
    FOR EACH STATEMENT EXECUTE FUNCTION runs_bump_generation_truncate();
CREATE OR REPLACE TRIGGER generation_on_insert AFTER INSERT ON store_errors
    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION runs_bump_generation();
CREATE OR REPLACE TRIGGER generation_on_update AFTER UPDATE ON store_errors
    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION runs_bump_generation();
CREATE OR REPLACE TRIGGER generation_on_delete AFTER DELETE ON store_errors
    REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION runs_bump_generation();
CREATE OR REPLACE TRIGGER generation_on_truncate AFTER TRUNCATE ON store_errors
    FOR EACH STATEMENT EXECUTE FUNCTION runs_bump_generation_truncate();
