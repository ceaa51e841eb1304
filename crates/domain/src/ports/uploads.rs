use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::ids::VideoId;
use crate::layout::UploadLayout;
use crate::ports::RepoError;

/// An upload in progress (tus): how long it will be, how much of it is durably stored, and what
/// the finished video will be called and owned by.
#[derive(Debug, Clone, PartialEq)]
pub struct UploadRecord {
    /// The id the video gets when the upload completes.
    pub id: VideoId,
    /// The announced total length in bytes.
    pub length: u64,
    /// Bytes received and stored durably, counted in transmission order (see [`UploadLayout`]); the stored bytes may
    /// be more after a crash: they are cut back to this.
    pub offset: u64,
    /// Sent index first: the file's bytes from here to the end came first (`Flick-Index-Offset`).
    pub index_offset: Option<u64>,
    /// A part of a later concatenation (tus `Upload-Concat: partial`): no video of its own, never sniffed alone.
    pub partial: bool,
    /// The cleaned file name from `Upload-Metadata`, if the client gave one.
    pub file_name: Option<String>,
    /// The `Upload-Metadata` header as sent, echoed on `HEAD`.
    pub metadata: Option<String>,
    /// SHA-256 of the manage token handed out at creation; the video record takes it over.
    pub manage_token_hash: String,
    pub created_at: DateTime<Utc>,
    /// After this instant the unfinished upload is deleted.
    pub expires_at: DateTime<Utc>,
    /// The uploader's opaque tag: its unfinished bytes are capped.
    pub uploader: Option<String>,
}

impl UploadRecord {
    /// The order in which its bytes are sent.
    pub fn layout(&self) -> UploadLayout {
        UploadLayout::of(self.length, self.index_offset)
    }
}

/// Held while one request writes to an upload: no other request, on any process sharing the database, may write to
/// it meanwhile. Dropping it releases the lock.
pub struct UploadWriteLock {
    _held: Box<dyn std::any::Any + Send + Sync>,
}

impl UploadWriteLock {
    /// Wraps whatever keeps the lock held (the adapter's guard), which must release it when dropped.
    pub fn new(held: impl std::any::Any + Send + Sync) -> Self {
        UploadWriteLock { _held: Box::new(held) }
    }
}

impl std::fmt::Debug for UploadWriteLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UploadWriteLock").finish_non_exhaustive()
    }
}

/// Records of unfinished uploads (finished ones become videos in the [`Repo`](crate::ports::Repo)).
#[async_trait]
pub trait UploadRepo: Send + Sync + 'static {
    /// Records a new upload; [`RepoError::Duplicate`] if the id is taken.
    async fn create_upload(&self, upload: &UploadRecord) -> Result<(), RepoError>;
    /// The upload with this id, if any (expired ones included: the caller decides).
    async fn get_upload(&self, id: VideoId) -> Result<Option<UploadRecord>, RepoError>;
    /// Records a new durable offset and expiry; false when the upload no longer exists.
    async fn set_upload_offset(&self, id: VideoId, offset: u64, expires_at: DateTime<Utc>) -> Result<bool, RepoError>;
    /// Deletes the record; false when there was none.
    async fn delete_upload(&self, id: VideoId) -> Result<bool, RepoError>;
    /// Ids of uploads whose expiry is at or before `now`.
    async fn expired_uploads(&self, now: DateTime<Utc>) -> Result<Vec<VideoId>, RepoError>;
    /// Waits until the offset of some upload may have moved, or an upload ended, or `max` has passed: a hint for
    /// whoever follows an upload as it arrives (they read the record again). Every process sharing the database is
    /// woken, not only this one.
    async fn wait_for_progress(&self, max: Duration);
    /// Takes the upload's write lock, or `None` when another request (on any process) holds it. Never waits.
    async fn try_lock_upload(&self, id: VideoId) -> Result<Option<UploadWriteLock>, RepoError>;
    /// Whether an upload record with this id exists (used to sweep orphan partial files).
    async fn upload_exists(&self, id: VideoId) -> Result<bool, RepoError> {
        Ok(self.get_upload(id).await?.is_some())
    }
}
