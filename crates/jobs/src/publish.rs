//! Publishing HLS while ffmpeg is still writing it: each segment ffmpeg has finished is moved into the store, then
//! the playlist that lists it is written atomically, so a viewer never sees a segment that is not whole and can start
//! as soon as the first one exists.

use std::path::PathBuf;

use bytes::Bytes;
use flick_domain::VideoId;
use flick_domain::ports::{BlobKey, Store};
use flick_packaging::playlist::{self, MediaPlaylist, Segment};

use crate::error::JobError;

/// The name of the playlist ffmpeg writes in the work folder (never served).
pub const FFMPEG_PLAYLIST: &str = "ffmpeg.m3u8";

/// Publishes one video's HLS output from `out_dir` into the store.
pub struct Publisher<'a> {
    store: &'a dyn Store,
    id: VideoId,
    out_dir: PathBuf,
    master: String,
    segment_seconds: u32,
    published: Vec<Segment>,
    master_published: bool,
}

impl<'a> Publisher<'a> {
    pub fn new(store: &'a dyn Store, id: VideoId, out_dir: PathBuf, master: String, segment_seconds: u32) -> Self {
        Publisher { store, id, out_dir, master, segment_seconds, published: Vec::new(), master_published: false }
    }

    /// The segments published so far.
    pub fn published(&self) -> &[Segment] {
        &self.published
    }

    /// Seconds of video published so far.
    pub fn published_seconds(&self) -> f64 {
        self.published.iter().map(|s| s.duration).sum()
    }

    /// Moves newly finished segments into the store and republishes the playlist. With `ended`, the
    /// playlist is closed (ENDLIST). Returns true when something new was published.
    pub async fn sync(&mut self, ended: bool) -> Result<bool, JobError> {
        let text = match tokio::fs::read_to_string(self.out_dir.join(FFMPEG_PLAYLIST)).await {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !ended => return Ok(false),
            Err(e) => return Err(e.into()),
        };
        let listed = playlist::parse_media(&text).map_err(flick_media::MediaError::InvalidPlaylist)?;
        if listed.len() < self.published.len() {
            return Err(JobError::Io(std::io::Error::other("ffmpeg's playlist lost segments")));
        }
        let fresh = listed[self.published.len()..].to_vec();
        if fresh.is_empty() && !ended {
            return Ok(false);
        }
        for segment in fresh {
            let key = BlobKey::hls_file(self.id, &segment.uri)?;
            self.store.put_file(&key, &self.out_dir.join(&segment.uri)).await?;
            self.published.push(segment);
        }
        if self.published.is_empty() {
            // Nothing to play: ffmpeg produced no segment at all.
            return Err(JobError::Media(flick_media::MediaError::NoOutput));
        }
        let text = playlist::render_media(&MediaPlaylist {
            segments: &self.published,
            target_duration: self.target_duration(),
            ended,
            init: None,
        });
        self.store.put_bytes(&BlobKey::hls_file(self.id, "index.m3u8")?, Bytes::from(text)).await?;
        if !self.master_published {
            let master = Bytes::from(self.master.clone());
            self.store.put_bytes(&BlobKey::hls_file(self.id, "master.m3u8")?, master).await?;
            self.master_published = true;
        }
        Ok(true)
    }

    /// At least the configured segment length, and never less than the longest segment (RFC 8216 §4.3.3.1).
    fn target_duration(&self) -> u32 {
        let longest = self.published.iter().map(|s| s.duration).fold(0.0_f64, f64::max);
        (longest.round() as u32).max(self.segment_seconds).max(1)
    }
}
