//! [`LocalSpool`]: an unfinished upload is the file `{dir}/tus-{id}.part`, written at the file offsets its bytes
//! belong to (an index-first upload fills the file's tail first, then its start: the file is sparse meanwhile), and
//! renamed into the store as `raw/{id}` when the last byte arrives.

use std::io::SeekFrom;
use std::path::{Path, PathBuf};
use std::time::Instant;

use async_trait::async_trait;
use flick_domain::VideoId;
use flick_domain::layout::UploadLayout;
use flick_domain::ports::{BlobKey, ByteRange, ByteStream, SpoolError, SpoolWriter, Store, UploadRecord, UploadSpool};
use tokio::io::{AsyncSeekExt, AsyncWriteExt, BufWriter};

use super::{LOCAL_COMMIT_EVERY, LOCAL_COMMIT_MIN_BYTES};

/// File name prefix and suffix of an unfinished upload in the spool folder.
const PREFIX: &str = "tus-";
const SUFFIX: &str = ".part";

/// Unfinished uploads as files in one folder of this machine (the blob store's scratch folder, so that finishing is a
/// rename).
#[derive(Debug, Clone)]
pub struct LocalSpool {
    dir: PathBuf,
}

impl LocalSpool {
    pub fn new(dir: PathBuf) -> Self {
        LocalSpool { dir }
    }

    /// The file of upload `id`.
    pub fn path_of(&self, id: VideoId) -> PathBuf {
        self.dir.join(format!("{PREFIX}{id}{SUFFIX}"))
    }

    /// The upload a file name of the spool belongs to, if it is one.
    pub fn id_of(file_name: &str) -> Option<VideoId> {
        VideoId::parse(file_name.strip_prefix(PREFIX)?.strip_suffix(SUFFIX)?).ok()
    }
}

#[async_trait]
impl UploadSpool for LocalSpool {
    async fn create(&self, upload: &UploadRecord) -> Result<(), SpoolError> {
        tokio::fs::create_dir_all(&self.dir).await?;
        let file = tokio::fs::OpenOptions::new().write(true).create_new(true).open(self.path_of(upload.id)).await?;
        file.sync_all().await?;
        tokio::fs::File::open(&self.dir).await?.sync_all().await?;
        Ok(())
    }

    async fn reconcile(&self, upload: &UploadRecord) -> Result<u64, SpoolError> {
        let path = self.path_of(upload.id);
        let len = match tokio::fs::metadata(&path).await {
            Ok(meta) => meta.len(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(e.into()),
        };
        let layout = upload.layout();
        let recorded = upload.offset.min(upload.length);
        if layout.index_offset().is_some() {
            // Bytes are written where they belong, so an unacknowledged write is simply overwritten when the client
            // sends those bytes again. Only a file too short for what was recorded (its tail lost) restarts it.
            let needed = if recorded == 0 {
                0
            } else if recorded <= layout.tail_len() {
                layout.file_offset(recorded - 1) + 1
            } else {
                upload.length
            };
            if len < needed {
                tracing::warn!(video_id = %upload.id, len, recorded, "partial upload lost bytes; restarting it");
                truncate(&path, 0).await?;
                return Ok(0);
            }
            return Ok(recorded);
        }
        if len > recorded {
            tracing::info!(video_id = %upload.id, len, recorded, "cutting a torn write back to the recorded offset");
            truncate(&path, recorded).await?;
            Ok(recorded)
        } else {
            if len < recorded {
                tracing::warn!(video_id = %upload.id, len, recorded, "partial upload is shorter than recorded");
            }
            Ok(len)
        }
    }

    async fn writer(&self, upload: &UploadRecord, offset: u64) -> Result<Box<dyn SpoolWriter>, SpoolError> {
        let file = tokio::fs::OpenOptions::new().write(true).open(self.path_of(upload.id)).await?;
        let layout = upload.layout();
        let mut out = BufWriter::with_capacity(256 * 1024, file);
        out.seek(SeekFrom::Start(layout.file_offset(offset))).await?;
        Ok(Box::new(LocalWriter { out, layout, committed: offset, written: offset, last_commit: Instant::now() }))
    }

    async fn read(&self, upload: &UploadRecord, range: ByteRange) -> Result<ByteStream, SpoolError> {
        let path = self.path_of(upload.id);
        let Some((file, _)) = crate::file_read::open(path).await? else {
            return Err(std::io::Error::from(std::io::ErrorKind::NotFound).into());
        };
        let len = range.end.saturating_sub(range.start).saturating_add(1);
        Ok(crate::file_read::range(file, range.start, len))
    }

    async fn finish(&self, upload: &UploadRecord, store: &dyn Store, key: &BlobKey) -> Result<(), SpoolError> {
        let path = self.path_of(upload.id);
        let len = tokio::fs::metadata(&path).await?.len();
        if len != upload.length {
            return Err(SpoolError::Inconsistent {
                id: upload.id,
                detail: format!("the file holds {len} bytes, not the {} announced", upload.length),
            });
        }
        // The store syncs the file before the name readers trust points at it (a rename on the same disk).
        store.put_file(key, &path).await?;
        Ok(())
    }

    async fn remove(&self, id: VideoId) -> Result<(), SpoolError> {
        match tokio::fs::remove_file(self.path_of(id)).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }

    async fn list(&self) -> Result<Vec<VideoId>, SpoolError> {
        let mut entries = match tokio::fs::read_dir(&self.dir).await {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        };
        let mut ids = Vec::new();
        while let Some(entry) = entries.next_entry().await? {
            if let Some(id) = entry.file_name().to_str().and_then(LocalSpool::id_of) {
                ids.push(id);
            }
        }
        Ok(ids)
    }
}

/// Cuts the file back to `len` bytes, durably.
async fn truncate(path: &Path, len: u64) -> std::io::Result<()> {
    let file = tokio::fs::OpenOptions::new().write(true).open(path).await?;
    file.set_len(len).await?;
    file.sync_all().await
}

/// Writes one request's bytes into the upload's file, where each belongs.
struct LocalWriter {
    out: BufWriter<tokio::fs::File>,
    layout: UploadLayout,
    /// Transmission offsets: durable, and written (durable or not).
    committed: u64,
    written: u64,
    last_commit: Instant,
}

#[async_trait]
impl SpoolWriter for LocalWriter {
    async fn write(&mut self, mut bytes: &[u8]) -> Result<(), SpoolError> {
        while !bytes.is_empty() {
            let wrap = self.layout.tail_len();
            // The tail of an index-first upload ends at the file's end; the next byte goes to the file's start.
            let room = if self.written < wrap { wrap - self.written } else { u64::MAX };
            let take = usize::try_from(room).unwrap_or(usize::MAX).min(bytes.len());
            self.out.write_all(&bytes[..take]).await?;
            self.written += take as u64;
            bytes = &bytes[take..];
            if self.written == wrap && wrap > 0 {
                self.out.flush().await?;
                self.out.seek(SeekFrom::Start(0)).await?;
            }
        }
        Ok(())
    }

    fn commit_due(&self) -> bool {
        self.written - self.committed >= LOCAL_COMMIT_MIN_BYTES && self.last_commit.elapsed() >= LOCAL_COMMIT_EVERY
    }

    async fn commit(&mut self) -> Result<u64, SpoolError> {
        self.out.flush().await?;
        // "What Flick acknowledges, it keeps": on disk before the offset that counts it is recorded.
        self.out.get_ref().sync_data().await?;
        self.committed = self.written;
        self.last_commit = Instant::now();
        Ok(self.committed)
    }

    async fn rollback(&mut self) -> Result<(), SpoolError> {
        // Drop what the buffer still holds, then cut what reached the file (front to back: it is the file's end; an
        // index-first upload's bytes are overwritten when they are sent again).
        let file = self.out.get_mut();
        if self.layout.index_offset().is_none() {
            file.set_len(self.committed).await?;
            file.sync_all().await?;
        }
        let position = self.layout.file_offset(self.committed);
        let fresh = file.try_clone().await?;
        self.out = BufWriter::with_capacity(256 * 1024, fresh);
        self.out.seek(SeekFrom::Start(position)).await?;
        self.written = self.committed;
        Ok(())
    }
}
