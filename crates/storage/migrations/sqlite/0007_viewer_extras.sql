-- "Every viewer, every connection" (issue 13): seek-bar previews (a `storyboard` job, and a flag once they are
-- stored), the MP4 downloaded when the original is gone (a `download` job), the owner's per-video download switch,
-- and caption tracks. SQLite cannot change a CHECK constraint in place: `jobs` is rebuilt, same columns, same indexes.

ALTER TABLE videos ADD COLUMN has_storyboard INTEGER NOT NULL DEFAULT 0 CHECK (has_storyboard IN (0, 1));
-- NULL: the site's default (`share.allow_download`).
ALTER TABLE videos ADD COLUMN allow_download INTEGER CHECK (allow_download IN (0, 1));

-- One row per caption track; its cues are a blob (`hls/{id}/captions/{lang}.vtt`). Removed with the video's record.
CREATE TABLE captions (
    video_id   TEXT    NOT NULL,
    lang       TEXT    NOT NULL CHECK (length(lang) BETWEEN 2 AND 35),
    label      TEXT    NOT NULL CHECK (length(label) BETWEEN 1 AND 40),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (video_id, lang)
) STRICT;

CREATE TABLE jobs_new (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    video_id         TEXT    NOT NULL
                     CHECK (length(video_id) = 32 AND video_id NOT GLOB '*[^0-9a-f]*'),
    kind             TEXT    NOT NULL CHECK (kind IN ('process', 'thumbnail', 'storyboard', 'download', 'ladder')),
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

INSERT INTO jobs_new (id, video_id, kind, state, attempts, run_at, lease_owner, lease_id, lease_expires_at,
                      last_error, created_at)
    SELECT id, video_id, kind, state, attempts, run_at, lease_owner, lease_id, lease_expires_at, last_error, created_at
    FROM jobs;
DROP TABLE jobs;
ALTER TABLE jobs_new RENAME TO jobs;

-- At most one live (queued or running) job per video and kind: enqueue is idempotent.
-- Failed (given up) jobs stay as a record and do not block a new enqueue.
CREATE UNIQUE INDEX jobs_live_unique ON jobs (video_id, kind) WHERE state IN ('queued', 'running');
CREATE INDEX jobs_by_state ON jobs (state, run_at);
CREATE INDEX jobs_by_video ON jobs (video_id);
