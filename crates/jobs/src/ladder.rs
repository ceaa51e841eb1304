//! The adaptive ladder: once a video is ready, lower renditions (`processing.ladder`, e.g. 720p and 360p) are
//! encoded from its original, cut at the same times as its first rendition so that players switch between them
//! cleanly, and listed in its master playlist one by one as each is complete.
//!
//! Ladder jobs are taken only by ladder workers, whose ffmpeg runs at niceness 19: they use what the first renditions
//! leave of the CPU, and never delay anyone's first playable. A rendition's files are stored under
//! `hls/{id}/r{height}/` and then named in [`BlobKey::renditions`] (the master playlist's extra entries, replaced
//! atomically): a rendition half made when the job stopped is never listed, and the job run again makes it afresh.

use std::path::Path;

use bytes::Bytes;
use flick_domain::ports::{BlobKey, JobKind, StoreError};
use flick_domain::{Delivery, Video, VideoStatus};
use flick_media::{HlsRun, Input, MediaInfo, Plan, Tools};
use flick_packaging::playlist::{self, MediaPlaylist, Segment, Variant};

use crate::Context;
use crate::error::JobError;

/// Ladder encodes yield the CPU to everything else: the lowest niceness, which the process runner also puts in the
/// idle scheduling class (SCHED_IDLE).
const LADDER_NICE: i32 = 19;
/// A ladder encode may wait long for the CPU (it runs at the lowest priority): its wall-clock limit is this many times
/// a first rendition's. Its CPU budget still bounds what it may use.
const PATIENCE_FACTOR: u32 = 4;

/// Whether a video whose picture's short side is `short_side` gets a ladder here: some rung is below it, and this
/// installation runs ladder workers.
pub(crate) fn wanted(ctx: &Context, short_side: u32) -> bool {
    ctx.settings.ladder_workers > 0 && ctx.settings.ladder.iter().any(|rung| rung.height < short_side)
}

/// Queues the ladder of a video that just became ready, when it wants one; says whether it did. The original is then
/// kept until the ladder is made (the ladder is encoded from it).
pub(crate) async fn queue_if_wanted(ctx: &Context, video: &Video, short_side: u32) -> Result<bool, JobError> {
    if !wanted(ctx, short_side) {
        return Ok(false);
    }
    ctx.queue.enqueue(video.id, JobKind::Ladder).await?;
    Ok(true)
}

/// Makes the renditions of the ladder that `video` lacks.
pub(crate) async fn run(ctx: &Context, video: &Video, work: &Path) -> Result<(), JobError> {
    if video.status != VideoStatus::Ready {
        tracing::info!(status = ?video.status, "not ready: no ladder yet");
        return Ok(());
    }
    let id = video.id;
    let input = work.join("source");
    tokio::fs::create_dir_all(work).await?;
    match ctx.store.fetch_to(&BlobKey::raw(id), &input).await {
        Ok(()) => {}
        Err(StoreError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            tracing::info!("the original is gone: no ladder");
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    }
    let tools = Tools { nice: LADDER_NICE, ..ctx.tools.clone() };
    let info = flick_media::probe(&tools, &input).await?;
    let Some(first) = first_rendition(ctx, video, &info).await? else {
        tracing::info!("the first rendition is not there: no ladder");
        return Ok(());
    };
    let renditions_key = BlobKey::renditions(id);
    let listed = ctx.store.read_text(&renditions_key).await?.unwrap_or_default();
    let mut made: Vec<String> = playlist::variant_uris(&listed);

    let mut rungs = ctx.settings.ladder.clone();
    rungs.sort_by_key(|r| std::cmp::Reverse(r.height));
    for rung in rungs {
        let name = format!("r{}", rung.height);
        let uri = format!("{name}/index.m3u8");
        if made.contains(&uri) {
            continue;
        }
        let Some(plan) = flick_media::rung_plan(&info, &rung, first.bandwidth) else {
            tracing::debug!(rung = rung.height, "not needed for this video");
            continue;
        };
        let started = std::time::Instant::now();
        let variant = encode_rendition(ctx, &tools, video, &input, &info, plan, &first, &name, work).await?;
        // Listed only now that every file of it is stored.
        let mut text = ctx.store.read_text(&renditions_key).await?.unwrap_or_default();
        text.push_str(&playlist::render_variants(std::slice::from_ref(&variant)));
        ctx.store.put_bytes(&renditions_key, Bytes::from(text)).await?;
        made.push(uri);
        tracing::info!(
            rendition = name,
            ms = started.elapsed().as_millis() as u64,
            bandwidth = variant.bandwidth,
            "rendition listed"
        );
    }
    // A video re-encoded for its first rendition kept its original only for the ladder (unless it is kept).
    crate::steps::release_original(ctx, video).await
}

/// What the ladder follows: where the first rendition was cut, and its peak bandwidth.
struct FirstRendition {
    /// Explicit cut times; `None`: the times every encode of this installation cuts at
    /// (`processing.first_segment_seconds`, then growing to `segment_seconds`).
    cuts: Option<Vec<f64>>,
    /// The first rendition is the source's own video (copied, or served from the original): it was cut at the
    /// source's keyframes, and so must the ladder be.
    source_keyframes: bool,
    bandwidth: u64,
}

async fn first_rendition(ctx: &Context, video: &Video, info: &MediaInfo) -> Result<Option<FirstRendition>, JobError> {
    match video.delivery {
        Delivery::Original => {
            let Some(package) = ctx.packages.get(video.id).await? else { return Ok(None) };
            let starts = package.segments.iter().skip(1).map(|s| cut_before(s.start_seconds));
            Ok(Some(FirstRendition {
                cuts: Some(starts.collect()),
                source_keyframes: true,
                bandwidth: package.peak_bandwidth,
            }))
        }
        Delivery::Stored => {
            let Some(master) = ctx.store.read_text(&BlobKey::hls_file(video.id, "master.m3u8")?).await? else {
                return Ok(None);
            };
            // The same plan as the first rendition's: it says whether that copied the video or encoded it.
            let plan = flick_media::plan(info, &flick_media::PlanSettings::from_config(&ctx.settings))?;
            Ok(Some(FirstRendition {
                cuts: None,
                source_keyframes: !matches!(plan, Plan::Transcode { .. }),
                bandwidth: playlist::first_bandwidth(&master).unwrap_or(0),
            }))
        }
    }
}

/// A cut time just before `t` (in whole milliseconds, as ffmpeg is given them): the frame that starts the first
/// rendition's segment is the first at or after it, never one frame late for rounding.
fn cut_before(t: f64) -> f64 {
    ((t * 1000.0 - 0.5).floor() / 1000.0).max(0.001)
}

/// Encodes one rendition into `work/{name}`, stores its segments and its (closed) playlist under `hls/{id}/{name}/`,
/// and returns its entry for the master playlist, with the bandwidth its segments measure.
#[allow(clippy::too_many_arguments)]
async fn encode_rendition(
    ctx: &Context,
    tools: &Tools,
    video: &Video,
    input: &Path,
    info: &MediaInfo,
    plan: Plan,
    first: &FirstRendition,
    name: &str,
    work: &Path,
) -> Result<Variant, JobError> {
    let out_dir = work.join(name);
    crate::steps::reset_dir(&out_dir).await?;
    let run = HlsRun {
        segment_seconds: ctx.settings.segment_seconds,
        first_segment_seconds: ctx.settings.first_segment_seconds,
        cuts: first.cuts.clone(),
        // MPEG-TS beside MPEG-TS keeps the first rendition's delay; beside fMP4 from the original, none.
        no_mux_delay: video.delivery == Delivery::Original,
        keyframes_from_source: first.source_keyframes,
        timeout: flick_media::timeout_for(info.duration_seconds) * PATIENCE_FACTOR,
        ..HlsRun::new(Input::File(input.to_owned()), out_dir.clone(), plan.clone(), info.clone())
    };
    tracing::info!(rendition = name, ?plan, "encoding a rendition");
    Box::pin(flick_media::run_hls(tools, &run, None, |_| {})).await?;
    let text = tokio::fs::read_to_string(out_dir.join(flick_media::FFMPEG_PLAYLIST)).await?;
    let segments = playlist::parse_media(&text).map_err(flick_media::MediaError::InvalidPlaylist)?;
    let (mut peak, mut bytes_total, mut seconds_total) = (0u64, 0u64, 0.0f64);
    for segment in &segments {
        let path = out_dir.join(&segment.uri);
        let len = tokio::fs::metadata(&path).await?.len();
        if segment.duration >= 0.5 {
            peak = peak.max((len as f64 * 8.0 / segment.duration) as u64);
        }
        bytes_total += len;
        seconds_total += segment.duration;
        ctx.store.put_file(&BlobKey::rendition_file(video.id, name, &segment.uri)?, &path).await?;
    }
    let average = if seconds_total > 0.0 { (bytes_total as f64 * 8.0 / seconds_total) as u64 } else { 0 };
    let target_duration = segments.iter().map(|s: &Segment| s.duration).fold(0.0_f64, f64::max).round() as u32;
    let media = playlist::render_media(&MediaPlaylist {
        segments: &segments,
        target_duration: target_duration.max(ctx.settings.segment_seconds).max(1),
        ended: true,
        init: None,
    });
    ctx.store.put_bytes(&BlobKey::rendition_file(video.id, name, "index.m3u8")?, Bytes::from(media)).await?;
    let shape = flick_media::variant_for(info, &plan);
    Ok(Variant {
        bandwidth: peak.max(average).max(64_000),
        average_bandwidth: Some(average).filter(|a| *a > 0),
        uri: format!("{name}/index.m3u8"),
        ..shape
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_fall_just_before_the_first_renditions_boundaries() {
        assert_eq!(cut_before(1.0), 0.999);
        assert_eq!(cut_before(4.566_667), 4.566);
        assert_eq!(cut_before(2.0005), 2.0);
        assert_eq!(cut_before(0.0), 0.001);
    }
}
