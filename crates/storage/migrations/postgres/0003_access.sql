-- "Private means private" (issue 12; the same change as SQLite's 0004_access.sql): a video's links get an id of their
-- own, and its owner controls who may watch it and for how long.
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
--   BIGINT, as width and height: the domain's counts are unsigned 32-bit, beyond PostgreSQL's INTEGER.
-- - `deleted_at`: a tombstone. Deleting a video (by its owner, or because it ended) sets it at once, so that every read
--   treats the video as absent; the row itself goes when every blob of the video is removed.
-- Times are TIMESTAMPTZ at millisecond precision, as created_at.
--
-- secrets: values every process on this database shares (e.g. the key that signs viewers' access cookies), made by
-- the first process that asks for one. Stored as lowercase hex, as on SQLite.

ALTER TABLE videos
    ADD COLUMN share_id TEXT,
    ADD COLUMN title TEXT
        CONSTRAINT videos_title_check CHECK (char_length(title) <= 200),
    ADD COLUMN password_hash TEXT,
    ADD COLUMN expires_at TIMESTAMPTZ,
    ADD COLUMN max_views BIGINT
        CONSTRAINT videos_max_views_check CHECK (max_views >= 1 AND max_views <= 4294967295),
    ADD COLUMN views BIGINT NOT NULL DEFAULT 0
        CONSTRAINT videos_views_check CHECK (views >= 0 AND views <= 4294967295),
    ADD COLUMN last_view_at TIMESTAMPTZ,
    ADD COLUMN deleted_at TIMESTAMPTZ;

-- The old links: a video's share id is its own id.
UPDATE videos SET share_id = id;
ALTER TABLE videos
    ALTER COLUMN share_id SET NOT NULL,
    ADD CONSTRAINT videos_share_id_check CHECK (share_id ~ '^[0-9a-f]{32}$');

-- Links are looked up by share id, and no two videos may answer the same link.
CREATE UNIQUE INDEX videos_by_share ON videos (share_id);
-- The live videos that can end (an expiry or a view limit): the periodic sweep (`mark_ended`) reads only these, which
-- are few beside the rest. Its query repeats this WHERE, so that the index is seen to cover it.
CREATE INDEX videos_ending ON videos (expires_at)
    WHERE deleted_at IS NULL AND (expires_at IS NOT NULL OR max_views IS NOT NULL);
-- The tombstones, oldest first, for the purge.
CREATE INDEX videos_tombstones ON videos (deleted_at) WHERE deleted_at IS NOT NULL;

CREATE TABLE secrets (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL CONSTRAINT secrets_value_check CHECK (value ~ '^([0-9a-f]{2})*$')
);
