use async_trait::async_trait;

use crate::ids::VideoId;
use crate::video::{NewVideo, Video, VideoUpdate};

/// A failure of the metadata repository (its details are for the log, not the client).
#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    #[error("metadata store unavailable: {0}")]
    Unavailable(String),
    #[error("stored record is corrupt: {0}")]
    Corrupt(String),
    #[error("a video with this id already exists")]
    Duplicate,
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
    /// The video with this id, if any.
    async fn get_video(&self, id: VideoId) -> Result<Option<Video>, RepoError>;
    /// Applies a partial update; returns false when the video no longer exists.
    async fn update_video(&self, id: VideoId, update: &VideoUpdate) -> Result<bool, RepoError>;
    /// Deletes the record; returns false when there was none.
    async fn delete_video(&self, id: VideoId) -> Result<bool, RepoError>;
    /// Newest first, for the admin listing.
    async fn list_videos(&self, limit: u32, offset: u32) -> Result<Vec<Video>, RepoError>;
    /// Ids of videos still `processing` (start-up reconciliation re-enqueues them).
    async fn processing_video_ids(&self) -> Result<Vec<VideoId>, RepoError>;
    /// Ids of `ready` videos that have no thumbnail (start-up self-healing).
    async fn ready_without_thumbnail(&self) -> Result<Vec<VideoId>, RepoError>;
    /// Inserts a record exactly as given (status, times and all), for `flick migrate`; a video with this id already
    /// there is left alone. Returns whether it inserted.
    async fn import_video(&self, video: &Video) -> Result<bool, RepoError>;
    /// Whether a record exists (used to sweep orphan blobs).
    async fn exists(&self, id: VideoId) -> Result<bool, RepoError> {
        Ok(self.get_video(id).await?.is_some())
    }
}
