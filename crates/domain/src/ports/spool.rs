use std::io;

use async_trait::async_trait;

use crate::ids::VideoId;
use crate::ports::store::{BlobKey, ByteRange, ByteStream, Store, StoreError};
use crate::ports::uploads::UploadRecord;

/// A failure of the upload spool.
#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    #[error("upload spool I/O error: {0}")]
    Io(#[from] io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The stored bytes do not match the record (a part is missing, a file vanished): not the client's fault.
    #[error("upload {id}: {detail}")]
    Inconsistent { id: VideoId, detail: String },
}

impl SpoolError {
    /// True when the bytes asked for are not (or no longer) in the spool: the upload finished (its file moved to
    /// the store) or was removed meanwhile.
    pub fn is_gone(&self) -> bool {
        match self {
            SpoolError::Io(e) => e.kind() == io::ErrorKind::NotFound,
            SpoolError::Store(StoreError::Io { source, .. }) => source.kind() == io::ErrorKind::NotFound,
            SpoolError::Inconsistent { .. } | SpoolError::Store(_) => false,
        }
    }
}

/// Where the bytes of unfinished resumable uploads wait until the last one arrives and the file becomes `raw/{id}`:
/// one file per upload on this machine's disk, or parts staged in the blob store so that API nodes sharing a bucket
/// can each take the next chunk. Offsets given to a writer count in transmission order; ranges given to
/// [`UploadSpool::read`] are ranges of the file (see [`crate::layout::UploadLayout`]).
#[async_trait]
pub trait UploadSpool: Send + Sync + 'static {
    /// Prepares the (empty) storage of a new upload, durably.
    async fn create(&self, upload: &UploadRecord) -> Result<(), SpoolError>;
    /// Brings the stored bytes and the recorded offset into agreement after a crash (a write that was never
    /// acknowledged is cut off); returns the offset to continue from, never more than the recorded one.
    /// Call only while holding the upload's write lock.
    async fn reconcile(&self, upload: &UploadRecord) -> Result<u64, SpoolError>;
    /// A writer that appends at transmission offset `offset` (the reconciled offset).
    async fn writer(&self, upload: &UploadRecord, offset: u64) -> Result<Box<dyn SpoolWriter>, SpoolError>;
    /// Streams the file bytes of `range`, which must lie within what the record says has been received.
    async fn read(&self, upload: &UploadRecord, range: ByteRange) -> Result<ByteStream, SpoolError>;
    /// Every byte has arrived: stores the whole file as the blob `key`, durably, and forgets the upload's bytes here.
    async fn finish(&self, upload: &UploadRecord, store: &dyn Store, key: &BlobKey) -> Result<(), SpoolError>;
    /// Deletes an upload's bytes; absent is fine.
    async fn remove(&self, id: VideoId) -> Result<(), SpoolError>;
    /// The uploads that have bytes here, to sweep those no record owns (a crash between the bytes and the record).
    async fn list(&self) -> Result<Vec<VideoId>, SpoolError>;
}

/// Receives one request's bytes of an upload. Nothing counts until [`SpoolWriter::commit`] says it is durable.
#[async_trait]
pub trait SpoolWriter: Send {
    /// Appends bytes after those written so far (buffered, not yet durable).
    async fn write(&mut self, bytes: &[u8]) -> Result<(), SpoolError>;
    /// Whether it is time to commit in the middle of a request: a commit costs (an fsync, a PUT), and what is
    /// committed can be watched at once, so each writer keeps its own pace.
    fn commit_due(&self) -> bool;
    /// Makes everything written so far durable; returns the transmission offset that is now durable.
    async fn commit(&mut self) -> Result<u64, SpoolError>;
    /// Forgets what was written since the last commit.
    async fn rollback(&mut self) -> Result<(), SpoolError>;
}
