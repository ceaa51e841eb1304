-- Videos that play while their upload is still arriving (the same change as SQLite's 0003_live_uploads.sql).
--
-- videos: a status `uploading` (the upload has started and the video may already play), how many seconds of it its
-- published playlist lists (`playable_seconds`), and how its stream is delivered (`delivery`: HLS files a worker
-- stored, or segments cut from the original upload's own bytes).
-- uploads: where an index-first upload's first-sent tail starts (`index_offset`), and whether the upload is a part of
-- a later concatenation (`partial`).

-- The status CHECK of 0001 (named by PostgreSQL after its table and column) makes way for one that knows `uploading`.
ALTER TABLE videos DROP CONSTRAINT videos_status_check;
ALTER TABLE videos ADD CONSTRAINT videos_status_check
    CHECK (status IN ('uploading', 'processing', 'ready', 'error'));

ALTER TABLE videos
    ADD COLUMN playable_seconds DOUBLE PRECISION NOT NULL DEFAULT 0
        CONSTRAINT videos_playable_seconds_check CHECK (playable_seconds >= 0),
    ADD COLUMN delivery TEXT NOT NULL DEFAULT 'stored'
        CONSTRAINT videos_delivery_check CHECK (delivery IN ('stored', 'original'));

ALTER TABLE uploads
    ADD COLUMN index_offset BIGINT,
    ADD COLUMN partial BOOLEAN NOT NULL DEFAULT FALSE,
    ADD CONSTRAINT uploads_index_offset_check
        CHECK (index_offset IS NULL OR (index_offset > 0 AND index_offset < length));
