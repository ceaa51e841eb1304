//! The small steps every path of a job shares: the original of a video, patience with an upload that stands still,
//! the index cut into a package, the shape and first-playable moment recorded, a clean work folder, and the original
//! released once nothing needs it.

use std::path::Path;
use std::time::Duration;

use flick_domain::ports::BlobKey;
use flick_domain::{Delivery, Video};
use flick_packaging::mp4::{Movie, Package, SegmentTargets, TrackKind};
use flick_stream::Original;

use crate::Context;
use crate::error::JobError;

/// How long a job waits for an upload that does not move before it leaves the rest to the upload's completion.
pub(crate) const PATIENCE: Duration = Duration::from_secs(30);
/// The original of a video, as it arrives or whole.
pub(crate) fn original_of(ctx: &Context, video: &Video) -> Original {
    Original::new(video.id, video.size_bytes, ctx.uploads.clone(), ctx.spool.clone(), ctx.store.clone())
}

/// The package of a movie's first video track and first audio track, cut at Flick's segment times.
pub(crate) fn package_of(ctx: &Context, movie: &Movie) -> Result<Package, JobError> {
    let targets = SegmentTargets {
        first_seconds: ctx.settings.first_segment_seconds,
        every_seconds: f64::from(ctx.settings.segment_seconds),
        between_keyframes: false,
    };
    packaged(movie, &targets)
}

/// How much of the original ffmpeg gets at a time when it reads an MP4/MOV as it arrives. Cut by keyframes, a feed
/// would go out a whole GOP at a time (2 s or more): the encoder, and so the viewer right behind it, would wait for it.
const FEED_FRAGMENT_SECONDS: f64 = 0.25;

/// The original cut into small fragments regardless of keyframes: what ffmpeg reads while the upload runs.
pub(crate) fn feed_package_of(movie: &Movie) -> Result<Package, JobError> {
    let targets = SegmentTargets {
        first_seconds: FEED_FRAGMENT_SECONDS,
        every_seconds: FEED_FRAGMENT_SECONDS,
        between_keyframes: true,
    };
    packaged(movie, &targets)
}

fn packaged(movie: &Movie, targets: &SegmentTargets) -> Result<Package, JobError> {
    let video = movie.first_track(TrackKind::Video).ok_or(JobError::Media(flick_media::MediaError::NoVideoStream))?;
    let audio = movie.first_track(TrackKind::Audio);
    Ok(flick_packaging::mp4::package(movie, video, audio, targets)?)
}

/// Waits until every byte of `segment` has arrived; false when the upload stood still for `patience`.
pub(crate) async fn wait_for_segment(
    original: &Original,
    segment: &flick_packaging::mp4::PackagedSegment,
    patience: Option<std::time::Duration>,
) -> Result<bool, JobError> {
    for &(offset, len) in &segment.ranges {
        if original.wait_for(offset..offset + len, patience).await?.is_none() {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The real duration and size are known from the index: the share page shows them from the start.
pub(crate) async fn record_shape(ctx: &Context, video: &Video, info: &flick_media::MediaInfo) -> Result<(), JobError> {
    let update = flick_domain::VideoUpdate {
        duration_seconds: Some(info.duration_seconds).filter(|d| *d > 0.0),
        width: Some(info.display_width()),
        height: Some(info.display_height()),
        ..Default::default()
    };
    ctx.repo.update_video(video.id, &update).await?;
    Ok(())
}

/// Removes what an earlier, interrupted attempt published, so nothing mixes.
pub(crate) async fn start_clean(ctx: &Context, video: &Video) -> Result<(), JobError> {
    // The storyboard lives beside the segments: it goes too, and is made again.
    let unlisted = flick_domain::VideoUpdate { has_storyboard: Some(false), ..Default::default() };
    ctx.repo.update_video(video.id, &unlisted).await?;
    ctx.store.delete_prefix(&BlobKey::hls_prefix(video.id)).await?;
    ctx.store.delete(&BlobKey::thumbnail(video.id)).await?;
    Ok(())
}

/// Time to first playable: from the upload's start (its record was created then) until now, when the first segment
/// can be played. Clocks of other machines may disagree a little.
pub(crate) fn observe_first_playable(video: &Video) {
    let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis());
    let after_ms = i64::try_from(now_ms).unwrap_or(i64::MAX).saturating_sub(video.created_at.timestamp_millis());
    flick_telemetry::metrics().first_playable(Duration::from_millis(u64::try_from(after_ms).unwrap_or(0)));
}

/// Empties (or makes) a work folder.
pub(crate) async fn reset_dir(dir: &Path) -> Result<(), JobError> {
    match tokio::fs::remove_dir_all(dir).await {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e.into()),
    }
    tokio::fs::create_dir_all(dir).await?;
    Ok(())
}

/// Deletes the original of a ready video once nothing needs it: kept when it is what viewers are served, when the
/// site keeps originals, or when the owner lets viewers download it.
pub(crate) async fn release_original(ctx: &Context, video: &Video) -> Result<(), JobError> {
    let kept = video.delivery == Delivery::Original
        || ctx.settings.keep_originals
        || video.access.allow_download == Some(true);
    if !kept {
        ctx.store.delete(&BlobKey::raw(video.id)).await?;
    }
    Ok(())
}
