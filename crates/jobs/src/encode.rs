//! ffmpeg to HLS, published segment by segment: from the stored file, or from the upload as it arrives (through
//! ffmpeg's standard input) so that re-encoding keeps pace with the upload and the video plays before it is complete.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use flick_domain::ports::{BlobKey, ByteStream, StoreError};
use flick_domain::upload::{Container, SNIFF_LEN, sniff};
use flick_domain::{Video, VideoStatus, VideoUpdate};
use flick_media::{Demuxer, HlsRun, Input, MediaInfo, Plan, PlanSettings};
use flick_packaging::mp4::{Movie, Mp4Error};
use flick_stream::{Original, cut};

use crate::Context;
use crate::error::JobError;
use crate::publish::{FFMPEG_PLAYLIST, Publisher};
use crate::steps::{feed_package_of, observe_first_playable, record_shape, reset_dir, start_clean};

/// How often the work folder is checked for finished segments: the floor of time-to-stream.
const PUBLISH_EVERY: Duration = Duration::from_millis(40);
/// Segments published before a re-encode of an upload still arriving is called playable: the viewer then starts with
/// two segments in hand, so the encoder's first jitters (its start, a burst of the upload) are absorbed, not a stall.
const LIVE_START_SEGMENTS: usize = 2;
/// How often progress is written to the repo.
const PROGRESS_EVERY: Duration = Duration::from_millis(500);

/// Matroska/WebM, or a fragmented MP4: ffmpeg reads the original front to back, as it arrives or from the file.
pub(crate) async fn front_to_back(
    ctx: &Context,
    video: &Video,
    original: &Original,
    work: &Path,
) -> Result<(), JobError> {
    if begin(ctx, video, original, work).await? {
        return from_file(ctx, video, work).await;
    }
    let head = original.read_to_vec(0..SNIFF_LEN as u64, None).await?.unwrap_or_default();
    let demuxer = match sniff(&head) {
        Some(Container::Matroska { .. }) => Demuxer::Matroska,
        _ => Demuxer::Mov,
    };
    let info = flick_media::probe_stream(&ctx.tools, original.in_order(), demuxer, original.len()).await?;
    let settings = PlanSettings { live: true, ..PlanSettings::from_config(&ctx.settings) };
    let plan = flick_media::plan(&info, &settings)?;
    tracing::info!(?plan, duration = info.duration_seconds, "planned (reading the upload as it arrives)");
    record_shape(ctx, video, &info).await?;
    encode(ctx, video, Input::Pipe, Some(original.in_order()), info, plan, work).await
}

/// An MP4/MOV that must be encoded: while it is uploaded, ffmpeg reads an fMP4 view of the original, cut by its index,
/// as it arrives (an index the packager cannot cut waits for the whole file); once whole, the file itself.
pub(crate) async fn from_movie(
    ctx: &Context,
    video: &Video,
    original: &Original,
    movie: &Movie,
    info: MediaInfo,
    plan: Plan,
    work: &Path,
) -> Result<(), JobError> {
    if begin(ctx, video, original, work).await? {
        return from_file(ctx, video, work).await;
    }
    let package = match feed_package_of(movie) {
        Ok(p) => p,
        Err(JobError::Index(e @ Mp4Error::UnsupportedLayout(_))) => {
            tracing::info!(reason = %e, "the index cannot be cut: encoding from the whole file");
            if original.arrived().await?.is_whole() {
                return from_file(ctx, video, work).await;
            }
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    let feed = cut::fmp4_stream(original.clone(), Arc::new(package));
    encode(ctx, video, Input::Pipe, Some(feed), info, plan, work).await
}

/// Starts an encode afresh (nothing of an earlier attempt stays); says whether the whole file is there, in which case
/// ffmpeg reads it from disk, seekable, as for any complete upload.
async fn begin(ctx: &Context, video: &Video, original: &Original, work: &Path) -> Result<bool, JobError> {
    start_clean(ctx, video).await?;
    reset_dir(work).await?;
    Ok(original.arrived().await?.is_whole())
}

/// The whole file, from the store: probed with ffprobe (keyframe scan included) and encoded from disk.
async fn from_file(ctx: &Context, video: &Video, work: &Path) -> Result<(), JobError> {
    let input = work.join("source");
    match ctx.store.fetch_to(&BlobKey::raw(video.id), &input).await {
        Ok(()) => {}
        Err(StoreError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            return Err(JobError::SourceMissing);
        }
        Err(e) => return Err(e.into()),
    }
    // The whole original is there: its storyboard is made beside the encode.
    crate::storyboard::queue(ctx, video).await?;
    let info = flick_media::probe(&ctx.tools, &input).await?;
    let plan = flick_media::plan(&info, &PlanSettings::from_config(&ctx.settings))?;
    tracing::info!(?plan, duration = info.duration_seconds, "planned");
    record_shape(ctx, video, &info).await?;
    encode(ctx, video, Input::File(input), None, info, plan, work).await
}

/// Runs ffmpeg and publishes its segments as they are finished; `ready` when it is done.
async fn encode(
    ctx: &Context,
    video: &Video,
    input: Input,
    feed: Option<ByteStream>,
    info: MediaInfo,
    plan: Plan,
    work: &Path,
) -> Result<(), JobError> {
    let id = video.id;
    ctx.repo
        .update_video(id, &VideoUpdate { playable: Some(false), progress: Some(0.0), ..Default::default() })
        .await?;
    let out_dir = work.join("hls");
    tokio::fs::create_dir_all(&out_dir).await?;
    let file_input = match &input {
        Input::File(path) => Some(path.clone()),
        Input::Pipe => None,
    };
    let run = HlsRun {
        segment_seconds: ctx.settings.segment_seconds,
        first_segment_seconds: ctx.settings.first_segment_seconds,
        ..HlsRun::new(input, out_dir.clone(), plan.clone(), info.clone())
    };
    let master = flick_packaging::playlist::render_master(&flick_media::variant_for(&info, &plan));
    let mut publisher = Publisher::new(ctx.store.as_ref(), id, out_dir.clone(), master, ctx.settings.segment_seconds);
    debug_assert_eq!(FFMPEG_PLAYLIST, "ffmpeg.m3u8");

    let progress = Arc::new(AtomicU64::new(0f64.to_bits()));
    let progress_in = progress.clone();
    // Boxed: these futures are large, and a worker thread's stack is not.
    let hls = Box::pin(flick_media::run_hls(&ctx.tools, &run, feed, move |p| {
        progress_in.store(p.to_bits(), Ordering::Relaxed)
    }));
    // From a file, the thumbnail is made beside the encode; from the upload, out of the published segments.
    let thumb = Box::pin(async {
        match &file_input {
            Some(path) => crate::thumbs::from_file(ctx, video, path, &info, work).await,
            None => std::future::pending::<()>().await,
        }
    });
    let (mut hls, mut thumb) = (hls, thumb);
    let started = Instant::now();
    let mut thumb_done = file_input.is_none();
    let mut thumb_from_segments = file_input.is_none() && !video.has_thumbnail;
    let mut tick = tokio::time::interval(PUBLISH_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_progress = (Instant::now(), 0.0f64, 0.0f64);
    let start_segments = if file_input.is_some() { 1 } else { LIVE_START_SEGMENTS };
    let mut playable = false;
    let hls_result = loop {
        tokio::select! {
            r = &mut hls => break r,
            () = &mut thumb, if !thumb_done => thumb_done = true,
            _ = tick.tick() => {
                if publisher.sync(false).await? {
                    if !playable && publisher.published().len() >= start_segments {
                        playable = true;
                        ctx.repo.update_video(id, &VideoUpdate { playable: Some(true), ..Default::default() }).await?;
                        tracing::info!(ms = started.elapsed().as_millis() as u64, "playable");
                        observe_first_playable(video);
                    }
                    if thumb_from_segments && publisher.published_seconds() > 2.5 {
                        thumb_from_segments = false;
                        crate::thumbs::from_published(ctx, video, publisher.published(), work).await;
                    }
                }
                let p = f64::from_bits(progress.load(Ordering::Relaxed)).clamp(0.0, 0.99);
                let seconds = publisher.published_seconds();
                if last_progress.0.elapsed() >= PROGRESS_EVERY && (p > last_progress.1 || seconds > last_progress.2) {
                    let update = VideoUpdate { progress: Some(p), playable_seconds: Some(seconds), ..Default::default() };
                    ctx.repo.update_video(id, &update).await?;
                    last_progress = (Instant::now(), p, seconds);
                }
            }
        }
    };
    hls_result?;
    publisher.sync(true).await?;
    if !playable {
        observe_first_playable(video);
    }
    if !thumb_done {
        thumb.await;
    }
    if thumb_from_segments {
        crate::thumbs::from_published(ctx, video, publisher.published(), work).await;
    }
    let done = VideoUpdate {
        status: Some(VideoStatus::Ready),
        playable: Some(true),
        playable_seconds: Some(publisher.published_seconds()),
        progress: Some(1.0),
        ..Default::default()
    };
    ctx.repo.update_video(id, &done).await?;
    tracing::info!(ms = started.elapsed().as_millis() as u64, "ready");
    // The original goes to the ladder or is deleted, once the storyboard is made from it.
    crate::storyboard::after_ready(ctx, id).await
}
