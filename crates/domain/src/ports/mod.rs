//! The boundaries that have (or will have) more than one implementation.
//!
//! - [`Repo`]: video records (SQLite now, PostgreSQL later).
//! - [`UploadRepo`]: resumable (tus) uploads in progress, beside the video records.
//! - [`Store`]: blobs — raw uploads, HLS files, thumbnails (local disk now, S3-compatible later).
//! - [`JobQueue`]: processing jobs with leases and retries (database-backed; separate workers later).

mod queue;
mod repo;
mod store;
mod uploads;

pub use queue::{Job, JobKind, JobOutcome, JobQueue, QueueError, QueueStats};
pub use repo::{Repo, RepoError};
pub use store::{Blob, BlobKey, ByteRange, Store, StoreError};
pub use uploads::{UploadRecord, UploadRepo, UploadWriteLock};
