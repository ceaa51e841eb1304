//! A video's original file, read while its upload is still arriving or once it is whole.

use std::ops::Range;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use flick_domain::VideoId;
use flick_domain::layout::Received;
use flick_domain::ports::{
    BlobKey, ByteRange, ByteStream, RepoError, SpoolError, Store, StoreError, UploadRecord, UploadRepo, UploadSpool,
};
use futures_util::StreamExt;

/// How long one wait for an upload's progress lasts before the record is read again (a wake-up may be missed when
/// another process records progress and its notification is lost).
const POLL: Duration = Duration::from_millis(500);
/// The most a small read ([`Original::read_to_vec`]) may ask for.
const MAX_SMALL_READ: u64 = 256 << 20;

/// Why the original could not be read.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// Neither an upload in progress nor a stored file: the video was deleted or its upload abandoned.
    #[error("the original is gone")]
    Gone,
    #[error("metadata: {0}")]
    Repo(#[from] RepoError),
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    #[error("upload spool: {0}")]
    Spool(#[from] SpoolError),
    #[error("reading the original: {0}")]
    Io(#[from] std::io::Error),
    #[error("the package is unusable: {0}")]
    Package(String),
    /// A segment's data is not what its package says (an H.264 sample whose NAL units run past its end...): the same
    /// on every try.
    #[error("the segment cannot be served: {0}")]
    Segment(#[from] flick_packaging::mp4::Mp4Error),
}

/// What has arrived of an original.
#[derive(Debug, Clone)]
// Short-lived (one per request), never stored in bulk: boxing the larger variant would buy nothing.
#[allow(clippy::large_enum_variant)]
pub enum Arrived {
    /// The upload is still running: these bytes of the file are durable.
    Partly { upload: UploadRecord, received: Received },
    /// Whole, in the store as `raw/{id}`.
    Whole,
}

impl Arrived {
    /// Whether every byte of the file range `range` has arrived.
    pub fn contains(&self, range: Range<u64>) -> bool {
        match self {
            Arrived::Partly { received, .. } => received.contains(range),
            Arrived::Whole => true,
        }
    }

    /// Whether the upload is complete.
    pub fn is_whole(&self) -> bool {
        matches!(self, Arrived::Whole)
    }

    /// Bytes received so far, in transmission order (`None` once whole).
    pub fn received_bytes(&self) -> Option<u64> {
        match self {
            Arrived::Partly { upload, .. } => Some(upload.offset),
            Arrived::Whole => None,
        }
    }

    /// How many bytes from the file's start have all arrived (`length` once whole).
    pub fn prefix_len(&self, length: u64) -> u64 {
        match self {
            Arrived::Partly { received, .. } => received.prefix_len(),
            Arrived::Whole => length,
        }
    }
}

/// The original of video `id`, a file of `length` bytes.
#[derive(Clone)]
pub struct Original {
    id: VideoId,
    length: u64,
    uploads: Arc<dyn UploadRepo>,
    spool: Arc<dyn UploadSpool>,
    store: Arc<dyn Store>,
}

impl Original {
    pub fn new(
        id: VideoId,
        length: u64,
        uploads: Arc<dyn UploadRepo>,
        spool: Arc<dyn UploadSpool>,
        store: Arc<dyn Store>,
    ) -> Self {
        Original { id, length, uploads, spool, store }
    }

    pub fn id(&self) -> VideoId {
        self.id
    }

    pub fn len(&self) -> u64 {
        self.length
    }

    pub fn is_empty(&self) -> bool {
        self.length == 0
    }

    /// What has arrived now. Without an upload record the upload is complete, when its file is in the store;
    /// otherwise it was abandoned or deleted: [`StreamError::Gone`]. (Whoever knows the upload is complete, from the
    /// video's status, can take [`Arrived::Whole`] without asking.)
    pub async fn arrived(&self) -> Result<Arrived, StreamError> {
        match self.uploads.get_upload(self.id).await? {
            Some(upload) => {
                let received = upload.layout().received(upload.offset);
                Ok(Arrived::Partly { upload, received })
            }
            None if self.store.len(&BlobKey::raw(self.id)).await?.is_some() => Ok(Arrived::Whole),
            None => Err(StreamError::Gone),
        }
    }

    /// Streams the file bytes of `range` (inclusive), which `arrived` says have arrived.
    pub async fn read(&self, arrived: &Arrived, range: ByteRange) -> Result<ByteStream, StreamError> {
        if let Arrived::Partly { upload, .. } = arrived {
            match self.spool.read(upload, range).await {
                Ok(body) => return Ok(body),
                // Completed meanwhile: the file moved to the store.
                Err(e) if e.is_gone() => {}
                Err(e) => return Err(e.into()),
            }
        }
        match self.store.get(&BlobKey::raw(self.id), Some(range)).await? {
            Some(blob) => Ok(blob.body),
            None => Err(StreamError::Gone),
        }
    }

    /// The bytes of the file range `range` (a box header, an index), once they have arrived: waits as long as the
    /// upload keeps moving (or `patience` passes without progress: `None`).
    pub async fn read_to_vec(
        &self,
        range: Range<u64>,
        patience: Option<Duration>,
    ) -> Result<Option<Vec<u8>>, StreamError> {
        let range = range.start.min(self.length)..range.end.min(self.length);
        if range.is_empty() {
            return Ok(Some(Vec::new()));
        }
        if range.end - range.start > MAX_SMALL_READ {
            return Err(StreamError::Io(std::io::Error::other("read too large")));
        }
        let Some(arrived) = self.wait_for(range.clone(), patience).await? else { return Ok(None) };
        let mut body = self.read(&arrived, ByteRange { start: range.start, end: range.end - 1 }).await?;
        let mut out = Vec::with_capacity((range.end - range.start) as usize);
        while let Some(chunk) = body.next().await {
            out.extend_from_slice(&chunk?);
        }
        if out.len() as u64 != range.end - range.start {
            return Err(StreamError::Io(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "short read")));
        }
        Ok(Some(out))
    }

    /// Waits until every byte of `range` has arrived. `None` when `patience` passed without the upload moving (never
    /// with `None` patience: then it waits as long as the upload lives).
    pub async fn wait_for(
        &self,
        range: Range<u64>,
        patience: Option<Duration>,
    ) -> Result<Option<Arrived>, StreamError> {
        let mut last = (None, Instant::now());
        loop {
            let arrived = self.arrived().await?;
            if arrived.contains(range.clone()) {
                return Ok(Some(arrived));
            }
            let offset = arrived.received_bytes();
            if offset != last.0 {
                last = (offset, Instant::now());
            } else if patience.is_some_and(|p| last.1.elapsed() >= p) {
                return Ok(None);
            }
            let left = patience.map_or(POLL, |p| p.saturating_sub(last.1.elapsed()).min(POLL));
            self.uploads.wait_for_progress(left.max(Duration::from_millis(10))).await;
        }
    }

    /// The whole file from its first byte, in order, as it arrives: what ffmpeg reads from its standard input while
    /// the upload runs. Ends at the file's last byte; fails if the upload is abandoned.
    pub fn in_order(&self) -> ByteStream {
        let me = self.clone();
        let stream =
            futures_util::stream::unfold((me, 0u64, None::<ByteStream>), |(me, mut pos, mut body)| async move {
                loop {
                    if let Some(b) = body.as_mut() {
                        match b.next().await {
                            Some(Ok(chunk)) => {
                                pos += chunk.len() as u64;
                                return Some((Ok(chunk), (me, pos, body)));
                            }
                            Some(Err(e)) => return Some((Err(e), (me, u64::MAX, None))),
                            None => {}
                        }
                    }
                    if pos >= me.length {
                        return None;
                    }
                    let next = async {
                        let arrived = me.wait_for(pos..pos + 1, None).await?.ok_or(StreamError::Gone)?;
                        let end = arrived.prefix_len(me.length);
                        me.read(&arrived, ByteRange { start: pos, end: end - 1 }).await
                    };
                    match next.await {
                        Ok(b) => body = Some(b),
                        // The stream ends with the error: ffmpeg sees a truncated input and the job fails.
                        Err(e) => return Some((Err(std::io::Error::other(e.to_string())), (me, u64::MAX, None))),
                    }
                }
            });
        Box::pin(stream)
    }
}

/// Bytes already in memory, as a stream (a segment's header).
pub(crate) fn bytes_stream(bytes: Bytes) -> ByteStream {
    Box::pin(futures_util::stream::iter([Ok(bytes)]))
}
