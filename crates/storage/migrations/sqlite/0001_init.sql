-- Flick's metadata: one row per video, and the durable job queue.
-- Times are unix milliseconds (UTC). STRICT tables so a value of the wrong type is refused on write.

CREATE TABLE videos (
    id                TEXT    PRIMARY KEY NOT NULL
                      CHECK (length(id) = 32 AND id NOT GLOB '*[^0-9a-f]*'),
    original_name     TEXT    NOT NULL,
    size_bytes        INTEGER NOT NULL CHECK (size_bytes >= 0),
    status            TEXT    NOT NULL CHECK (status IN ('processing', 'ready', 'error')),
    playable          INTEGER NOT NULL DEFAULT 0 CHECK (playable IN (0, 1)),
    progress          REAL    NOT NULL DEFAULT 0 CHECK (progress >= 0 AND progress <= 1),
    duration_seconds  REAL,
    width             INTEGER CHECK (width >= 0),
    height            INTEGER CHECK (height >= 0),
    has_thumbnail     INTEGER NOT NULL DEFAULT 0 CHECK (has_thumbnail IN (0, 1)),
    error_code        TEXT,
    error_message     TEXT,
    manage_token_hash TEXT    NOT NULL,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    -- A failure reason only ever belongs to a video in error.
    CHECK (status = 'error' OR (error_code IS NULL AND error_message IS NULL))
) STRICT;

CREATE INDEX videos_by_created ON videos (created_at DESC);
CREATE INDEX videos_by_status ON videos (status);

CREATE TABLE jobs (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    video_id         TEXT    NOT NULL
                     CHECK (length(video_id) = 32 AND video_id NOT GLOB '*[^0-9a-f]*'),
    kind             TEXT    NOT NULL CHECK (kind IN ('process', 'thumbnail')),
    state            TEXT    NOT NULL CHECK (state IN ('queued', 'running', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    -- When a queued job becomes due (later than now while backing off after a failure).
    run_at           INTEGER NOT NULL,
    lease_owner      TEXT,
    lease_id         TEXT,
    lease_expires_at INTEGER,
    last_error       TEXT,
    created_at       INTEGER NOT NULL,
    -- Exactly the running jobs hold a lease.
    CHECK ((state = 'running') = (lease_owner IS NOT NULL AND lease_id IS NOT NULL AND lease_expires_at IS NOT NULL))
) STRICT;

-- At most one live (queued or running) job per video and kind: enqueue is idempotent.
-- Failed (given up) jobs stay as a record and do not block a new enqueue.
CREATE UNIQUE INDEX jobs_live_unique ON jobs (video_id, kind) WHERE state IN ('queued', 'running');
CREATE INDEX jobs_by_state ON jobs (state, run_at);
CREATE INDEX jobs_by_video ON jobs (video_id);
