-- Flick's metadata on PostgreSQL: one row per video, the durable job queue, and the resumable uploads in progress.
-- The same shape as the SQLite schema, with native types. Times come from the DATABASE clock (now()), so that
-- every API node and worker agrees on leases and backoffs whatever their own clocks say.

CREATE TABLE videos (
    id                TEXT             PRIMARY KEY CHECK (id ~ '^[0-9a-f]{32}$'),
    -- Insertion order: breaks ties between videos created in the same millisecond.
    seq               BIGINT           GENERATED ALWAYS AS IDENTITY UNIQUE,
    original_name     TEXT             NOT NULL,
    size_bytes        BIGINT           NOT NULL CHECK (size_bytes >= 0),
    status            TEXT             NOT NULL CHECK (status IN ('processing', 'ready', 'error')),
    playable          BOOLEAN          NOT NULL DEFAULT FALSE,
    progress          DOUBLE PRECISION NOT NULL DEFAULT 0 CHECK (progress >= 0 AND progress <= 1),
    duration_seconds  DOUBLE PRECISION,
    width             BIGINT           CHECK (width >= 0 AND width <= 4294967295),
    height            BIGINT           CHECK (height >= 0 AND height <= 4294967295),
    has_thumbnail     BOOLEAN          NOT NULL DEFAULT FALSE,
    error_code        TEXT,
    error_message     TEXT,
    manage_token_hash TEXT             NOT NULL,
    -- Millisecond precision, as on SQLite.
    created_at        TIMESTAMPTZ      NOT NULL,
    updated_at        TIMESTAMPTZ      NOT NULL,
    -- A failure reason only ever belongs to a video in error.
    CONSTRAINT videos_failure_only_in_error
        CHECK (status = 'error' OR (error_code IS NULL AND error_message IS NULL))
);

CREATE INDEX videos_by_created ON videos (created_at DESC, seq DESC);
CREATE INDEX videos_by_status ON videos (status);

CREATE TABLE jobs (
    id               BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    video_id         TEXT        NOT NULL CHECK (video_id ~ '^[0-9a-f]{32}$'),
    kind             TEXT        NOT NULL CHECK (kind IN ('process', 'thumbnail')),
    state            TEXT        NOT NULL CHECK (state IN ('queued', 'running', 'failed')),
    -- Claims so far, the current one included.
    attempts         INTEGER     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    -- When a queued job becomes due (later than now while backing off after a failure).
    run_at           TIMESTAMPTZ NOT NULL,
    lease_owner      TEXT,
    lease_id         TEXT,
    -- Pushed forward by every heartbeat; once past, the worker is presumed dead and the job is claimable again.
    lease_expires_at TIMESTAMPTZ,
    last_error       TEXT,
    created_at       TIMESTAMPTZ NOT NULL,
    -- Exactly the running jobs hold a lease.
    CONSTRAINT jobs_lease_iff_running CHECK (
        (state = 'running') = (lease_owner IS NOT NULL AND lease_id IS NOT NULL AND lease_expires_at IS NOT NULL))
);

-- At most one live (queued or running) job per video and kind: enqueue is idempotent.
-- Failed (given up) jobs stay as a record and do not block a new enqueue.
CREATE UNIQUE INDEX jobs_live_unique ON jobs (video_id, kind) WHERE state IN ('queued', 'running');
CREATE INDEX jobs_queued_by_due ON jobs (run_at) WHERE state = 'queued';
CREATE INDEX jobs_running_by_lease ON jobs (lease_expires_at) WHERE state = 'running';
CREATE INDEX jobs_by_video ON jobs (video_id);

-- Resumable (tus) uploads in progress. A finished upload becomes a row of `videos` with the same id and its row
-- here is deleted. Its times are set by the application (the expiry it computes), not by the database.
CREATE TABLE uploads (
    id                TEXT        PRIMARY KEY CHECK (id ~ '^[0-9a-f]{32}$'),
    length            BIGINT      NOT NULL CHECK (length > 0),
    -- Bytes received and stored durably.
    upload_offset     BIGINT      NOT NULL DEFAULT 0 CHECK (upload_offset >= 0 AND upload_offset <= length),
    file_name         TEXT,
    metadata          TEXT,
    manage_token_hash TEXT        NOT NULL,
    created_at        TIMESTAMPTZ NOT NULL,
    expires_at        TIMESTAMPTZ NOT NULL
);

CREATE INDEX uploads_by_expiry ON uploads (expires_at);
