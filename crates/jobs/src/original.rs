//! Delivery from the original: an MP4/MOV whose streams browsers play is never remuxed. Its index is cut into a
//! package (where each fMP4 segment's bytes lie in the original), stored once; viewers then get segments cut on
//! request, each as soon as its bytes have been uploaded. The job's part is small: the package, the first-playable
//! moment, the thumbnail, and `ready` once the upload is complete.

use std::path::Path;

use flick_domain::{Delivery, Video, VideoStatus, VideoUpdate};
use flick_packaging::mp4::Movie;
use flick_stream::{Original, cut};

use crate::Context;
use crate::error::JobError;
use crate::steps::{PATIENCE, observe_first_playable, package_of, wait_for_segment};

/// Packages `movie` (its first video and audio tracks) and serves the video from its original from now on.
pub(crate) async fn serve(
    ctx: &Context,
    video: &Video,
    original: &Original,
    movie: &Movie,
    work: &Path,
) -> Result<(), JobError> {
    let package = package_of(ctx, movie)?;
    // Stored before the record points at it: a viewer who sees `original` always finds the package.
    ctx.packages.put(video.id, package).await?;
    ctx.repo.update_video(video.id, &VideoUpdate { delivery: Some(Delivery::Original), ..Default::default() }).await?;
    let segments = ctx.packages.get(video.id).await?.map_or(0, |p| p.segments.len());
    tracing::info!(segments, "served from the original");
    let video = Video { delivery: Delivery::Original, ..video.clone() };
    carry_on(ctx, &video, original, work).await
}

/// What remains for a packaged video: its first-playable moment, its thumbnail, and `ready` when the upload is
/// complete (until then the upload's completion queues the job again).
pub(crate) async fn carry_on(ctx: &Context, video: &Video, original: &Original, work: &Path) -> Result<(), JobError> {
    let Some(package) = ctx.packages.get(video.id).await? else { return Err(JobError::SourceMissing) };
    if !video.playable
        && let Some(first) = package.segments.first()
        && wait_for_segment(original, first, Some(PATIENCE)).await?
    {
        observe_first_playable(video);
        ctx.repo.update_video(video.id, &VideoUpdate { playable: Some(true), ..Default::default() }).await?;
        tracing::info!(ms = ms_since(video), "playable");
    }
    if !video.has_thumbnail {
        crate::thumbs::from_package(ctx, video, original, &package, work).await;
    }
    if !original.arrived().await?.is_whole() {
        tracing::info!("the upload goes on; its completion finishes the video");
        return Ok(());
    }
    let done = VideoUpdate {
        status: Some(VideoStatus::Ready),
        playable: Some(true),
        playable_seconds: Some(cut::playable_seconds(&package, package.segments.len())),
        progress: Some(1.0),
        ..Default::default()
    };
    ctx.repo.update_video(video.id, &done).await?;
    tracing::info!(ms = ms_since(video), "ready");
    crate::storyboard::after_ready(ctx, video.id).await
}

/// Milliseconds since the upload started.
fn ms_since(video: &Video) -> u64 {
    let now = chrono::Utc::now().timestamp_millis();
    u64::try_from(now.saturating_sub(video.created_at.timestamp_millis())).unwrap_or(0)
}
