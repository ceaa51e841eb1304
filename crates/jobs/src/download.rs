//! The MP4 a viewer downloads when a video's original is gone (a re-encoded video whose original was not kept):
//! its first rendition's segments, joined and remuxed, stored as `hls/{id}/download.mp4`. Queued when its owner
//! allows downloads.

use std::path::Path;

use flick_domain::ports::{BlobKey, StoreError};
use flick_domain::{Delivery, Video, VideoStatus};
use flick_media::MediaError;
use flick_packaging::playlist;
use tokio::io::AsyncWriteExt;

use crate::Context;
use crate::error::JobError;
use crate::steps::reset_dir;

/// Makes the download of `video` when it needs one: ready, delivered from stored segments, without its original.
pub(crate) async fn run(ctx: &Context, video: &Video, work: &Path) -> Result<(), JobError> {
    let id = video.id;
    if video.status != VideoStatus::Ready
        || video.delivery != Delivery::Stored
        || ctx.store.len(&BlobKey::raw(id)).await?.is_some()
        || ctx.store.len(&BlobKey::download(id)).await?.is_some()
    {
        return Ok(());
    }
    reset_dir(work).await?;
    let index = work.join("index.m3u8");
    ctx.store.fetch_to(&BlobKey::hls_file(id, "index.m3u8")?, &index).await?;
    let segments =
        playlist::parse_media(&tokio::fs::read_to_string(&index).await?).map_err(MediaError::InvalidPlaylist)?;
    // MPEG-TS segments of one stream joined end to end are one MPEG-TS stream.
    let joined = work.join("joined.ts");
    let mut out = tokio::fs::File::create(&joined).await?;
    for segment in &segments {
        let local = work.join(&segment.uri);
        match ctx.store.fetch_to(&BlobKey::hls_file(id, &segment.uri)?, &local).await {
            Ok(()) => {}
            Err(StoreError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                return Err(JobError::SourceMissing);
            }
            Err(e) => return Err(e.into()),
        }
        let mut file = tokio::fs::File::open(&local).await?;
        tokio::io::copy(&mut file, &mut out).await?;
        drop(file);
        tokio::fs::remove_file(&local).await?;
    }
    out.flush().await?;
    drop(out);
    let mp4 = work.join("download.mp4");
    let seconds: f64 = segments.iter().map(|s| s.duration).sum();
    let started = std::time::Instant::now();
    flick_media::mp4_from_segments(&ctx.tools, &joined, &mp4, flick_media::timeout_for(seconds)).await?;
    ctx.store.put_file(&BlobKey::download(id), &mp4).await?;
    tracing::info!(segments = segments.len(), ms = started.elapsed().as_millis() as u64, "download MP4 stored");
    Ok(())
}
