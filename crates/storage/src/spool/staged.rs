//! [`StagedSpool`]: an unfinished upload is a chain of parts in the blob store, `uploads/{id}/{offset}` (20 digits,
//! the transmission offset where the part starts), each stored before the offset that counts it is recorded, so the
//! next chunk may land on any API node and any node can read what has arrived. The record's offset is the truth: the
//! parts are found by walking from 0, each part's length leading to the next, up to the recorded offset. A part that
//! a crashed node stored without recording it starts at the recorded offset (the next chunk overwrites it) or lies
//! beyond the walk: neither is ever read. The last byte assembles the parts into `raw/{id}`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use async_trait::async_trait;
use flick_domain::VideoId;
use flick_domain::ports::{BlobKey, ByteRange, ByteStream, SpoolError, SpoolWriter, Store, UploadRecord, UploadSpool};
use futures_util::{StreamExt, TryStreamExt};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt, BufWriter};

use super::{STAGED_COMMIT_EVERY, STAGED_COMMIT_MIN_BYTES};
use crate::random::random_hex;

/// Uploads whose walked parts are remembered at once; past this the memory is simply cleared (a cache, not a truth).
const KNOWN_UPLOADS: usize = 1024;

/// Unfinished uploads staged in the blob store.
#[derive(Clone)]
pub struct StagedSpool {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn Store>,
    /// This node's folder for chunk files while a request is received.
    scratch: PathBuf,
    /// Parts walked so far per upload, as (start, length) in transmission order.
    known: Mutex<HashMap<VideoId, Vec<(u64, u64)>>>,
    /// The last chunk of an upload whose writer reached the end on this node: kept as a local file for
    /// [`UploadSpool::finish`] instead of being stored as a part and read back at once.
    last_chunk: Mutex<HashMap<VideoId, (u64, PathBuf)>>,
}

impl std::fmt::Debug for StagedSpool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StagedSpool").field("scratch", &self.inner.scratch).finish_non_exhaustive()
    }
}

impl StagedSpool {
    /// Parts in `store`; chunk files are received into `scratch` (this node's disk) before they are stored.
    pub fn new(store: Arc<dyn Store>, scratch: PathBuf) -> Self {
        let inner = Inner { store, scratch, known: Mutex::default(), last_chunk: Mutex::default() };
        StagedSpool { inner: Arc::new(inner) }
    }

    /// `uploads/{id}`: the folder of an upload's parts.
    pub fn folder(id: VideoId) -> BlobKey {
        // A VideoId is 32 hex digits: always a valid key.
        BlobKey::new(format!("uploads/{id}")).unwrap_or_else(|_| unreachable!("video ids are hex"))
    }

    /// `uploads/{id}/{offset}`: the part that starts at transmission offset `offset`.
    pub fn part(id: VideoId, offset: u64) -> BlobKey {
        BlobKey::new(format!("uploads/{id}/{offset:020}")).unwrap_or_else(|_| unreachable!("digits are a valid key"))
    }
}

impl Inner {
    /// The recorded parts in order, as (start, length), covering exactly `0..offset` of the transmission.
    async fn parts(&self, id: VideoId, offset: u64) -> Result<Vec<(u64, u64)>, SpoolError> {
        let mut parts = self.known.lock().unwrap_or_else(|p| p.into_inner()).get(&id).cloned().unwrap_or_default();
        let mut at = parts.last().map_or(0, |(start, len)| start + len);
        if at > offset {
            // A shorter walk than remembered (a reader behind): the remembered prefix answers it.
            parts.retain(|(start, _)| *start < offset);
            at = parts.last().map_or(0, |(start, len)| start + len);
        }
        while at < offset {
            let len = self.store.len(&StagedSpool::part(id, at)).await?.filter(|&n| n > 0).ok_or_else(|| {
                SpoolError::Inconsistent { id, detail: format!("no stored part at {at} of {offset} recorded bytes") }
            })?;
            parts.push((at, len));
            at += len;
        }
        if at != offset {
            return Err(SpoolError::Inconsistent { id, detail: format!("parts end at {at}, not at {offset}") });
        }
        let mut known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        if known.len() >= KNOWN_UPLOADS && !known.contains_key(&id) {
            known.clear();
        }
        let entry = known.entry(id).or_default();
        if parts.len() > entry.len() {
            *entry = parts.clone();
        }
        Ok(parts)
    }

    /// Streams transmission bytes `from..to` (inclusive of `from`, exclusive of `to`), which the parts stored so far
    /// cover up to `recorded`, or the local last chunk covers.
    async fn stream(&self, id: VideoId, recorded: u64, from: u64, to: u64) -> Result<ByteStream, SpoolError> {
        let last = self.last_chunk.lock().unwrap_or_else(|p| p.into_inner()).get(&id).cloned();
        let mut pieces: Vec<Piece> = Vec::new();
        let parts_end = last.as_ref().map_or(recorded, |(start, _)| *start);
        if from < parts_end.min(to) {
            for (start, len) in self.parts(id, parts_end).await? {
                let (lo, hi) = (from.max(start), to.min(start + len));
                if lo < hi {
                    pieces.push(Piece::Part { key: StagedSpool::part(id, start), range: (lo - start, hi - start) });
                }
            }
        }
        if let Some((start, path)) = last {
            let (lo, hi) = (from.max(start), to);
            if lo < hi {
                pieces.push(Piece::Local { path, range: (lo - start, hi - start) });
            }
        }
        let store = self.store.clone();
        let stream = futures_util::stream::iter(pieces)
            .then(move |piece| {
                let store = store.clone();
                async move { piece.open(store.as_ref()).await }
            })
            .try_flatten();
        Ok(Box::pin(stream))
    }
}

/// A run of bytes to read: from a stored part or a local chunk file, `range` = (start, end) within it.
enum Piece {
    Part { key: BlobKey, range: (u64, u64) },
    Local { path: PathBuf, range: (u64, u64) },
}

impl Piece {
    async fn open(self, store: &dyn Store) -> std::io::Result<ByteStream> {
        match self {
            Piece::Part { key, range: (start, end) } => {
                let range = ByteRange { start, end: end - 1 };
                match store.get(&key, Some(range)).await {
                    Ok(Some(blob)) => Ok(blob.body),
                    Ok(None) => Err(std::io::Error::new(std::io::ErrorKind::NotFound, format!("{key} vanished"))),
                    Err(e) => Err(std::io::Error::other(e.to_string())),
                }
            }
            Piece::Local { path, range: (start, end) } => {
                let mut file = tokio::fs::File::open(&path).await?;
                file.seek(std::io::SeekFrom::Start(start)).await?;
                Ok(Box::pin(tokio_util::io::ReaderStream::with_capacity(file.take(end - start), 64 * 1024)))
            }
        }
    }
}

#[async_trait]
impl UploadSpool for StagedSpool {
    async fn create(&self, _upload: &UploadRecord) -> Result<(), SpoolError> {
        // Nothing to prepare: the first part makes the folder.
        Ok(())
    }

    async fn reconcile(&self, upload: &UploadRecord) -> Result<u64, SpoolError> {
        // The record is the truth; a last chunk left by a request whose finishing failed is sent again.
        if let Some((_, path)) = self.inner.last_chunk.lock().unwrap_or_else(|p| p.into_inner()).remove(&upload.id) {
            let _ = std::fs::remove_file(path);
        }
        Ok(upload.offset)
    }

    async fn writer(&self, upload: &UploadRecord, offset: u64) -> Result<Box<dyn SpoolWriter>, SpoolError> {
        tokio::fs::create_dir_all(&self.inner.scratch).await?;
        let chunk = ChunkFile::create(&self.inner.scratch, upload.id).await?;
        Ok(Box::new(StagedWriter {
            inner: self.inner.clone(),
            id: upload.id,
            length: upload.length,
            // A part of a concatenation is read back by whichever node joins it: its last bytes go to the store too.
            keep_last: !upload.partial,
            chunk: Some(chunk),
            start: offset,
            written: offset,
            last_commit: Instant::now(),
        }))
    }

    async fn read(&self, upload: &UploadRecord, range: ByteRange) -> Result<ByteStream, SpoolError> {
        let layout = upload.layout();
        let mut streams = Vec::new();
        for t in layout.transmission_ranges(range.start..range.end.saturating_add(1)) {
            streams.push(self.inner.stream(upload.id, upload.offset, t.start, t.end).await?);
        }
        Ok(Box::pin(futures_util::stream::iter(streams).flatten()))
    }

    async fn finish(&self, upload: &UploadRecord, store: &dyn Store, key: &BlobKey) -> Result<(), SpoolError> {
        let id = upload.id;
        let whole = self.inner.scratch.join(format!("upload-{id}-{}.part", random_hex(8)?));
        let result = async {
            let mut out = BufWriter::with_capacity(1 << 20, tokio::fs::File::create_new(&whole).await?);
            let layout = upload.layout();
            let mut copied = 0;
            // File order: for an index-first upload, the start of the file was sent last.
            for t in layout.transmission_ranges(0..upload.length) {
                let mut body = self.inner.stream(id, upload.length, t.start, t.end).await?;
                while let Some(chunk) = body.next().await {
                    let chunk = chunk?;
                    copied += chunk.len() as u64;
                    out.write_all(&chunk).await?;
                }
            }
            if copied != upload.length {
                return Err(SpoolError::Inconsistent {
                    id,
                    detail: format!("the parts hold {copied} bytes, not the {} announced", upload.length),
                });
            }
            out.flush().await?;
            // What is acknowledged must be durable: the file is whole on disk before it goes to the store.
            out.into_inner().sync_all().await?;
            store.put_file(key, &whole).await?;
            Ok(())
        }
        .await;
        let _ = tokio::fs::remove_file(&whole).await;
        result?;
        if let Err(e) = self.remove(id).await {
            // The raw upload is whole in the store; leftover parts are removed with the video.
            tracing::warn!(video_id = %id, error = %e, "cannot delete the staged parts of a finished upload");
        }
        Ok(())
    }

    async fn remove(&self, id: VideoId) -> Result<(), SpoolError> {
        self.inner.known.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
        if let Some((_, path)) = self.inner.last_chunk.lock().unwrap_or_else(|p| p.into_inner()).remove(&id) {
            let _ = std::fs::remove_file(path);
        }
        self.inner.store.delete_prefix(&StagedSpool::folder(id)).await?;
        Ok(())
    }

    async fn list(&self) -> Result<Vec<VideoId>, SpoolError> {
        let names = self.inner.store.list(&BlobKey::new("uploads")?).await?;
        Ok(names.iter().filter_map(|n| VideoId::parse(n).ok()).collect())
    }
}

/// A local file one request's bytes are received into before they become a part; deleted on drop unless kept.
struct ChunkFile {
    path: PathBuf,
    out: BufWriter<tokio::fs::File>,
}

impl ChunkFile {
    async fn create(scratch: &std::path::Path, id: VideoId) -> Result<ChunkFile, SpoolError> {
        // `upload-` files are swept at start-up, should this process die with one open.
        let path = scratch.join(format!("upload-{id}-{}.chunk", random_hex(8)?));
        let file = tokio::fs::File::create_new(&path).await?;
        Ok(ChunkFile { path, out: BufWriter::with_capacity(256 * 1024, file) })
    }

    /// Flushes and syncs; the file then holds exactly what was written.
    async fn sync(&mut self) -> std::io::Result<()> {
        self.out.flush().await?;
        self.out.get_ref().sync_data().await
    }

    /// Hands the file over (it is no longer deleted on drop).
    fn keep(mut self) -> PathBuf {
        std::mem::take(&mut self.path)
    }
}

impl Drop for ChunkFile {
    fn drop(&mut self) {
        if !self.path.as_os_str().is_empty()
            && let Err(e) = std::fs::remove_file(&self.path)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(path = %self.path.display(), error = %e, "cannot remove a chunk file");
        }
    }
}

/// Receives one request's bytes into a chunk file; each commit stores the chunk as a part and starts a new one.
struct StagedWriter {
    inner: Arc<Inner>,
    id: VideoId,
    length: u64,
    /// Whether the last bytes stay on this node for [`UploadSpool::finish`].
    keep_last: bool,
    chunk: Option<ChunkFile>,
    /// Transmission offsets: where the current chunk starts, and how far it reaches.
    start: u64,
    written: u64,
    last_commit: Instant,
}

impl StagedWriter {
    fn chunk(&mut self) -> Result<&mut ChunkFile, SpoolError> {
        self.chunk
            .as_mut()
            .ok_or_else(|| SpoolError::Inconsistent { id: self.id, detail: "writer used after its end".into() })
    }
}

#[async_trait]
impl SpoolWriter for StagedWriter {
    async fn write(&mut self, bytes: &[u8]) -> Result<(), SpoolError> {
        self.chunk()?.out.write_all(bytes).await?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    fn commit_due(&self) -> bool {
        self.written - self.start >= STAGED_COMMIT_MIN_BYTES && self.last_commit.elapsed() >= STAGED_COMMIT_EVERY
    }

    async fn commit(&mut self) -> Result<u64, SpoolError> {
        if self.written == self.start {
            return Ok(self.written);
        }
        self.chunk()?.sync().await?;
        let Some(chunk) = self.chunk.take() else { return Ok(self.start) };
        if self.written == self.length && self.keep_last {
            // The last bytes: `finish` assembles from here, without a round trip through the store.
            let path = chunk.keep();
            self.inner.last_chunk.lock().unwrap_or_else(|p| p.into_inner()).insert(self.id, (self.start, path));
        } else {
            // Durable in the store before the offset that makes it count is recorded.
            self.inner.store.put_file(&StagedSpool::part(self.id, self.start), &chunk.path).await?;
            drop(chunk);
            self.chunk = Some(ChunkFile::create(&self.inner.scratch, self.id).await?);
        }
        self.start = self.written;
        self.last_commit = Instant::now();
        Ok(self.written)
    }

    async fn rollback(&mut self) -> Result<(), SpoolError> {
        if let Some(chunk) = self.chunk.as_mut() {
            let file = chunk.out.get_mut();
            file.set_len(0).await?;
            file.seek(std::io::SeekFrom::Start(0)).await?;
            let fresh = file.try_clone().await?;
            chunk.out = BufWriter::with_capacity(256 * 1024, fresh);
        }
        self.written = self.start;
        Ok(())
    }
}
