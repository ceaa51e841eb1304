-- "Every viewer, every connection" (issue 13): a new job kind, `ladder`, which adds the lower renditions of a ready
-- video.

ALTER TABLE jobs DROP CONSTRAINT jobs_kind_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_kind_check CHECK (kind IN ('process', 'thumbnail', 'ladder'));
