//! Thumbnails: from the original file, from a packaged video's first segments, or from published MPEG-TS segments;
//! and healing a ready video that has none. A failed thumbnail never fails a job: the video simply has none yet
//! (start-up queues a healing job).

use std::path::Path;

use flick_domain::ports::BlobKey;
use flick_domain::{Delivery, Video, VideoStatus, VideoUpdate};
use flick_media::{Demuxer, MediaError, MediaInfo};
use flick_packaging::mp4::Package;
use flick_packaging::playlist::{self, Segment};
use flick_stream::{Original, cut};
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;

use crate::Context;
use crate::error::JobError;
use crate::steps::{PATIENCE, original_of, reset_dir, wait_for_segment};

/// The moment a thumbnail shows: 2 s in, or the middle of a shorter video.
fn moment(duration: f64) -> f64 {
    if duration.is_finite() && duration > 2.0 {
        2.0
    } else if duration.is_finite() && duration > 0.0 {
        duration / 2.0
    } else {
        0.0
    }
}

/// From the original file on this machine.
pub(crate) async fn from_file(ctx: &Context, video: &Video, input: &Path, info: &MediaInfo, work: &Path) {
    let out = work.join("thumb.jpg");
    let made = flick_media::thumbnail(&ctx.tools, input, info, &out, flick_media::timeout_for(10.0)).await;
    store(ctx, video, made.map_err(JobError::from), &out).await;
}

/// From the first segments of a packaged video, once they have arrived (waiting while the upload moves).
pub(crate) async fn from_package(ctx: &Context, video: &Video, original: &Original, package: &Package, work: &Path) {
    let at = moment(package.duration_seconds);
    let last = package.segments.iter().position(|s| s.start_seconds + s.duration_seconds > at).unwrap_or(0);
    let src = work.join("thumb-source.mp4");
    let out = work.join("thumb.jpg");
    let made: Result<(), JobError> = async {
        for segment in &package.segments[..=last.min(package.segments.len().saturating_sub(1))] {
            if !wait_for_segment(original, segment, Some(PATIENCE)).await? {
                return Err(JobError::Media(MediaError::NoOutput));
            }
        }
        tokio::fs::create_dir_all(work).await?;
        let mut file = tokio::fs::File::create(&src).await?;
        file.write_all(&package.init).await?;
        let arrived = original.arrived().await?;
        for index in 0..=last {
            let mut body = cut::segment_body(original, &arrived, package, index).await?;
            while let Some(chunk) = body.next().await {
                file.write_all(&chunk?).await?;
            }
        }
        file.flush().await?;
        drop(file);
        flick_media::thumbnail_at(&ctx.tools, &src, Demuxer::Mov, at, &out, flick_media::timeout_for(10.0)).await?;
        Ok(())
    }
    .await;
    let _ = tokio::fs::remove_file(&src).await;
    store(ctx, video, made, &out).await;
}

/// From the published MPEG-TS segment that holds the thumbnail's moment.
pub(crate) async fn from_published(ctx: &Context, video: &Video, segments: &[Segment], work: &Path) {
    let out = work.join("thumb.jpg");
    let made = from_segments(ctx, video, segments, work, &out).await;
    store(ctx, video, made, &out).await;
}

async fn from_segments(
    ctx: &Context,
    video: &Video,
    segments: &[Segment],
    work: &Path,
    out: &Path,
) -> Result<(), JobError> {
    let total: f64 = segments.iter().map(|s| s.duration).sum();
    let at = moment(total);
    let mut start = 0.0;
    let mut chosen = None;
    for s in segments {
        if at < start + s.duration || chosen.is_none() {
            chosen = Some((s, at - start));
        }
        if at < start + s.duration {
            break;
        }
        start += s.duration;
    }
    let Some((segment, offset)) = chosen else { return Err(JobError::Media(MediaError::NoOutput)) };
    tokio::fs::create_dir_all(work).await?;
    let local = work.join(format!("thumb-{}", segment.uri));
    ctx.store.fetch_to(&BlobKey::hls_file(video.id, &segment.uri)?, &local).await?;
    let made =
        flick_media::thumbnail_from_segment(&ctx.tools, &local, offset.max(0.0), out, flick_media::timeout_for(10.0))
            .await;
    let _ = tokio::fs::remove_file(&local).await;
    Ok(made?)
}

/// Stores a made thumbnail and records it; a failure is logged and counted, never raised.
async fn store(ctx: &Context, video: &Video, made: Result<(), JobError>, out: &Path) {
    let result: Result<(), JobError> = async {
        made?;
        ctx.store.put_file(&BlobKey::thumbnail(video.id), out).await?;
        ctx.repo.update_video(video.id, &VideoUpdate { has_thumbnail: Some(true), ..Default::default() }).await?;
        Ok(())
    }
    .await;
    if let Err(e) = result {
        tracing::warn!(error = %e, "thumbnail failed");
        e.count_ffmpeg_failure();
    }
}

/// Self-healing: a ready video without a thumbnail gets one from what it streams.
pub(crate) async fn heal(ctx: &Context, video: &Video, work: &Path) -> Result<(), JobError> {
    if video.status != VideoStatus::Ready || video.has_thumbnail {
        return Ok(());
    }
    reset_dir(work).await?;
    if video.delivery == Delivery::Original {
        let Some(package) = ctx.packages.get(video.id).await? else { return Err(JobError::SourceMissing) };
        from_package(ctx, video, &original_of(ctx, video), &package, work).await;
    } else {
        let local = work.join("index.m3u8");
        ctx.store.fetch_to(&BlobKey::hls_file(video.id, "index.m3u8")?, &local).await?;
        let text = tokio::fs::read_to_string(&local).await?;
        let segments = playlist::parse_media(&text).map_err(MediaError::InvalidPlaylist)?;
        let out = work.join("thumb.jpg");
        let made = from_segments(ctx, video, &segments, work, &out).await;
        made?;
        ctx.store.put_file(&BlobKey::thumbnail(video.id), &out).await?;
        ctx.repo.update_video(video.id, &VideoUpdate { has_thumbnail: Some(true), ..Default::default() }).await?;
    }
    tracing::info!("thumbnail restored");
    Ok(())
}
