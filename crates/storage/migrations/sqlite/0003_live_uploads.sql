-- Videos that play while their upload is still arriving.
--
-- videos: a status `uploading` (the upload has started and the video may already play), how many seconds of it its
-- published playlist lists (`playable_seconds`), and how its stream is delivered (`delivery`: HLS files a worker
-- stored, or segments cut from the original upload's own bytes).
-- uploads: where an index-first upload's first-sent tail starts (`index_offset`), and whether the upload is a part of
-- a later concatenation (`partial`).
--
-- A CHECK of a STRICT table cannot be changed in place: `videos` is rebuilt the way SQLite documents
-- (https://www.sqlite.org/lang_altertable.html#otheralter): a new table, every row copied, the old one dropped, the
-- new one renamed, its indexes created again. No other table references `videos`, no trigger or view reads it, and
-- sqlx runs this file in one transaction: a failure leaves the old table as it was.

CREATE TABLE videos_new (
    id                TEXT    PRIMARY KEY NOT NULL
                      CHECK (length(id) = 32 AND id NOT GLOB '*[^0-9a-f]*'),
    original_name     TEXT    NOT NULL,
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
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    -- A failure reason only ever belongs to a video in error.
    CHECK (status = 'error' OR (error_code IS NULL AND error_message IS NULL))
) STRICT;

-- With their rowids: the tie-break between videos created in the same millisecond.
INSERT INTO videos_new (rowid, id, original_name, size_bytes, status, playable, progress, duration_seconds, width,
                        height, has_thumbnail, error_code, error_message, manage_token_hash, created_at, updated_at)
SELECT rowid, id, original_name, size_bytes, status, playable, progress, duration_seconds, width,
       height, has_thumbnail, error_code, error_message, manage_token_hash, created_at, updated_at
FROM videos;

DROP TABLE videos;
ALTER TABLE videos_new RENAME TO videos;

CREATE INDEX videos_by_created ON videos (created_at DESC);
CREATE INDEX videos_by_status ON videos (status);

ALTER TABLE uploads ADD COLUMN index_offset INTEGER
    CHECK (index_offset IS NULL OR (index_offset > 0 AND index_offset < length));
ALTER TABLE uploads ADD COLUMN partial INTEGER NOT NULL DEFAULT 0 CHECK (partial IN (0, 1));
