use std::fmt;
use std::path::Path;
use std::pin::Pin;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::Stream;

use crate::ids::VideoId;

/// A failure of the blob store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("blob store I/O error on {key}: {source}")]
    Io { key: String, source: std::io::Error },
    #[error("invalid blob key {0:?}")]
    InvalidKey(String),
    #[error("requested range is not satisfiable")]
    RangeNotSatisfiable { total_len: u64 },
}

/// Whether `s` names a lower rendition's folder: `r` and 2 to 4 digits (`r360`, `r1080`).
pub fn is_rendition_name(s: &str) -> bool {
    s.len() >= 3 && s.len() <= 5 && s.starts_with('r') && s[1..].bytes().all(|b| b.is_ascii_digit())
}

/// A validated key in the blob store: `/`-separated parts of `[A-Za-z0-9._-]`, none empty, none `.` or `..`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct BlobKey(String);

impl BlobKey {
    /// Validates a key; refuses anything that could escape its prefix.
    pub fn new(key: impl Into<String>) -> Result<Self, StoreError> {
        let key = key.into();
        let ok = !key.is_empty()
            && key.len() <= 512
            && key.split('/').all(|part| {
                !part.is_empty()
                    && part != "."
                    && part != ".."
                    && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
            });
        if ok { Ok(BlobKey(key)) } else { Err(StoreError::InvalidKey(key)) }
    }

    /// `raw/{id}`: the upload as received.
    pub fn raw(id: VideoId) -> Self {
        BlobKey(format!("raw/{id}"))
    }

    /// `hls/{id}/`: the prefix of a video's HLS files.
    pub fn hls_prefix(id: VideoId) -> Self {
        BlobKey(format!("hls/{id}"))
    }

    /// `hls/{id}/{name}` for a file name that is itself a valid single key part.
    pub fn hls_file(id: VideoId, name: &str) -> Result<Self, StoreError> {
        if name.contains('/') {
            return Err(StoreError::InvalidKey(name.to_owned()));
        }
        BlobKey::new(format!("hls/{id}/{name}"))
    }

    /// `hls/{id}/{rendition}/{name}`: a file of a lower rendition (`rendition` is `r` and its height, `r360`).
    pub fn rendition_file(id: VideoId, rendition: &str, name: &str) -> Result<Self, StoreError> {
        if !is_rendition_name(rendition) || name.contains('/') {
            return Err(StoreError::InvalidKey(format!("{rendition}/{name}")));
        }
        BlobKey::new(format!("hls/{id}/{rendition}/{name}"))
    }

    /// `hls/{id}/renditions.m3u8`: the master playlist entries of a video's lower renditions that are complete (written
    /// by the ladder workers, appended to the master playlist when it is served).
    pub fn renditions(id: VideoId) -> Self {
        BlobKey(format!("hls/{id}/renditions.m3u8"))
    }

    /// `hls/{id}/captions/{lang}.vtt`: a caption track's cues (a language tag checked by [`crate::Caption::new`]).
    pub fn caption(id: VideoId, lang: &str) -> Result<Self, StoreError> {
        BlobKey::new(format!("hls/{id}/captions/{lang}.vtt"))
    }

    /// `hls/{id}/download.mp4`: what viewers download of a video whose original is gone.
    pub fn download(id: VideoId) -> Self {
        BlobKey(format!("hls/{id}/download.mp4"))
    }

    /// `thumbs/{id}.jpg`.
    pub fn thumbnail(id: VideoId) -> Self {
        BlobKey(format!("thumbs/{id}.jpg"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BlobKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for BlobKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlobKey({})", self.0)
    }
}

/// An inclusive byte range `start..=end`, already checked against the blob's length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    pub start: u64,
    pub end: u64,
}

/// Bytes being read, chunk by chunk.
pub type ByteStream = Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send>>;

/// A blob being read: its total length and a stream of the requested bytes.
pub struct Blob {
    pub total_len: u64,
    /// The range this body covers (`None`: the whole blob).
    pub range: Option<ByteRange>,
    pub body: ByteStream,
}

/// Where blobs live. Writes are atomic: a reader sees a whole blob or none.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Moves a complete local file into the store under `key`, durably (fsync) and atomically.
    /// The local file is consumed. The file must live on the scratch area this store handed out.
    async fn put_file(&self, key: &BlobKey, local: &Path) -> Result<(), StoreError>;
    /// Writes `bytes` under `key`, durably and atomically (replacing any previous blob).
    async fn put_bytes(&self, key: &BlobKey, bytes: Bytes) -> Result<(), StoreError>;
    /// Reads a blob, or the part of it `range` selects (`ranges` as the client sent them are
    /// resolved by the caller once it knows the length from [`Store::len`]). `None` if absent.
    async fn get(&self, key: &BlobKey, range: Option<ByteRange>) -> Result<Option<Blob>, StoreError>;
    /// The blob's length, or `None` if absent.
    async fn len(&self, key: &BlobKey) -> Result<Option<u64>, StoreError>;
    /// Makes the blob available as a local file at `dest` (a hard link or copy on local disk, a download elsewhere).
    async fn fetch_to(&self, key: &BlobKey, dest: &Path) -> Result<(), StoreError>;
    /// Deletes one blob; absent is fine.
    async fn delete(&self, key: &BlobKey) -> Result<(), StoreError>;
    /// Deletes every blob under `prefix/`; absent is fine.
    async fn delete_prefix(&self, prefix: &BlobKey) -> Result<(), StoreError>;
    /// The names directly under `prefix/` (used to sweep orphans after a crash).
    async fn list(&self, prefix: &BlobKey) -> Result<Vec<String>, StoreError>;

    /// A small text blob (a playlist) whole, or `None` if absent; invalid UTF-8 is replaced.
    async fn read_text(&self, key: &BlobKey) -> Result<Option<String>, StoreError> {
        use futures_util::StreamExt;
        let Some(blob) = self.get(key, None).await? else { return Ok(None) };
        let mut bytes = Vec::with_capacity(usize::try_from(blob.total_len.min(1 << 20)).unwrap_or(0));
        let mut body = blob.body;
        while let Some(chunk) = body.next().await {
            bytes.extend_from_slice(&chunk.map_err(|source| StoreError::Io { key: key.to_string(), source })?);
        }
        Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_keys_cannot_escape() {
        for bad in ["", "/", "a//b", "../x", "a/../b", "a/./b", "a/b/", "/a", "a\\b", "a b", "a/\0"] {
            assert!(BlobKey::new(bad).is_err(), "{bad:?} must be refused");
        }
        assert!(BlobKey::new("hls/abc/seg_00001.ts").is_ok());
        let id = VideoId::new();
        assert!(BlobKey::hls_file(id, "../x").is_err());
        assert!(BlobKey::hls_file(id, "a/b").is_err());
        assert_eq!(BlobKey::hls_file(id, "index.m3u8").unwrap().as_str(), format!("hls/{id}/index.m3u8"));
    }
}
