-- Resumable (tus) uploads in progress. A finished upload becomes a row of `videos` with the same id
-- and its row here is deleted. Times are unix milliseconds (UTC).

CREATE TABLE uploads (
    id                TEXT    PRIMARY KEY NOT NULL
                      CHECK (length(id) = 32 AND id NOT GLOB '*[^0-9a-f]*'),
    length            INTEGER NOT NULL CHECK (length > 0),
    -- Bytes received and fsynced; the partial file is cut back to this after a crash.
    upload_offset     INTEGER NOT NULL DEFAULT 0 CHECK (upload_offset >= 0 AND upload_offset <= length),
    file_name         TEXT,
    metadata          TEXT,
    manage_token_hash TEXT    NOT NULL,
    created_at        INTEGER NOT NULL,
    expires_at        INTEGER NOT NULL
) STRICT;

CREATE INDEX uploads_by_expiry ON uploads (expires_at);
