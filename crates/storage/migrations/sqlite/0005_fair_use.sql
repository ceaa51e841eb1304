-- "Open to anyone, fair to everyone" (issue 14): who uploaded what, so that the job queue takes turns between
-- uploaders and storage has budgets; and when a video was last watched, for the retention policy.
--
-- - `videos.uploader`, `uploads.uploader`: an opaque tag of the client address that made the upload (an HMAC of the
--   address under a key of this installation: the address itself is never stored). NULL for rows made before this
--   migration and for videos imported by the command line.
-- - `videos.watched_at`: when someone last started watching it (updated at most hourly); NULL: never watched.
-- - `upload_ledger`: bytes each uploader was granted, and when; the per-address daily budget sums the last day's rows.
--   A ledger rather than a sum over `videos`, so that deleting a video does not give its bytes back for the day.
-- - `queue_turns`: the turn at which each uploader last had a job claimed; claims serve the uploader whose last turn
--   is oldest first (round robin), not the oldest job.
-- Times are unix milliseconds (UTC), as everywhere in this database.

ALTER TABLE videos ADD COLUMN uploader TEXT;
ALTER TABLE videos ADD COLUMN watched_at INTEGER;
ALTER TABLE uploads ADD COLUMN uploader TEXT;

CREATE TABLE upload_ledger (
    uploader TEXT    NOT NULL,
    at       INTEGER NOT NULL,
    bytes    INTEGER NOT NULL CHECK (bytes >= 0)
) STRICT;

CREATE INDEX upload_ledger_by_uploader ON upload_ledger (uploader, at);
CREATE INDEX upload_ledger_by_age ON upload_ledger (at);
CREATE INDEX uploads_by_uploader ON uploads (uploader) WHERE uploader IS NOT NULL;

CREATE TABLE queue_turns (
    uploader TEXT    PRIMARY KEY NOT NULL,
    turn     INTEGER NOT NULL
) STRICT;
