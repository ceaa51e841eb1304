-- "Private means private" (issue 12): a video's links get an id of their own, and its owner controls who may watch
-- it and for how long.
--
-- videos:
-- - `share_id`: the id of the video's public links, apart from its storage id (`id`, which names its blobs, jobs and
--   upload URL and never changes). Revoking a link gives the video a new one. Rows made before this migration get
--   their own id, so that every link already given out keeps working (`ShareId::legacy`).
-- - `title`: what its owner calls it (NULL: the file name without its extension). The HTTP layer checks its length;
--   the CHECK is a second line.
-- - `password_hash`: an argon2id PHC string (NULL: no password).
-- - `expires_at`: from then on the video is over for everyone.
-- - `max_views`, `views`, `last_view_at`: a view limit ("burn after reading"), the views counted since it was set and
--   when the last counted one started (the last allowed view may go on for a while before the video is deleted).
-- - `deleted_at`: a tombstone. Deleting a video (by its owner, or because it ended) sets it at once, so that every read
--   treats the video as absent; the row itself goes when every blob of the video is removed.
-- Times are unix milliseconds (UTC), as everywhere in this database.
--
-- share_id must be NOT NULL without a default, which ALTER TABLE … ADD COLUMN cannot do: `videos` is rebuilt as in
-- 0003_live_uploads.sql (a new table, every row copied with its rowid, the old one dropped, the new one renamed, its
-- indexes created again), in the one transaction sqlx runs this file in.
--
-- secrets: values every process on this database shares (e.g. the key that signs viewers' access cookies), made by
-- the first process that asks for one. Stored as lowercase hex.

CREATE TABLE videos_new (
    id                TEXT    PRIMARY KEY NOT NULL
                      CHECK (length(id) = 32 AND id NOT GLOB '*[^0-9a-f]*'),
    share_id          TEXT    NOT NULL
                      CHECK (length(share_id) = 32 AND share_id NOT GLOB '*[^0-9a-f]*'),
    original_name     TEXT    NOT NULL,
    title             TEXT    CHECK (length(title) <= 200),
    size_bytes        INTEGER NOT NULL CHECK (size_bytes >= 0),
    status            TEXT    NOT NULL CHECK (status IN ('uploading', 'processing', 'ready', 'error')),
    playable          INTEGER NOT NULL DEFAULT 0 CHECK (playable IN (0, 1)),
    playable_seconds  REAL    NOT NULL DEFAULT 0 CHECK (playable_seconds >= 0),
    delivery          TEXT    NOT NULL DEFAULT 'stored' CHECK (delivery IN ('stored', 'original')),
    progress          REAL    NOT NULL DEFAULT 0 CHECK (progress >= 0 AND progress <= 1),
    duration_seconds  REAL,
    width             INTEGER CHECK (width >= 0),
    height            INTEGER CHECK (height >= 0),
    has_thumbnail     INTEGER NOT NULL DEFAULT 0 CHECK (has_thumbnail IN (0, 1)),
    error_code        TEXT,
    error_message     TEXT,
    manage_token_hash TEXT    NOT NULL,
    password_hash     TEXT,
    expires_at        INTEGER,
    max_views         INTEGER CHECK (max_views >= 1 AND max_views <= 4294967295),
    views             INTEGER NOT NULL DEFAULT 0 CHECK (views >= 0 AND views <= 4294967295),
    last_view_at      INTEGER,
    deleted_at        INTEGER,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    -- A failure reason only ever belongs to a video in error.
    CHECK (status = 'error' OR (error_code IS NULL AND error_message IS NULL))
) STRICT;

-- With their rowids (the tie-break between videos created in the same millisecond); share_id = id: the old links.
INSERT INTO videos_new (rowid, id, share_id, original_name, size_bytes, status, playable, playable_seconds, delivery,
                        progress, duration_seconds, width, height, has_thumbnail, error_code, error_message,
                        manage_token_hash, created_at, updated_at)
SELECT rowid, id, id, original_name, size_bytes, status, playable, playable_seconds, delivery,
       progress, duration_seconds, width, height, has_thumbnail, error_code, error_message,
       manage_token_hash, created_at, updated_at
FROM videos;

DROP TABLE videos;
ALTER TABLE videos_new RENAME TO videos;

CREATE INDEX videos_by_created ON videos (created_at DESC);
CREATE INDEX videos_by_status ON videos (status);
-- Links are looked up by share id, and no two videos may answer the same link.
CREATE UNIQUE INDEX videos_by_share ON videos (share_id);
-- The live videos that can end (an expiry or a view limit): the periodic sweep (`mark_ended`) reads only these, which
-- are few beside the rest. Its query repeats this WHERE, word for word, so that SQLite knows the index covers it.
CREATE INDEX videos_ending ON videos (expires_at)
    WHERE deleted_at IS NULL AND (expires_at IS NOT NULL OR max_views IS NOT NULL);
-- The tombstones, oldest first, for the purge.
CREATE INDEX videos_tombstones ON videos (deleted_at) WHERE deleted_at IS NOT NULL;

CREATE TABLE secrets (
    name  TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL CHECK (length(value) % 2 = 0 AND value NOT GLOB '*[^0-9a-f]*')
) STRICT;
