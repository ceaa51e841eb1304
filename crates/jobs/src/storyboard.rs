//! Seek-bar previews. A `storyboard` job shrinks a video's original's keyframes into sprite JPEGs and a WebVTT track
//! that points at them (`hls/{id}/storyboard.vtt`, stored last, so a listed track always finds its sprites). It is
//! queued as soon as the whole original is stored (a re-encode from a complete upload: beside the encode, so the
//! previews come seconds after the first segment, not after the last), else when the video is ready.
//!
//! Once the video is ready and has its storyboard, its original is handed on: to the ladder, which encodes from it,
//! or to deletion when nothing else needs it. Whichever of the storyboard job and the end of processing comes second
//! does it (each writes its part, then reads the other's: at least one sees both; doing it twice is harmless).
//!
//! A storyboard that cannot be made never fails the job (the video plays without previews); only the store or the
//! database failing does, and the job then runs again.

use std::path::Path;

use bytes::Bytes;
use flick_domain::ports::{BlobKey, JobKind, StoreError};
use flick_domain::{Video, VideoId, VideoStatus, VideoUpdate};
use flick_media::{StoryboardPlan, Tools};

use crate::Context;
use crate::error::JobError;
use crate::steps::reset_dir;

/// Below the first renditions (niceness 10 above theirs), above the ladder's idle class: previews are wanted soon.
const STORYBOARD_NICE: i32 = 10;
/// The WebVTT track's file name in the video's HLS folder.
pub const STORYBOARD_VTT: &str = "storyboard.vtt";

/// Queues the storyboard of a video that has just become ready.
pub(crate) async fn queue(ctx: &Context, video: &Video) -> Result<(), JobError> {
    ctx.queue.enqueue(video.id, JobKind::Storyboard).await?;
    Ok(())
}

/// The video just became ready: its original is handed on if its storyboard is made, else the storyboard job (which
/// hands it on) is queued.
pub(crate) async fn after_ready(ctx: &Context, id: VideoId) -> Result<(), JobError> {
    match ctx.repo.get_video(id).await? {
        Some(video) if video.has_storyboard => hand_on(ctx, &video).await,
        Some(video) => queue(ctx, &video).await,
        None => Ok(()),
    }
}

/// Makes the storyboard `video` lacks; then, if the video is ready, hands its original on.
pub(crate) async fn run(ctx: &Context, video: &Video, work: &Path) -> Result<(), JobError> {
    if !matches!(video.status, VideoStatus::Ready | VideoStatus::Processing) {
        return Ok(());
    }
    reset_dir(work).await?;
    let input = work.join("source");
    match ctx.store.fetch_to(&BlobKey::raw(video.id), &input).await {
        Ok(()) => {}
        Err(StoreError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            // Still arriving (its end queues the job again), or gone.
            tracing::info!(status = ?video.status, "no whole original: no storyboard");
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    }
    let tools = Tools { nice: ctx.tools.nice.max(STORYBOARD_NICE), ..ctx.tools.clone() };
    if !video.has_storyboard {
        let started = std::time::Instant::now();
        match make(ctx, &tools, video, &input, work).await {
            Ok(Some(tiles)) => {
                tracing::info!(tiles, ms = started.elapsed().as_millis() as u64, "storyboard stored");
            }
            Ok(None) => tracing::info!("no storyboard: the length or the picture size is unknown"),
            Err(e @ (JobError::Store(_) | JobError::Repo(_) | JobError::Queue(_) | JobError::Io(_))) => return Err(e),
            Err(e) => {
                tracing::warn!(error = %e, "storyboard failed");
                e.count_ffmpeg_failure();
            }
        }
    }
    let _ = tokio::fs::remove_file(&input).await;
    match ctx.repo.get_video(video.id).await? {
        Some(now) if now.status == VideoStatus::Ready => hand_on(ctx, &now).await,
        _ => Ok(()),
    }
}

/// Makes and stores the sprites, then the track; the number of tiles, or `None` when the video has no plan.
async fn make(ctx: &Context, tools: &Tools, video: &Video, input: &Path, work: &Path) -> Result<Option<u32>, JobError> {
    let info = flick_media::probe(tools, input).await?;
    let Some(plan) = StoryboardPlan::for_video(&info) else { return Ok(None) };
    let out = work.join("storyboard");
    let timeout = flick_media::timeout_for(info.duration_seconds);
    let sprites = flick_media::storyboard(tools, input, &info, &plan, &out, timeout).await?;
    for (n, path) in (0u32..).zip(&sprites) {
        ctx.store.put_file(&BlobKey::hls_file(video.id, &StoryboardPlan::sprite_name(n))?, path).await?;
    }
    ctx.store.put_bytes(&BlobKey::hls_file(video.id, STORYBOARD_VTT)?, Bytes::from(plan.vtt())).await?;
    ctx.repo.update_video(video.id, &VideoUpdate { has_storyboard: Some(true), ..Default::default() }).await?;
    Ok(Some(plan.tiles))
}

/// The original's next step: the ladder, when this video gets one; else deletion, unless it is kept.
pub(crate) async fn hand_on(ctx: &Context, video: &Video) -> Result<(), JobError> {
    let short_side = video.width.unwrap_or(0).min(video.height.unwrap_or(0));
    if !crate::ladder::queue_if_wanted(ctx, video, short_side).await? {
        crate::steps::release_original(ctx, video).await?;
    }
    Ok(())
}
