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
-- SHA-256 of document::text, kept by load_runs for a big run (file.VET_MIN_BYTES) whose redaction changes nothing,
-- when it writes rows of redacted runs: a reader that gets the same text need not redact it again. Any other writer
-- that changes the document without it leaves a digest that no longer matches, and the run is redacted as usual.
ALTER TABLE runs ADD COLUMN IF NOT EXISTS vetted bytea;
-- With `vetted`, queries/run_digest.comparison_digest of that document: what comparing the run reads of it, so
-- that a comparison parses only the steps it shows. Trusted only while `vetted` matches the document.
ALTER TABLE runs ADD COLUMN IF NOT EXISTS compared bytea;
DROP INDEX IF EXISTS runs_search_redacts;
ALTER TABLE runs DROP COLUMN IF EXISTS search_redacts;

-- Every sort the UI offers (ties broken on id) and every filter.
CREATE INDEX IF NOT EXISTS runs_created ON runs ((coalesce(created_at, '')), id);
CREATE INDEX IF NOT EXISTS runs_updated ON runs ((coalesce(updated_at, '')), id);
CREATE INDEX IF NOT EXISTS runs_duration ON runs ((coalesce(duration_ms, -1)), id);
CREATE INDEX IF NOT EXISTS runs_cost ON runs (cost, id);
CREATE INDEX IF NOT EXISTS runs_status ON runs (status, (coalesce(created_at, '')), id);
-- Runs needing attention by creation (the incident queue), carrying what a window's failure clusters read (the
-- overview's last day), so those are index-only scans (they read ~27,000 rows from the table at a million runs).
CREATE INDEX IF NOT EXISTS runs_attention_window ON runs ((coalesce(created_at, '')), id)
    INCLUDE (cluster_id, created_at, created_us, release) WHERE needs_attention;
DROP INDEX IF EXISTS runs_attention;
-- The first and last run needing attention (the clusters page's timeline window), two probes of this index.
CREATE INDEX IF NOT EXISTS runs_attention_created ON runs (created_us) WHERE needs_attention;
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
-- The overview's status counts (in listRuns order of each status's first run) from the index alone.
CREATE INDEX IF NOT EXISTS runs_status_source ON runs (status, source);
CREATE INDEX IF NOT EXISTS runs_input_prefix ON runs ((substr(input_text, 1, 64)));
CREATE INDEX IF NOT EXISTS runs_correlation_ids ON runs USING gin (correlation_ids);
CREATE INDEX IF NOT EXISTS runs_search ON runs USING gin (search_text gin_trgm_ops);
-- Views over many runs (stores/fleet_sql.py) read these narrow indexes rather than the table: index-only
-- scans once VACUUM has marked the pages all-visible (load_runs vacuums after a large load).
CREATE INDEX IF NOT EXISTS runs_attention_fleet ON runs (cluster_id) INCLUDE (created_at, created_us, release, root_run_id, id)
    WHERE needs_attention;
-- A release's clusters (a release comparison's side): its attention rows by cluster, newest first, so that
-- counts, first and last seen and the newest members are read from this release's entries alone.
CREATE INDEX IF NOT EXISTS runs_release_attention ON runs (release, cluster_id, (coalesce(created_at, '')) DESC, id DESC)
    INCLUDE (created_at) WHERE needs_attention;
CREATE INDEX IF NOT EXISTS runs_release_fleet ON runs (release) INCLUDE (status, created_at, duration_ms, total_tokens, cost);
-- Each measure of a release in order (fleet_sql.release_measure): its percentiles' sort then takes one pass over
-- values already sorted (the releases page at a million runs read and sorted every run's values for each measure).
CREATE INDEX IF NOT EXISTS runs_release_duration ON runs (release, duration_ms) WHERE coalesce(release, '') <> '';
CREATE INDEX IF NOT EXISTS runs_release_tokens ON runs (release, total_tokens) WHERE coalesce(release, '') <> '';
CREATE INDEX IF NOT EXISTS runs_release_cost ON runs (release, cost) WHERE coalesce(release, '') <> '';
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

CREATE OR REPLACE FUNCTION runs_bump_generation() RETURNS trigger LANGUAGE plpgsql SET jit = off AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM changed_rows) THEN
        UPDATE store_meta SET value = value + 1 WHERE key = 'generation';
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION runs_bump_generation_truncate() RETURNS trigger LANGUAGE plpgsql SET jit = off AS $$
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

-- Per-release rollups for release comparisons without filters (stores/fleet_sql.py): a release's step
-- totals and the newest run per input, kept exact by the statement triggers below whoever writes `runs`,
-- so that comparing two releases of a million runs reads a few thousand rows instead of unpacking every
-- run's step_stats. Step durations are kept as (value, count): the median over them is exact.
-- `store_meta` key 'rollups' marks them complete (load_runs builds them once over existing rows);
-- without it, readers aggregate `runs` directly.
CREATE TABLE IF NOT EXISTS release_step_totals (
    release text COLLATE "C" NOT NULL,
    section text COLLATE "C" NOT NULL,  -- 'tools' or 'types'
    name text COLLATE "C" NOT NULL,
    runs bigint NOT NULL,     -- runs whose step_stats name it (a name with none left is not listed)
    calls bigint NOT NULL,
    failed bigint NOT NULL,
    PRIMARY KEY (release, section, name)
);
CREATE TABLE IF NOT EXISTS release_step_durations (
    release text COLLATE "C" NOT NULL,
    section text COLLATE "C" NOT NULL,
    name text COLLATE "C" NOT NULL,
    duration double precision NOT NULL,
    n bigint NOT NULL,        -- 0 once every step of that duration is gone (readers skip those)
    PRIMARY KEY (release, section, name, duration)
);
-- The same counts per bucket of durations (rollups version 3): a median's ranks are found among a few
-- hundred buckets, then only the durations of the one or two buckets holding them are read.
-- Bucket b holds the durations d with bounds[b] <= d < bounds[b + 1] (width_bucket's numbering: 0 below
-- the first bound), the bounds 0 and then 2% apart from 1 ms to beyond a year.
CREATE OR REPLACE FUNCTION runs_duration_bounds() RETURNS float8[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT '{0}'::float8[] || ARRAY(SELECT power(1.02::float8, k) FROM generate_series(0, 1600) AS k ORDER BY k)
$$;
CREATE TABLE IF NOT EXISTS release_step_duration_buckets (
    release text COLLATE "C" NOT NULL,
    section text COLLATE "C" NOT NULL,
    name text COLLATE "C" NOT NULL,
    bucket integer NOT NULL,
    n bigint NOT NULL,        -- 0 once every duration in it is gone (readers skip those)
    PRIMARY KEY (release, section, name, bucket)
);
-- Releases with rows whose step_stats PostgreSQL cannot read as jsonb (a name with \u0000): their
-- totals are aggregated from the rows instead (which fall back to the reference).
CREATE TABLE IF NOT EXISTS release_rollup_gaps (
    release text COLLATE "C" PRIMARY KEY,
    unreadable bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS release_latest_input (
    release text COLLATE "C" NOT NULL,
    input_key text COLLATE "C" NOT NULL,
    id text COLLATE "C" NOT NULL,  -- newest by (coalesce(created_at, ''), id), as runs_release_inputs orders
    PRIMARY KEY (release, input_key)
);
-- What a comparison reads of the pair (rollups version 2): no read of the runs table.
ALTER TABLE release_latest_input ADD COLUMN IF NOT EXISTS status text COLLATE "C";
ALTER TABLE release_latest_input ADD COLUMN IF NOT EXISTS duration_ms double precision;
ALTER TABLE release_latest_input ADD COLUMN IF NOT EXISTS cost double precision;
-- Two releases' pairs as a merge of two index-only scans in input order: the triggers' deletes and inserts
-- scatter a release's rows over the table, where reading them took 60-140 ms at a million runs.
CREATE INDEX IF NOT EXISTS release_latest_input_pairs ON release_latest_input (release, input_key)
    INCLUDE (id, status, duration_ms, cost);

DO $$ BEGIN
    CREATE TYPE runs_rollup_change AS (release text, input_key text, step_stats text, sign integer);
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;

-- step_stats as jsonb, or NULL where jsonb refuses it.
CREATE OR REPLACE FUNCTION runs_step_stats(stats text) RETURNS jsonb LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RETURN stats::jsonb;
EXCEPTION WHEN others THEN
    RETURN NULL;
END
$$;

-- The rollup functions never JIT-compile: the planner's estimates for unpacking step_stats (thousands of rows
-- per change) cross jit_above_cost, and compiling took ~790 ms of a 1,000-run update whose work takes ~40 ms.
-- Adds (sign 1) or takes away (sign -1) rows' contributions; rows without a release are never compared.
-- `latest` false leaves release_latest_input alone (a full build fills it in one pass instead).
CREATE OR REPLACE FUNCTION runs_rollup_apply(changes runs_rollup_change[], latest boolean DEFAULT true)
RETURNS void LANGUAGE plpgsql SET jit = off AS $$
BEGIN
    -- A row rewritten with the same release and step_stats (most updates) takes away what it adds: those cancel
    -- here, before anything is parsed or written.
    WITH changed AS MATERIALIZED (
        SELECT release, sign, runs_step_stats(step_stats) AS stats FROM (
            SELECT c.release, c.step_stats, sum(c.sign)::integer AS sign FROM unnest(changes) AS c
            WHERE coalesce(c.release, '') <> '' AND c.step_stats <> '{}'
            GROUP BY c.release, c.step_stats HAVING sum(c.sign) <> 0) AS net
    ), gaps AS (
        INSERT INTO release_rollup_gaps (release, unreadable)
        SELECT release, sum(sign) FROM changed WHERE stats IS NULL GROUP BY release
        ON CONFLICT (release) DO UPDATE SET unreadable = release_rollup_gaps.unreadable + excluded.unreadable
    ), entries AS MATERIALIZED (
        SELECT changed.release, changed.sign, sections.section, entry.key AS name, entry.value
        FROM changed CROSS JOIN (VALUES ('tools'), ('types')) AS sections(section)
        CROSS JOIN LATERAL jsonb_each(coalesce(changed.stats -> sections.section, '{}')) AS entry
        WHERE changed.stats IS NOT NULL
    ), totals AS (
        INSERT INTO release_step_totals (release, section, name, runs, calls, failed)
        SELECT release, section, name, sum(sign), sum(sign * (value ->> 0)::bigint), sum(sign * (value ->> 1)::bigint)
        FROM entries GROUP BY release, section, name
        HAVING sum(sign) <> 0 OR sum(sign * (value ->> 0)::bigint) <> 0 OR sum(sign * (value ->> 1)::bigint) <> 0
        ON CONFLICT (release, section, name) DO UPDATE SET runs = release_step_totals.runs + excluded.runs,
            calls = release_step_totals.calls + excluded.calls, failed = release_step_totals.failed + excluded.failed
    ), samples AS MATERIALIZED (
        SELECT release, section, name, sample.duration, sum(sign) AS n
        FROM entries CROSS JOIN LATERAL (SELECT value::float8 AS duration
                                         FROM jsonb_array_elements_text(entries.value -> 2)) AS sample
        GROUP BY release, section, name, sample.duration HAVING sum(sign) <> 0
    ), buckets AS (
        INSERT INTO release_step_duration_buckets (release, section, name, bucket, n)
        SELECT release, section, name, width_bucket(duration, runs_duration_bounds()), sum(n)
        FROM samples GROUP BY 1, 2, 3, 4 HAVING sum(n) <> 0
        ON CONFLICT (release, section, name, bucket) DO UPDATE SET n = release_step_duration_buckets.n + excluded.n
    )
    INSERT INTO release_step_durations (release, section, name, duration, n)
    SELECT release, section, name, duration, n FROM samples
    ON CONFLICT (release, section, name, duration) DO UPDATE SET n = release_step_durations.n + excluded.n;

    IF latest THEN
        PERFORM runs_rollup_latest(changes);
    END IF;
END
$$;

-- The newest run of every (release, input) of `changes`, found again over runs_release_inputs.
CREATE OR REPLACE FUNCTION runs_rollup_latest(changes runs_rollup_change[]) RETURNS void LANGUAGE plpgsql SET jit = off AS $$
BEGIN
    DELETE FROM release_latest_input AS held
    USING (SELECT DISTINCT c.release, c.input_key FROM unnest(changes) AS c
           WHERE coalesce(c.release, '') <> '' AND coalesce(c.input_key, '') <> '') AS keys
    WHERE held.release = keys.release AND held.input_key = keys.input_key;
    INSERT INTO release_latest_input (release, input_key, id, status, duration_ms, cost)
    SELECT keys.release, keys.input_key, newest.id, newest.status, newest.duration_ms, newest.cost
    FROM (SELECT DISTINCT c.release, c.input_key FROM unnest(changes) AS c
          WHERE coalesce(c.release, '') <> '' AND coalesce(c.input_key, '') <> '') AS keys
    CROSS JOIN LATERAL (SELECT id, status, duration_ms, cost FROM runs
                        WHERE runs.release = keys.release AND runs.input_key = keys.input_key
                        ORDER BY coalesce(created_at, '') DESC, id DESC LIMIT 1) AS newest;
END
$$;

CREATE OR REPLACE FUNCTION runs_rollup_on_insert() RETURNS trigger LANGUAGE plpgsql SET jit = off AS $$
BEGIN
    PERFORM runs_rollup_apply(ARRAY(SELECT ROW(release, input_key, step_stats, 1)::runs_rollup_change
                                    FROM new_rows WHERE coalesce(release, '') <> ''));
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION runs_rollup_on_update() RETURNS trigger LANGUAGE plpgsql SET jit = off AS $$
BEGIN
    PERFORM runs_rollup_apply(ARRAY(
        SELECT ROW(release, input_key, step_stats, -1)::runs_rollup_change FROM old_rows WHERE coalesce(release, '') <> ''
        UNION ALL
        SELECT ROW(release, input_key, step_stats, 1)::runs_rollup_change FROM new_rows WHERE coalesce(release, '') <> ''),
        false);
    -- Only a row whose release, input, time or what a pair shows changed can change the newest run of its input.
    PERFORM runs_rollup_latest(ARRAY(
        SELECT ROW(side.release, side.input_key, NULL, 0)::runs_rollup_change
        FROM old_rows AS o JOIN new_rows AS n USING (id)
        CROSS JOIN LATERAL (VALUES (o.release, o.input_key), (n.release, n.input_key)) AS side(release, input_key)
        WHERE (o.release, o.input_key, o.created_at, o.status, o.duration_ms, o.cost)
              IS DISTINCT FROM (n.release, n.input_key, n.created_at, n.status, n.duration_ms, n.cost)));
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION runs_rollup_on_delete() RETURNS trigger LANGUAGE plpgsql SET jit = off AS $$
BEGIN
    PERFORM runs_rollup_apply(ARRAY(SELECT ROW(release, input_key, step_stats, -1)::runs_rollup_change
                                    FROM old_rows WHERE coalesce(release, '') <> ''));
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION runs_rollup_on_truncate() RETURNS trigger LANGUAGE plpgsql SET jit = off AS $$
BEGIN
    TRUNCATE release_step_totals, release_step_durations, release_step_duration_buckets, release_rollup_gaps,
        release_latest_input;
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER rollup_on_insert AFTER INSERT ON runs
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION runs_rollup_on_insert();
CREATE OR REPLACE TRIGGER rollup_on_update AFTER UPDATE ON runs
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION runs_rollup_on_update();
CREATE OR REPLACE TRIGGER rollup_on_delete AFTER DELETE ON runs
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION runs_rollup_on_delete();
CREATE OR REPLACE TRIGGER rollup_on_truncate AFTER TRUNCATE ON runs
    FOR EACH STATEMENT EXECUTE FUNCTION runs_rollup_on_truncate();

-- Per release: its runs by outcome and each measure's finite values, kept by statement triggers whoever writes
-- `runs` (the releases page and a comparison's two sides, when nothing else filters them): at a million runs the
-- page counted and sorted every run's three measures (~760 ms of its first request). A measure's percentiles are
-- exact: its values are counted per bucket (as the step durations are), a percentile's ranks found among those
-- counts, then only the one or two buckets holding them read over runs_release_<measure>. Sums are numeric, of
-- each value's shortest exact text, so adding and taking away never drifts. `store_meta` key 'measures' marks
-- the three tables complete; without it, readers aggregate `runs`.
CREATE TABLE IF NOT EXISTS release_measure_totals (
    release text COLLATE "C" PRIMARY KEY,
    runs bigint NOT NULL,     -- 0 once every run of the release is gone (readers skip those)
    failed bigint NOT NULL,
    waiting bigint NOT NULL,
    paused bigint NOT NULL,
    duration_n bigint NOT NULL,  -- finite values
    duration_sum numeric NOT NULL,
    tokens_n bigint NOT NULL,
    tokens_sum numeric NOT NULL,
    cost_n bigint NOT NULL,
    cost_sum numeric NOT NULL
);
-- Bucket b of a measure holds its finite values v with bounds[b] <= v < bounds[b + 1] (width_bucket's numbering:
-- 0 for every negative value), the bounds 0 and then 2% apart from 1e-12 to beyond 1e14: tokens, costs of a
-- fraction of a cent and durations alike.
CREATE OR REPLACE FUNCTION runs_measure_bounds() RETURNS float8[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT '{0}'::float8[] || ARRAY(SELECT power(1.02::float8, k) FROM generate_series(-1400, 1700) AS k ORDER BY k)
$$;
CREATE TABLE IF NOT EXISTS release_measure_buckets (
    release text COLLATE "C" NOT NULL,
    measure smallint NOT NULL,  -- 0 duration_ms, 1 total_tokens, 2 cost
    bucket integer NOT NULL,
    n bigint NOT NULL,          -- 0 once every value in it is gone (readers skip those)
    PRIMARY KEY (release, measure, bucket)
);
-- Each finite value of a measure and how many runs of the release have it (a comparison's chart points: its
-- 1,001 quantiles are exact from these, in a pass over a release's distinct values, not over its runs).
CREATE TABLE IF NOT EXISTS release_measure_values (
    release text COLLATE "C" NOT NULL,
    measure smallint NOT NULL,
    value double precision NOT NULL,
    n bigint NOT NULL,          -- 0 once every run with that value is gone (readers skip those)
    -- With the counts: a release's values are an index-only scan in order (78,000 of them 17-26 ms at a million
    -- runs, 78 ms from the table's rows).
    PRIMARY KEY (release, measure, value) INCLUDE (n)
);
-- Each release's first and last run (two probes per release).
CREATE INDEX IF NOT EXISTS runs_release_created ON runs (release, created_at) WHERE coalesce(release, '') <> '';

DO $$ BEGIN
    CREATE TYPE runs_measure_change AS (release text, status text, duration_ms float8, total_tokens float8,
                                        cost float8, sign integer);
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;

CREATE OR REPLACE FUNCTION runs_finite(value float8) RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT value IS NOT NULL AND value > '-Infinity'::float8 AND value < 'Infinity'::float8
$$;

-- extra_float_digits: a value's text is its shortest exact form whatever the writer's session says.
CREATE OR REPLACE FUNCTION runs_measure_apply(changes runs_measure_change[]) RETURNS void LANGUAGE plpgsql
SET jit = off SET extra_float_digits = 1 AS $$
BEGIN
    WITH changed AS MATERIALIZED (
        SELECT * FROM unnest(changes) AS c WHERE coalesce(c.release, '') <> ''
    ), totals AS (
        INSERT INTO release_measure_totals AS held (release, runs, failed, waiting, paused, duration_n, duration_sum,
                                                    tokens_n, tokens_sum, cost_n, cost_sum)
        SELECT release, sum(sign), coalesce(sum(sign) FILTER (WHERE status = 'failed'), 0),
            coalesce(sum(sign) FILTER (WHERE status = 'waiting_for_approval'), 0),
            coalesce(sum(sign) FILTER (WHERE status = 'paused'), 0),
            coalesce(sum(sign) FILTER (WHERE runs_finite(duration_ms)), 0),
            coalesce(sum(sign * duration_ms::text::numeric) FILTER (WHERE runs_finite(duration_ms)), 0),
            coalesce(sum(sign) FILTER (WHERE runs_finite(total_tokens)), 0),
            coalesce(sum(sign * total_tokens::text::numeric) FILTER (WHERE runs_finite(total_tokens)), 0),
            coalesce(sum(sign) FILTER (WHERE runs_finite(cost)), 0),
            coalesce(sum(sign * cost::text::numeric) FILTER (WHERE runs_finite(cost)), 0)
        FROM changed GROUP BY release
        ON CONFLICT (release) DO UPDATE SET runs = held.runs + excluded.runs,
            failed = held.failed + excluded.failed, waiting = held.waiting + excluded.waiting,
            paused = held.paused + excluded.paused, duration_n = held.duration_n + excluded.duration_n,
            duration_sum = held.duration_sum + excluded.duration_sum, tokens_n = held.tokens_n + excluded.tokens_n,
            tokens_sum = held.tokens_sum + excluded.tokens_sum, cost_n = held.cost_n + excluded.cost_n,
            cost_sum = held.cost_sum + excluded.cost_sum
    ), counted AS MATERIALIZED (
        SELECT release, measure, value, sum(sign) AS n
        FROM changed CROSS JOIN LATERAL (VALUES (0::smallint, duration_ms), (1::smallint, total_tokens),
                                                (2::smallint, cost)) AS measures(measure, value)
        WHERE runs_finite(value) GROUP BY 1, 2, 3 HAVING sum(sign) <> 0
    ), buckets AS (
        INSERT INTO release_measure_buckets AS held (release, measure, bucket, n)
        SELECT release, measure, width_bucket(value, runs_measure_bounds()), sum(n)
        FROM counted GROUP BY 1, 2, 3 HAVING sum(n) <> 0
        ON CONFLICT (release, measure, bucket) DO UPDATE SET n = held.n + excluded.n
    )
    INSERT INTO release_measure_values AS held (release, measure, value, n)
    SELECT release, measure, value, n FROM counted
    ON CONFLICT (release, measure, value) DO UPDATE SET n = held.n + excluded.n;
END
$$;

CREATE OR REPLACE FUNCTION runs_measure_on_insert() RETURNS trigger LANGUAGE plpgsql SET jit = off AS $$
BEGIN
    PERFORM runs_measure_apply(ARRAY(SELECT ROW(release, status, duration_ms, total_tokens, cost, 1)::runs_measure_change
                                     FROM new_rows WHERE coalesce(release, '') <> ''));
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION runs_measure_on_update() RETURNS trigger LANGUAGE plpgsql SET jit = off AS $$
BEGIN
    -- Only rows whose release, outcome or measures changed (most updates change none of them).
    PERFORM runs_measure_apply(ARRAY(
        SELECT ROW(side.release, side.status, side.duration_ms, side.total_tokens, side.cost, side.sign)::runs_measure_change
        FROM old_rows AS o JOIN new_rows AS n USING (id)
        CROSS JOIN LATERAL (VALUES (o.release, o.status, o.duration_ms, o.total_tokens, o.cost, -1),
                                   (n.release, n.status, n.duration_ms, n.total_tokens, n.cost, 1))
            AS side(release, status, duration_ms, total_tokens, cost, sign)
        WHERE (o.release, o.status, o.duration_ms, o.total_tokens, o.cost)
              IS DISTINCT FROM (n.release, n.status, n.duration_ms, n.total_tokens, n.cost)
          AND coalesce(side.release, '') <> ''));
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION runs_measure_on_delete() RETURNS trigger LANGUAGE plpgsql SET jit = off AS $$
BEGIN
    PERFORM runs_measure_apply(ARRAY(SELECT ROW(release, status, duration_ms, total_tokens, cost, -1)::runs_measure_change
                                     FROM old_rows WHERE coalesce(release, '') <> ''));
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION runs_measure_on_truncate() RETURNS trigger LANGUAGE plpgsql SET jit = off AS $$
BEGIN
    TRUNCATE release_measure_totals, release_measure_buckets, release_measure_values;
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER measure_on_insert AFTER INSERT ON runs
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION runs_measure_on_insert();
CREATE OR REPLACE TRIGGER measure_on_update AFTER UPDATE ON runs
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION runs_measure_on_update();
CREATE OR REPLACE TRIGGER measure_on_delete AFTER DELETE ON runs
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION runs_measure_on_delete();
CREATE OR REPLACE TRIGGER measure_on_truncate AFTER TRUNCATE ON runs
    FOR EACH STATEMENT EXECUTE FUNCTION runs_measure_on_truncate();

-- How many runs there are per status and whether they need attention, kept by statement triggers whoever
-- writes `runs` (the overview's status counts and totals, the incident queue's count): at a million runs each
-- count scanned an index of a million entries (~300 ms of every first overview). `store_meta` key 'counts'
-- marks the table complete (built once over existing rows, with the triggers, in create_schema's transaction);
-- without it, readers count the rows.
DO $$ BEGIN
    CREATE TYPE runs_count_change AS (status text, needs_attention boolean, n bigint);
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;
CREATE TABLE IF NOT EXISTS run_counts (
    status text COLLATE "C" NOT NULL,
    needs_attention boolean NOT NULL,
    n bigint NOT NULL,        -- 0 once every such run is gone (readers skip those)
    PRIMARY KEY (status, needs_attention)
);

CREATE OR REPLACE FUNCTION runs_count_change(changes runs_count_change[]) RETURNS void LANGUAGE plpgsql
SET jit = off AS $$
BEGIN
    INSERT INTO run_counts (status, needs_attention, n)
    SELECT c.status, c.needs_attention, sum(c.n) FROM unnest(changes) AS c
    GROUP BY c.status, c.needs_attention HAVING sum(c.n) <> 0
    ON CONFLICT (status, needs_attention) DO UPDATE SET n = run_counts.n + excluded.n;
END
$$;

-- Usage per hour of creation (the overview's token, cost and run charts), kept by statement triggers whoever writes
-- `runs`: the last week's chart summed ~700,000 index entries at a million runs (~690 ms of a first overview).
-- Only runs whose createdAt is the runtime's own shape (`2026-01-01T00:00:00.000Z`, exactly the instant in
-- created_us) and whose measures are finite are kept here: for them, comparing createdAt as text with an
-- hour-aligned bound of that shape is comparing instants, so an hour's sums serve any window of whole hours.
-- Every other run is summed from `runs` (runs_usage_rest), as are windows that are not whole hours. Sums are
-- numeric, so adding and taking away never drifts. `store_meta` key 'usage' marks the table complete.
-- runs_hourly is declared IMMUTABLE (an index predicate needs that) although to_char is only STABLE: with this
-- pattern and a timestamp without time zone, its result depends on no setting.
CREATE OR REPLACE FUNCTION runs_hourly(created_at text, created_us bigint, prompt_tokens float8,
                                       completion_tokens float8, total_tokens float8, cost float8)
RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE SET jit = off AS $$
    SELECT coalesce(created_us >= 0 AND created_us < 253402300800000000  -- years 1970 to 9999
        AND created_at = to_char(timestamp '1970-01-01 00:00:00' + make_interval(days => (created_us / 86400000000)::int)
                                 + (created_us % 86400000000) * interval '1 microsecond', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
        AND (prompt_tokens IS NULL OR (prompt_tokens > '-Infinity' AND prompt_tokens < 'Infinity'))
        AND (completion_tokens IS NULL OR (completion_tokens > '-Infinity' AND completion_tokens < 'Infinity'))
        AND (total_tokens IS NULL OR (total_tokens > '-Infinity' AND total_tokens < 'Infinity'))
        AND (cost IS NULL OR (cost > '-Infinity' AND cost < 'Infinity')), false)
$$;
CREATE TABLE IF NOT EXISTS usage_hours (
    hour bigint PRIMARY KEY,  -- created_us / 3600000000
    runs bigint NOT NULL,     -- 0 once every run of that hour is gone (readers skip those)
    failed bigint NOT NULL,
    prompt_tokens numeric NOT NULL,
    completion_tokens numeric NOT NULL,
    total_tokens numeric NOT NULL,
    cost numeric NOT NULL
);
-- The runs usage_hours leaves out, for the usage query's other half.
CREATE INDEX IF NOT EXISTS runs_usage_rest ON runs (created_us)
    INCLUDE (created_at, status, prompt_tokens, completion_tokens, total_tokens, cost)
    WHERE NOT runs_hourly(created_at, created_us, prompt_tokens, completion_tokens, total_tokens, cost);

DO $$ BEGIN
    CREATE TYPE runs_usage_change AS (hour bigint, runs bigint, failed bigint, prompt_tokens numeric,
                                      completion_tokens numeric, total_tokens numeric, cost numeric);
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;

CREATE OR REPLACE FUNCTION runs_usage_change(changes runs_usage_change[]) RETURNS void LANGUAGE plpgsql
SET jit = off AS $$
BEGIN
    INSERT INTO usage_hours (hour, runs, failed, prompt_tokens, completion_tokens, total_tokens, cost)
    SELECT c.hour, sum(c.runs), sum(c.failed), sum(c.prompt_tokens), sum(c.completion_tokens), sum(c.total_tokens),
           sum(c.cost)
    FROM unnest(changes) AS c GROUP BY c.hour
    HAVING sum(c.runs) <> 0 OR sum(c.failed) <> 0 OR sum(c.prompt_tokens) <> 0 OR sum(c.completion_tokens) <> 0
        OR sum(c.total_tokens) <> 0 OR sum(c.cost) <> 0
    ON CONFLICT (hour) DO UPDATE SET runs = usage_hours.runs + excluded.runs,
        failed = usage_hours.failed + excluded.failed,
        prompt_tokens = usage_hours.prompt_tokens + excluded.prompt_tokens,
        completion_tokens = usage_hours.completion_tokens + excluded.completion_tokens,
        total_tokens = usage_hours.total_tokens + excluded.total_tokens, cost = usage_hours.cost + excluded.cost;
END
$$;

-- One change per row: its hour, and its contribution times `sign`.
CREATE OR REPLACE FUNCTION runs_usage_row(sign integer, created_at text, created_us bigint, status text,
                                          prompt_tokens float8, completion_tokens float8, total_tokens float8,
                                          cost float8) RETURNS runs_usage_change LANGUAGE sql IMMUTABLE SET jit = off AS $$
    SELECT ROW(created_us / 3600000000, sign, CASE WHEN status = 'failed' THEN sign ELSE 0 END,
               sign * coalesce(prompt_tokens, 0)::numeric, sign * coalesce(completion_tokens, 0)::numeric,
               sign * coalesce(total_tokens, 0)::numeric, sign * coalesce(cost, 0)::numeric)::runs_usage_change
$$;

-- One family of statement triggers keeps both run_counts and usage_hours.
CREATE OR REPLACE FUNCTION runs_tally_on_insert() RETURNS trigger LANGUAGE plpgsql SET jit = off AS $$
BEGIN
    PERFORM runs_count_change(ARRAY(SELECT ROW(status, needs_attention, count(*))::runs_count_change
                                    FROM new_rows GROUP BY status, needs_attention));
    PERFORM runs_usage_change(ARRAY(
        SELECT runs_usage_row(1, created_at, created_us, status, prompt_tokens, completion_tokens, total_tokens, cost)
        FROM new_rows WHERE runs_hourly(created_at, created_us, prompt_tokens, completion_tokens, total_tokens, cost)));
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION runs_tally_on_update() RETURNS trigger LANGUAGE plpgsql SET jit = off AS $$
BEGIN
    PERFORM runs_count_change(ARRAY(
        SELECT ROW(status, needs_attention, -count(*))::runs_count_change FROM old_rows GROUP BY status, needs_attention
        UNION ALL
        SELECT ROW(status, needs_attention, count(*))::runs_count_change FROM new_rows GROUP BY status, needs_attention));
    PERFORM runs_usage_change(ARRAY(
        SELECT runs_usage_row(-1, created_at, created_us, status, prompt_tokens, completion_tokens, total_tokens, cost)
        FROM old_rows WHERE runs_hourly(created_at, created_us, prompt_tokens, completion_tokens, total_tokens, cost)
        UNION ALL
        SELECT runs_usage_row(1, created_at, created_us, status, prompt_tokens, completion_tokens, total_tokens, cost)
        FROM new_rows WHERE runs_hourly(created_at, created_us, prompt_tokens, completion_tokens, total_tokens, cost)));
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION runs_tally_on_delete() RETURNS trigger LANGUAGE plpgsql SET jit = off AS $$
BEGIN
    PERFORM runs_count_change(ARRAY(SELECT ROW(status, needs_attention, -count(*))::runs_count_change
                                    FROM old_rows GROUP BY status, needs_attention));
    PERFORM runs_usage_change(ARRAY(
        SELECT runs_usage_row(-1, created_at, created_us, status, prompt_tokens, completion_tokens, total_tokens, cost)
        FROM old_rows WHERE runs_hourly(created_at, created_us, prompt_tokens, completion_tokens, total_tokens, cost)));
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION runs_tally_on_truncate() RETURNS trigger LANGUAGE plpgsql SET jit = off AS $$
BEGIN
    TRUNCATE run_counts, usage_hours;
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER tally_on_insert AFTER INSERT ON runs
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION runs_tally_on_insert();
CREATE OR REPLACE TRIGGER tally_on_update AFTER UPDATE ON runs
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION runs_tally_on_update();
CREATE OR REPLACE TRIGGER tally_on_delete AFTER DELETE ON runs
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION runs_tally_on_delete();
CREATE OR REPLACE TRIGGER tally_on_truncate AFTER TRUNCATE ON runs
    FOR EACH STATEMENT EXECUTE FUNCTION runs_tally_on_truncate();
