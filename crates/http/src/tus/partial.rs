//! The partial file of a tus upload, `{scratch}/tus-{id}.part`: created durably, appended to with an fsync
//! before any offset is recorded, cut back when a chunk is refused or a crash tore the last write.

use std::io::SeekFrom;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use flick_domain::VideoId;
use flick_domain::upload::{Container, SNIFF_LEN, sniff};
use futures_util::{Stream, StreamExt};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

use super::headers::Checksum;

/// File name prefix of partial tus uploads in the scratch folder.
pub const PREFIX: &str = "tus-";
/// File name suffix of partial tus uploads.
pub const SUFFIX: &str = ".part";

/// Why a chunk was not (wholly) stored.
#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    #[error("the chunk goes past the announced Upload-Length")]
    BeyondLength,
    #[error("the chunk does not match its checksum")]
    ChecksumMismatch,
    #[error("the first bytes are not a video container")]
    NotAVideo,
    /// The body ended early; `kept` is the durable offset now (the previous one when the chunk was discarded).
    #[error("the request body ended early")]
    Interrupted { kept: u64 },
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// The partial file of upload `id`.
pub fn path_of(scratch: &Path, id: VideoId) -> PathBuf {
    scratch.join(format!("{PREFIX}{id}{SUFFIX}"))
}

/// The upload id a scratch file name belongs to, if it is a partial tus upload.
pub fn id_of(file_name: &str) -> Option<VideoId> {
    VideoId::parse(file_name.strip_prefix(PREFIX)?.strip_suffix(SUFFIX)?).ok()
}

/// Creates the empty partial file and makes its directory entry durable.
pub async fn create(path: &Path) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        tokio::fs::create_dir_all(dir).await?;
    }
    let file = tokio::fs::OpenOptions::new().write(true).create_new(true).open(path).await?;
    file.sync_all().await?;
    if let Some(dir) = path.parent() {
        tokio::fs::File::open(dir).await?.sync_all().await?;
    }
    Ok(())
}

/// Removes the partial file; absent is fine.
pub async fn remove(path: &Path) -> std::io::Result<()> {
    match tokio::fs::remove_file(path).await {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Brings the file and the recorded offset into agreement after a crash; returns the offset to use.
/// A longer file holds a write that was never acknowledged (cut it back); a shorter one lost its tail
/// (the offset falls back to what is really there). Only call while holding the upload's lock.
pub async fn reconcile(path: &Path, recorded: u64) -> std::io::Result<u64> {
    let len = match tokio::fs::metadata(path).await {
        Ok(meta) => meta.len(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
        Err(e) => return Err(e),
    };
    if len > recorded {
        tracing::info!(file = %path.display(), len, recorded, "cutting a torn write back to the recorded offset");
        truncate(path, recorded).await?;
        Ok(recorded)
    } else {
        if len < recorded {
            tracing::warn!(file = %path.display(), len, recorded, "partial upload is shorter than recorded");
        }
        Ok(len)
    }
}

/// Cuts the file back to `len` bytes, durably.
async fn truncate(path: &Path, len: u64) -> std::io::Result<()> {
    let file = tokio::fs::OpenOptions::new().write(true).open(path).await?;
    file.set_len(len).await?;
    file.sync_all().await
}

/// The first bytes of the file, as many as the sniffer wants (fewer if the upload is shorter).
pub async fn read_head(path: &Path, len: u64) -> std::io::Result<Vec<u8>> {
    let want = sniff_len(len);
    let mut head = vec![0u8; want];
    let mut file = tokio::fs::File::open(path).await?;
    file.read_exact(&mut head).await?;
    Ok(head)
}

/// How many leading bytes decide the container of an upload of `length` bytes.
pub fn sniff_len(length: u64) -> usize {
    usize::try_from(length).map_or(SNIFF_LEN, |l| l.min(SNIFF_LEN))
}

/// Recognises the container from the head, or refuses.
pub fn container_of(head: &[u8]) -> Result<Container, AppendError> {
    sniff(head).ok_or(AppendError::NotAVideo)
}

/// Where a chunk starts: at `offset` in the upload and at `file_pos` in the file it is written to (the same in the
/// partial file of a local upload, 0 in the chunk file of a staged one). `head` holds the upload's bytes before
/// `offset` that the container sniffer still needs (empty when `offset` is 0 or past them).
pub struct ChunkStart {
    pub offset: u64,
    pub file_pos: u64,
    pub head: Vec<u8>,
}

impl ChunkStart {
    /// A chunk appended to the whole partial file at `path`.
    pub async fn in_partial_file(path: &Path, offset: u64, length: u64) -> std::io::Result<ChunkStart> {
        let head = if (offset as usize) < sniff_len(length) && offset > 0 {
            read_head(path, offset).await?
        } else {
            Vec::new()
        };
        Ok(ChunkStart { offset, file_pos: offset, head })
    }
}

/// Appends `body` at `start` (which the caller has checked against the file), up to `length` in total.
/// The container is sniffed as soon as its first bytes are there. On success the new bytes are fsynced and
/// the new offset returned; a refused chunk is cut off again, so the file ends where it started.
pub async fn append<S, E>(
    path: &Path,
    start: ChunkStart,
    length: u64,
    body: S,
    mut checksum: Option<Checksum>,
) -> Result<u64, AppendError>
where
    S: Stream<Item = Result<Bytes, E>>,
    E: std::fmt::Display,
{
    let ChunkStart { offset, file_pos, mut head } = start;
    let mut file = tokio::fs::OpenOptions::new().write(true).create(true).truncate(false).open(path).await?;
    file.seek(SeekFrom::Start(file_pos)).await?;
    let need = sniff_len(length);
    let mut out = tokio::io::BufWriter::with_capacity(256 * 1024, file);
    let mut at = offset;
    let mut body = std::pin::pin!(body);
    let result = async {
        while let Some(chunk) = body.next().await {
            let chunk = match chunk {
                Ok(c) => c,
                Err(e) => {
                    tracing::info!(error = %e, "tus chunk ended early");
                    return Ok(false);
                }
            };
            if chunk.len() as u64 > length - at {
                return Err(AppendError::BeyondLength);
            }
            if (at as usize) < need {
                let take = (need - at as usize).min(chunk.len());
                head.extend_from_slice(&chunk[..take]);
                if head.len() >= need {
                    container_of(&head)?;
                }
            }
            if let Some(c) = checksum.as_mut() {
                c.update(&chunk);
            }
            out.write_all(&chunk).await?;
            at += chunk.len() as u64;
        }
        Ok(true)
    }
    .await;
    let flushed = out.flush().await;
    let file = out.into_inner();
    let discard = async |error: AppendError| -> Result<u64, AppendError> {
        file.set_len(file_pos).await?;
        file.sync_all().await?;
        Err(error)
    };
    match result {
        Err(e) => discard(e).await,
        Ok(complete) => {
            flushed?;
            if let Some(c) = checksum {
                // An unverifiable (cut) chunk is as untrustworthy as a wrong one.
                if !complete {
                    return discard(AppendError::Interrupted { kept: offset }).await;
                }
                if !c.matches() {
                    return discard(AppendError::ChecksumMismatch).await;
                }
            }
            // "What Flick acknowledges, it keeps": the bytes are on disk before the offset is recorded.
            file.sync_data().await?;
            if complete { Ok(at) } else { Err(AppendError::Interrupted { kept: at }) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(chunks: &[&'static [u8]]) -> impl Stream<Item = Result<Bytes, std::io::Error>> {
        futures_util::stream::iter(chunks.iter().map(|c| Ok(Bytes::from_static(c))).collect::<Vec<_>>())
    }

    async fn at(path: &Path, offset: u64) -> ChunkStart {
        ChunkStart::in_partial_file(path, offset, 100).await.unwrap()
    }

    fn mp4_head() -> Vec<u8> {
        let mut v = vec![0, 0, 0, 0x20];
        v.extend_from_slice(b"ftypisom");
        v.resize(80, 0);
        v
    }

    #[tokio::test]
    async fn appends_sniffs_and_cuts_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tus-x.part");
        create(&path).await.unwrap();
        let head: &'static [u8] = Box::leak(mp4_head().into_boxed_slice());
        // Split the sniffed head across two chunks.
        assert_eq!(append(&path, at(&path, 0).await, 100, body(&[&head[..10]]), None).await.unwrap(), 10);
        assert_eq!(append(&path, at(&path, 10).await, 100, body(&[&head[10..]]), None).await.unwrap(), 80);
        assert!(matches!(
            append(&path, at(&path, 80).await, 100, body(&[&[0u8; 21]]), None).await,
            Err(AppendError::BeyondLength)
        ));
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 80);
        // A torn write is cut back to the recorded offset; a lost tail lowers the offset.
        std::fs::write(&path, [head, &[1u8; 5]].concat()).unwrap();
        assert_eq!(reconcile(&path, 80).await.unwrap(), 80);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 80);
        assert_eq!(reconcile(&path, 90).await.unwrap(), 80);

        let text = dir.path().join("tus-y.part");
        create(&text).await.unwrap();
        let long: &'static [u8] = &[b'a'; 70];
        assert!(matches!(
            append(&text, at(&text, 0).await, 1000, body(&[long]), None).await,
            Err(AppendError::NotAVideo)
        ));
        assert_eq!(std::fs::metadata(&text).unwrap().len(), 0);
    }

    #[tokio::test]
    async fn a_staged_chunk_is_sniffed_with_the_head_stored_before_it() {
        let dir = tempfile::tempdir().unwrap();
        let head: &'static [u8] = Box::leak(mp4_head().into_boxed_slice());
        // The upload's first 10 bytes live elsewhere (a stored part); this chunk file starts at upload offset 10.
        let chunk = dir.path().join("upload-x.chunk");
        let start = ChunkStart { offset: 10, file_pos: 0, head: head[..10].to_vec() };
        assert_eq!(append(&chunk, start, 100, body(&[&head[10..]]), None).await.unwrap(), 80);
        assert_eq!(std::fs::read(&chunk).unwrap(), &head[10..], "the file holds only this chunk");
        // Without the right head the same bytes are refused, and the chunk file is cut back to empty.
        let other = dir.path().join("upload-y.chunk");
        let start = ChunkStart { offset: 10, file_pos: 0, head: b"not a vid!".to_vec() };
        assert!(matches!(append(&other, start, 100, body(&[&head[10..]]), None).await, Err(AppendError::NotAVideo)));
        assert_eq!(std::fs::metadata(&other).unwrap().len(), 0);
    }
}
