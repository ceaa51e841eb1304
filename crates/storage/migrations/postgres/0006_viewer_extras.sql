-- "Every viewer, every connection" (issue 13): seek-bar previews (a `storyboard` job, and a flag once they are
-- stored), the MP4 downloaded when the original is gone (a `download` job), the owner's per-video download switch,
-- and caption tracks.

ALTER TABLE videos ADD COLUMN has_storyboard BOOLEAN NOT NULL DEFAULT FALSE;
-- NULL: the site's default (`share.allow_download`).
ALTER TABLE videos ADD COLUMN allow_download BOOLEAN;

-- One row per caption track; its cues are a blob (`hls/{id}/captions/{lang}.vtt`). Removed with the video's record.
CREATE TABLE captions (
    video_id   TEXT   NOT NULL,
    lang       TEXT   NOT NULL CHECK (length(lang) BETWEEN 2 AND 35),
    label      TEXT   NOT NULL CHECK (length(label) BETWEEN 1 AND 40),
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (video_id, lang)
);

ALTER TABLE jobs DROP CONSTRAINT jobs_kind_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_kind_check CHECK (kind IN ('process', 'thumbnail', 'storyboard', 'download', 'ladder'));
