//! Streaming a byte range of a local file.
//!
//! `tokio::fs::File` behind a `ReaderStream` costs a blocking-pool trip and a copy through tokio's own buffer for
//! every 64 KiB; a 6 MB segment made 96 of each. A file that never changes is mapped instead (one trip, no copy: the
//! socket is written from the page cache); one that may still be written is read in large chunks, each straight into
//! the buffer that is sent.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::PathBuf;

use bytes::Bytes;
use flick_domain::ports::ByteStream;

/// The largest read: big enough that a segment is a handful of trips, small enough that 64 viewers hold little memory.
const CHUNK: usize = 1024 * 1024;

/// Below this, a plain read costs less than setting up a mapping.
const MAP_AT_LEAST: u64 = 256 * 1024;

/// Exactly `len` bytes of an immutable `file` from `start`: mapped (and its pages faulted in on the blocking pool, so
/// that no async worker waits on the disk), or read when small.
///
/// Only for files that are never truncated or rewritten once readers can see them (blobs: written under a temporary
/// name, then renamed into place; deleted by unlinking, which leaves a mapping valid).
pub async fn immutable_range(file: File, start: u64, len: u64) -> io::Result<ByteStream> {
    if len < MAP_AT_LEAST {
        return Ok(range(file, start, len));
    }
    let map_len = usize::try_from(len).map_err(|_| io::Error::other("range too large to map"))?;
    let map = tokio::task::spawn_blocking(move || {
        // SAFETY: the mapping is read only, and the file is one no one truncates or writes once it can be read (see
        // above), so the mapped bytes stay valid and unchanged for as long as the mapping lives.
        unsafe { memmap2::MmapOptions::new().offset(start).len(map_len).populate().map(&file) }
    })
    .await
    .map_err(|e| io::Error::other(e.to_string()))??;
    Ok(Box::pin(futures_util::stream::iter([Ok(Bytes::from_owner(map))])))
}

/// Opens `path` and gives its length, in one blocking trip. `None` when it is absent or not a regular file.
pub async fn open(path: PathBuf) -> io::Result<Option<(File, u64)>> {
    tokio::task::spawn_blocking(move || {
        let file = match File::open(&path) {
            Ok(file) => file,
            Err(e) if is_absent(&e) => return Ok(None),
            Err(e) => return Err(e),
        };
        let meta = file.metadata()?;
        Ok(meta.is_file().then_some((file, meta.len())))
    })
    .await
    .unwrap_or_else(|e| Err(io::Error::other(e.to_string())))
}

/// Exactly `len` bytes of `file` from `start`, in chunks of at most [`CHUNK`]; a file shorter than that ends the
/// stream with an error (the length was announced). The stream owns the file: it moves its offset.
pub fn range(file: File, start: u64, len: u64) -> ByteStream {
    Box::pin(futures_util::stream::try_unfold((file, start, len), |(file, pos, left)| async move {
        if left == 0 {
            return Ok(None);
        }
        let want = usize::try_from(left).unwrap_or(usize::MAX).min(CHUNK);
        let (file, chunk) = tokio::task::spawn_blocking(move || {
            let chunk = read_at(&file, pos, want);
            (file, chunk)
        })
        .await
        .map_err(|e| io::Error::other(e.to_string()))?;
        let chunk = chunk?;
        let got = chunk.len() as u64;
        Ok(Some((chunk, (file, pos + got, left - got))))
    }))
}

/// Reads `want` bytes at `pos` (fewer only at the end of the file: then an error). `read_to_end` reads straight into
/// the buffer's spare capacity: nothing is zeroed first.
fn read_at(mut file: &File, pos: u64, want: usize) -> io::Result<Bytes> {
    file.seek(SeekFrom::Start(pos))?;
    let mut buf = Vec::with_capacity(want);
    file.take(want as u64).read_to_end(&mut buf)?;
    if buf.len() < want {
        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the file is shorter than announced"));
    }
    Ok(Bytes::from(buf))
}

/// Errors that mean "no such blob": the file or one of its directories is missing or is a file.
pub(crate) fn is_absent(e: &std::io::Error) -> bool {
    matches!(e.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory)
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt;

    use super::*;

    async fn collect(mut body: ByteStream) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        while let Some(chunk) = body.next().await {
            out.extend_from_slice(&chunk?);
        }
        Ok(out)
    }

    #[tokio::test]
    async fn reads_exactly_the_range_across_chunks_and_fails_past_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let data: Vec<u8> = (0..(CHUNK * 2 + 77)).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        let (file, len) = open(path.clone()).await.unwrap().unwrap();
        assert_eq!(len, data.len() as u64);
        let got = collect(range(file, 5, (CHUNK * 2) as u64)).await.unwrap();
        assert_eq!(got, &data[5..5 + CHUNK * 2]);
        let reopen = || async { open(path.clone()).await.unwrap().unwrap().0 };
        assert!(collect(range(reopen().await, 0, 0)).await.unwrap().is_empty());
        let err = collect(range(reopen().await, 10, data.len() as u64)).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        let mapped = collect(immutable_range(reopen().await, 3, (CHUNK + 9) as u64).await.unwrap()).await.unwrap();
        assert_eq!(mapped, &data[3..CHUNK + 12]);
        let small = collect(immutable_range(reopen().await, 1, 100).await.unwrap()).await.unwrap();
        assert_eq!(small, &data[1..101]);
        assert!(open(dir.path().join("absent")).await.unwrap().is_none());
        assert!(open(dir.path().to_path_buf()).await.unwrap().is_none(), "a folder is not a blob");
    }
}
