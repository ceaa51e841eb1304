//! The boundaries that have (or will have) more than one implementation.
//!
//! - [`Repo`]: video records (SQLite now, PostgreSQL later).
//! - [`UploadRepo`]: resumable (tus) uploads in progress, beside the video records.
//! - [`Store`]: blobs — raw uploads, HLS files, thumbnails (local disk now, S3-compatible later).
//! - [`JobQueue`]: processing jobs with leases and retries (database-backed; separate workers later).
//! - [`UploadSpool`]: the bytes of unfinished uploads (files on this machine, or parts staged in the store).

mod queue;
mod repo;
mod spool;
mod store;
mod uploads;

pub use queue::{Job, JobKind, JobOutcome, JobQueue, Pool, QueueError, QueueStats};
pub use repo::{Budgets, OverBudget, Repo, RepoError};
pub use spool::{SpoolError, SpoolWriter, UploadSpool};
pub use store::{Blob, BlobKey, ByteRange, ByteStream, Store, StoreError, is_rendition_name};
pub use uploads::{UploadRecord, UploadRepo, UploadWriteLock};
