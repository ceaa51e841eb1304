//! The rows of each table as both databases decode them (`sqlx::FromRow`, by column name), and their checked
//! conversion into domain records: any value a record cannot hold is [`RepoError::Corrupt`], never a panic.
//!
//! `T` is how the database stores an instant ([`Engine::Stamp`](super::Engine::Stamp)).

use flick_domain::ports::{Job, JobKind, RepoError, UploadRecord};
use flick_domain::{Access, Delivery, ShareId, Video, VideoFailure, VideoStatus};
use sqlx::FromRow;

use super::{Stamp, from_db, parse_id};

/// The columns of `videos` that [`VideoRow`] reads (and, in this order, that `import_video` writes).
pub(crate) const VIDEO_COLUMNS: &str = "id, original_name, size_bytes, status, playable, playable_seconds, delivery, \
     progress, duration_seconds, width, height, has_thumbnail, error_code, error_message, manage_token_hash, \
     created_at, updated_at, share_id, title, password_hash, expires_at, max_views, views, last_view_at, deleted_at, has_storyboard, allow_download";

/// The columns of `uploads` that [`UploadRow`] reads.
pub(crate) const UPLOAD_COLUMNS: &str = "id, length, upload_offset, index_offset, partial, file_name, metadata, \
     manage_token_hash, created_at, expires_at, uploader";

/// The columns of a claimed job that [`JobRow`] reads (`attempts` is an `INTEGER` on PostgreSQL: read as 64 bits on
/// both).
pub(crate) const JOB_COLUMNS: &str = "id, video_id, kind, CAST(attempts AS BIGINT) AS attempts, lease_id";

/// A row of `videos`.
#[derive(FromRow)]
pub struct VideoRow<T> {
    id: String,
    original_name: String,
    size_bytes: i64,
    status: String,
    playable: bool,
    playable_seconds: f64,
    delivery: String,
    progress: f64,
    duration_seconds: Option<f64>,
    width: Option<i64>,
    height: Option<i64>,
    has_thumbnail: bool,
    error_code: Option<String>,
    error_message: Option<String>,
    manage_token_hash: String,
    created_at: T,
    updated_at: T,
    share_id: String,
    title: Option<String>,
    password_hash: Option<String>,
    expires_at: Option<T>,
    max_views: Option<i64>,
    views: i64,
    last_view_at: Option<T>,
    deleted_at: Option<T>,
    has_storyboard: bool,
    allow_download: Option<bool>,
}

impl<T: Stamp> VideoRow<T> {
    pub(crate) fn into_video(self) -> Result<Video, RepoError> {
        let id = parse_id(&self.id)?;
        let what = format!("video {id}");
        let corrupt = |detail: String| RepoError::Corrupt(format!("{what}: {detail}"));
        let status =
            VideoStatus::parse(&self.status).ok_or_else(|| corrupt(format!("unknown status {:?}", self.status)))?;
        let delivery =
            Delivery::parse(&self.delivery).ok_or_else(|| corrupt(format!("unknown delivery {:?}", self.delivery)))?;
        let share_id =
            ShareId::parse(&self.share_id).map_err(|_| corrupt(format!("malformed share id {:?}", self.share_id)))?;
        let count = |column: &str, v: i64| u32::try_from(v).map_err(|_| corrupt(format!("{column} is {v}")));
        let dimension = |column: &str, v: Option<i64>| v.map(|v| count(column, v)).transpose();
        let time = |column: &str, t: &T| t.instant().ok_or_else(|| corrupt(format!("{column} is {t:?}")));
        let maybe_time = |column: &str, t: &Option<T>| t.as_ref().map(|t| time(column, t)).transpose();
        let access = Access {
            password_hash: self.password_hash,
            expires_at: maybe_time("expires_at", &self.expires_at)?,
            max_views: dimension("max_views", self.max_views)?,
            views: count("views", self.views)?,
            last_view_at: maybe_time("last_view_at", &self.last_view_at)?,
            allow_download: self.allow_download,
        };
        let failure = match (self.error_code, self.error_message) {
            (None, None) => None,
            (code, message) => {
                Some(VideoFailure { code: code.unwrap_or_default(), message: message.unwrap_or_default() })
            }
        };
        Ok(Video {
            id,
            share_id,
            original_name: self.original_name,
            title: self.title,
            size_bytes: from_db(&what, "size_bytes", self.size_bytes)?,
            status,
            playable: self.playable,
            playable_seconds: self.playable_seconds,
            delivery,
            progress: self.progress,
            duration_seconds: self.duration_seconds,
            width: dimension("width", self.width)?,
            height: dimension("height", self.height)?,
            has_thumbnail: self.has_thumbnail,
            has_storyboard: self.has_storyboard,
            failure,
            manage_token_hash: self.manage_token_hash,
            access,
            deleted_at: maybe_time("deleted_at", &self.deleted_at)?,
            created_at: time("created_at", &self.created_at)?,
            updated_at: time("updated_at", &self.updated_at)?,
        })
    }
}

/// A row of `uploads`.
#[derive(FromRow)]
pub struct UploadRow<T> {
    id: String,
    length: i64,
    upload_offset: i64,
    index_offset: Option<i64>,
    partial: bool,
    file_name: Option<String>,
    metadata: Option<String>,
    manage_token_hash: String,
    created_at: T,
    expires_at: T,
    uploader: Option<String>,
}

impl<T: Stamp> UploadRow<T> {
    pub(crate) fn into_record(self) -> Result<UploadRecord, RepoError> {
        let id = parse_id(&self.id)?;
        let what = format!("upload {id}");
        let time =
            |column: &str, t: &T| t.instant().ok_or_else(|| RepoError::Corrupt(format!("{what}: {column} is {t:?}")));
        Ok(UploadRecord {
            id,
            length: from_db(&what, "length", self.length)?,
            offset: from_db(&what, "upload_offset", self.upload_offset)?,
            index_offset: self.index_offset.map(|n| from_db(&what, "index_offset", n)).transpose()?,
            partial: self.partial,
            file_name: self.file_name,
            metadata: self.metadata,
            manage_token_hash: self.manage_token_hash,
            created_at: time("created_at", &self.created_at)?,
            expires_at: time("expires_at", &self.expires_at)?,
            uploader: self.uploader,
        })
    }
}

/// A claimed row of `jobs` ([`JOB_COLUMNS`]).
#[derive(FromRow)]
pub struct JobRow {
    id: i64,
    video_id: String,
    kind: String,
    attempts: i64,
    lease_id: String,
}

impl JobRow {
    /// The job; on bad data, the row's id and what is wrong, so that the row can be set aside instead of being
    /// claimed (and failing) forever.
    pub(crate) fn into_job(self) -> Result<Job, (i64, String)> {
        let id = self.id;
        let video_id = parse_id(&self.video_id).map_err(|e| (id, e.to_string()))?;
        let kind = JobKind::parse(&self.kind).ok_or_else(|| (id, format!("unknown kind {:?}", self.kind)))?;
        let attempt = u32::try_from(self.attempts).map_err(|_| (id, format!("attempts is {}", self.attempts)))?;
        Ok(Job { id, video_id, kind, attempt, lease_id: self.lease_id })
    }
}
