use async_trait::async_trait;

use chrono::{DateTime, Utc};

use crate::ids::{ShareId, VideoId};
use crate::video::{AccessUpdate, Caption, NewVideo, Video, VideoUpdate};

/// A failure of the metadata repository (its details are for the log, not the client).
#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    #[error("metadata store unavailable: {0}")]
    Unavailable(String),
    #[error("stored record is corrupt: {0}")]
    Corrupt(String),
    #[error("a video with this id already exists")]
    Duplicate,
    /// Every database connection this request may use stayed in use for the whole wait: try again shortly.
    #[error("the database is busy: {0}")]
    Busy(String),
}

/// The byte budgets a new upload must fit in; 0 is no limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Budgets {
    /// Bytes one uploader may be granted in a day (a sliding 24 hours).
    pub uploader_per_day: u64,
    /// Bytes of one uploader's unfinished resumable uploads, together.
    pub uploader_unfinished: u64,
    /// Bytes of every video and unfinished upload of the installation, together (uploaded sizes).
    pub total: u64,
}

/// Which budget a refused upload would have overrun.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverBudget {
    /// The uploader's daily bytes.
    Day,
    /// The uploader's unfinished uploads.
    Unfinished,
    /// The installation's storage.
    Total,
}

/// The metadata repository: one record per video.
#[async_trait]
pub trait Repo: Send + Sync + 'static {
    /// Inserts a new video (`uploading` or `processing`, as [`NewVideo::status`] says); a `processing` one gets its
    /// processing job in the same transaction (either both exist or neither). An `uploading` one gets its job when its
    /// first bytes arrive, and again when its upload completes ([`Repo::upload_finished`]).
    async fn create_video(&self, video: &NewVideo) -> Result<(), RepoError>;
    /// The upload of a video that is `uploading` has completed: the video becomes `processing` and its processing
    /// job is queued, in one transaction. False (and nothing changed) when the video is not `uploading` any more:
    /// deleted, abandoned, or already finished by a worker that followed the upload.
    async fn upload_finished(&self, id: VideoId) -> Result<bool, RepoError>;
    /// The video with this id, if any (a tombstone included: see [`Video::deleted_at`]).
    async fn get_video(&self, id: VideoId) -> Result<Option<Video>, RepoError>;
    /// The video whose link has this share id, if any (a tombstone included).
    async fn get_video_by_share(&self, share: ShareId) -> Result<Option<Video>, RepoError>;
    /// Applies an owner's change of title and access; `None` when the video is absent or a tombstone.
    async fn update_access(&self, id: VideoId, update: &AccessUpdate) -> Result<Option<Video>, RepoError>;
    /// Gives the video a new share id (the old link stops working at once); false when absent or a tombstone.
    async fn set_share_id(&self, id: VideoId, share: ShareId) -> Result<bool, RepoError>;
    /// Counts a view of a video with a view limit, if one is left: returns the view's number (1 for the first),
    /// `None` when none is left (or the video has no limit, is absent or a tombstone).
    async fn count_view(&self, id: VideoId, now: DateTime<Utc>) -> Result<Option<u32>, RepoError>;
    /// Turns the video into a tombstone (every read then treats it as absent); false when absent or already one.
    async fn mark_deleted(&self, id: VideoId, now: DateTime<Utc>) -> Result<bool, RepoError>;
    /// Turns every video that is over at `now` (past its expiry, or its last allowed view more than
    /// [`crate::video::LAST_VIEW_GRACE`] old: see [`crate::Access::ended`]) into a tombstone; returns their ids.
    async fn mark_ended(&self, now: DateTime<Utc>) -> Result<Vec<VideoId>, RepoError>;
    /// The tombstones and when each was made, oldest first: their blobs are to be removed, then the record.
    async fn tombstones(&self) -> Result<Vec<(VideoId, DateTime<Utc>)>, RepoError>;
    /// A secret shared by every process on this database (made from `fresh` the first time it is asked for).
    async fn secret(&self, name: &str, fresh: &[u8]) -> Result<Vec<u8>, RepoError>;
    /// Applies a partial update; returns false when the video no longer exists.
    async fn update_video(&self, id: VideoId, update: &VideoUpdate) -> Result<bool, RepoError>;
    /// Deletes the record for good (the end of a purge); returns false when there was none.
    async fn delete_video(&self, id: VideoId) -> Result<bool, RepoError>;
    /// Newest first, for the admin listing (tombstones left out).
    async fn list_videos(&self, limit: u32, offset: u32) -> Result<Vec<Video>, RepoError>;
    /// Ids of videos still `processing`, tombstones left out (start-up reconciliation re-enqueues them).
    async fn processing_video_ids(&self) -> Result<Vec<VideoId>, RepoError>;
    /// The caption tracks of a video, in the order they were added.
    async fn captions(&self, id: VideoId) -> Result<Vec<Caption>, RepoError>;
    /// Adds a caption track, or relabels the one of the same language. False (and nothing written) when the video is
    /// absent or a tombstone, or already has `max` tracks of other languages.
    async fn put_caption(&self, id: VideoId, caption: &Caption, max: u32) -> Result<bool, RepoError>;
    /// Removes a caption track; false when there was none.
    async fn delete_caption(&self, id: VideoId, lang: &str) -> Result<bool, RepoError>;
    /// Ids of `ready` videos that have no thumbnail (start-up self-healing).
    async fn ready_without_thumbnail(&self) -> Result<Vec<VideoId>, RepoError>;
    /// Inserts a record exactly as given (status, times and all), for `flick migrate`; a video with this id already
    /// there is left alone. Returns whether it inserted.
    async fn import_video(&self, video: &Video) -> Result<bool, RepoError>;
    /// Grants `bytes` to `uploader` (an opaque tag) if they fit in `budgets` (`unfinished`: they will be an unfinished
    /// resumable upload, which its own budget also bounds), recording the grant for the day; else says which budget
    /// they overrun. The check and the grant are one statement.
    async fn reserve_bytes(
        &self,
        uploader: &str,
        bytes: u64,
        unfinished: bool,
        budgets: &Budgets,
        now: DateTime<Utc>,
    ) -> Result<Result<(), OverBudget>, RepoError>;
    /// Forgets the grants made before `before` (a day has passed).
    async fn prune_grants(&self, before: DateTime<Utc>) -> Result<u64, RepoError>;
    /// Notes that someone started watching the video at `now` (written at most hourly per video).
    async fn touch_watched(&self, id: VideoId, now: DateTime<Utc>) -> Result<(), RepoError>;
    /// Makes tombstones of the finished videos (ready or failed) nobody started watching since `before` (nor
    /// uploaded since), for the retention policy; returns them.
    async fn mark_unwatched(&self, before: DateTime<Utc>, now: DateTime<Utc>) -> Result<Vec<VideoId>, RepoError>;
    /// Whether a record exists (used to sweep orphan blobs).
    async fn exists(&self, id: VideoId) -> Result<bool, RepoError> {
        Ok(self.get_video(id).await?.is_some())
    }
}
