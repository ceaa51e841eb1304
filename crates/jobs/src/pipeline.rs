//! What a job does: for a `Process` job, probe → plan → HLS (published live) + thumbnail → ready;
//! for a `Thumbnail` job, only the thumbnail.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use flick_domain::ports::{BlobKey, Job, JobKind, StoreError};
use flick_domain::{Video, VideoStatus, VideoUpdate};
use flick_media::{HlsRun, MediaInfo, PlanSettings};

use crate::Context;
use crate::error::JobError;
use crate::publish::{FFMPEG_PLAYLIST, Publisher};

/// How often the work folder is checked for finished segments: the floor of time-to-stream.
const PUBLISH_EVERY: Duration = Duration::from_millis(40);
/// How often progress is written to the repo.
const PROGRESS_EVERY: Duration = Duration::from_millis(500);

/// Runs one claimed job to its end.
pub async fn run(ctx: &Context, job: &Job, work: &Path) -> Result<(), JobError> {
    let Some(video) = ctx.repo.get_video(job.video_id).await? else {
        tracing::info!("the video was deleted; nothing to do");
        return Ok(());
    };
    match job.kind {
        JobKind::Process if video.status == VideoStatus::Processing => process(ctx, &video, work).await,
        JobKind::Process => Ok(()),
        JobKind::Thumbnail => heal_thumbnail(ctx, &video, work).await,
    }
}

async fn process(ctx: &Context, video: &Video, work: &Path) -> Result<(), JobError> {
    let id = video.id;
    // A previous attempt may have published part of the HLS: start clean so nothing mixes.
    ctx.store.delete_prefix(&BlobKey::hls_prefix(id)).await?;
    ctx.store.delete(&BlobKey::thumbnail(id)).await?;
    reset_dir(work).await?;
    let input = work.join("source");
    match ctx.store.fetch_to(&BlobKey::raw(id), &input).await {
        Ok(()) => {}
        Err(StoreError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            return Err(JobError::SourceMissing);
        }
        Err(e) => return Err(e.into()),
    }
    ctx.repo
        .update_video(
            id,
            &VideoUpdate {
                playable: Some(false),
                progress: Some(0.0),
                has_thumbnail: Some(false),
                ..Default::default()
            },
        )
        .await?;

    let info = flick_media::probe(&ctx.tools, &input).await?;
    let plan = flick_media::plan(&info, &PlanSettings::from_config(&ctx.settings))?;
    tracing::info!(
        ?plan,
        duration = info.duration_seconds,
        width = info.video.width,
        height = info.video.height,
        "planned"
    );
    ctx.repo
        .update_video(
            id,
            &VideoUpdate {
                duration_seconds: Some(info.duration_seconds),
                width: Some(info.display_width()),
                height: Some(info.display_height()),
                ..Default::default()
            },
        )
        .await?;

    let out_dir = work.join("hls");
    tokio::fs::create_dir_all(&out_dir).await?;
    let run = HlsRun {
        input: input.clone(),
        out_dir: out_dir.clone(),
        plan: plan.clone(),
        info: info.clone(),
        segment_seconds: ctx.settings.segment_seconds,
        first_segment_seconds: ctx.settings.first_segment_seconds,
        timeout: flick_media::timeout_for(info.duration_seconds),
    };
    let master = flick_media::render_master_playlist(&flick_media::variant_for(&info, &plan));
    let mut publisher = Publisher::new(ctx.store.as_ref(), id, out_dir.clone(), master, ctx.settings.segment_seconds);
    debug_assert_eq!(FFMPEG_PLAYLIST, "ffmpeg.m3u8");

    let progress = Arc::new(AtomicU64::new(0f64.to_bits()));
    let progress_in = progress.clone();
    let hls = flick_media::run_hls(&ctx.tools, &run, move |p| progress_in.store(p.to_bits(), Ordering::Relaxed));
    let thumb = make_thumbnail(ctx, video, &input, &info, work);
    tokio::pin!(hls, thumb);
    let started = Instant::now();
    let mut thumb_done = false;
    let mut tick = tokio::time::interval(PUBLISH_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_progress = (Instant::now(), 0.0f64);
    let hls_result = loop {
        tokio::select! {
            r = &mut hls => break r,
            () = &mut thumb, if !thumb_done => thumb_done = true,
            _ = tick.tick() => {
                let was_playable = publisher.is_playable();
                publisher.sync(false).await?;
                if publisher.is_playable() && !was_playable {
                    ctx.repo.update_video(id, &VideoUpdate { playable: Some(true), ..Default::default() }).await?;
                    tracing::info!(ms = started.elapsed().as_millis() as u64, "playable");
                    observe_first_playable(video);
                }
                let p = f64::from_bits(progress.load(Ordering::Relaxed)).clamp(0.0, 0.99);
                if last_progress.0.elapsed() >= PROGRESS_EVERY && p > last_progress.1 {
                    ctx.repo.update_video(id, &VideoUpdate { progress: Some(p), ..Default::default() }).await?;
                    last_progress = (Instant::now(), p);
                }
            }
        }
    };
    hls_result?;
    let was_playable = publisher.is_playable();
    publisher.sync(true).await?;
    if !was_playable {
        observe_first_playable(video);
    }
    if !thumb_done {
        thumb.await;
    }
    ctx.repo
        .update_video(
            id,
            &VideoUpdate {
                status: Some(VideoStatus::Ready),
                playable: Some(true),
                progress: Some(1.0),
                ..Default::default()
            },
        )
        .await?;
    tracing::info!(ms = started.elapsed().as_millis() as u64, "ready");
    // The raw upload is only needed until the HLS is complete.
    ctx.store.delete(&BlobKey::raw(id)).await?;
    Ok(())
}

/// Makes and stores the thumbnail; a failure leaves the video without one (start-up heals it) but never fails the job.
async fn make_thumbnail(ctx: &Context, video: &Video, input: &Path, info: &MediaInfo, work: &Path) {
    let out = work.join("thumb.jpg");
    let result: Result<(), JobError> = async {
        flick_media::thumbnail(&ctx.tools, input, info, &out, flick_media::timeout_for(10.0)).await?;
        ctx.store.put_file(&BlobKey::thumbnail(video.id), &out).await?;
        ctx.repo.update_video(video.id, &VideoUpdate { has_thumbnail: Some(true), ..Default::default() }).await?;
        Ok(())
    }
    .await;
    if let Err(e) = result {
        tracing::warn!(error = %e, "thumbnail failed");
        e.count_ffmpeg_failure();
    }
}

/// Time to first playable: from the upload's acknowledgement (its record was created just before the 201) until
/// now, when the first playlist listing a segment has been published. Clocks of other machines may disagree a little.
fn observe_first_playable(video: &Video) {
    let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis());
    let after_ms = i64::try_from(now_ms).unwrap_or(i64::MAX).saturating_sub(video.created_at.timestamp_millis());
    flick_telemetry::metrics().first_playable(Duration::from_millis(u64::try_from(after_ms).unwrap_or(0)));
}

/// Self-healing: a ready video without a thumbnail gets one from its own HLS output.
async fn heal_thumbnail(ctx: &Context, video: &Video, work: &Path) -> Result<(), JobError> {
    if video.status != VideoStatus::Ready || video.has_thumbnail {
        return Ok(());
    }
    reset_dir(work).await?;
    let playlist_key = BlobKey::hls_file(video.id, "index.m3u8")?;
    let local_playlist = work.join("index.m3u8");
    ctx.store.fetch_to(&playlist_key, &local_playlist).await?;
    let text = tokio::fs::read_to_string(&local_playlist).await?;
    let segments = flick_media::parse_media_playlist(&text)?;
    // The segment that holds the 2 s mark (or the middle of a shorter video).
    let total: f64 = segments.iter().map(|s| s.duration).sum();
    let at = if total > 2.0 { 2.0 } else { total / 2.0 };
    let mut start = 0.0;
    let mut chosen = None;
    for s in &segments {
        if at < start + s.duration || chosen.is_none() {
            chosen = Some((s, at - start));
        }
        if at < start + s.duration {
            break;
        }
        start += s.duration;
    }
    let Some((segment, offset)) = chosen else {
        return Err(JobError::Media(flick_media::MediaError::NoOutput));
    };
    let local_segment = work.join(&segment.uri);
    ctx.store.fetch_to(&BlobKey::hls_file(video.id, &segment.uri)?, &local_segment).await?;
    let out = work.join("thumb.jpg");
    flick_media::thumbnail_from_segment(
        &ctx.tools,
        &local_segment,
        offset.max(0.0),
        &out,
        flick_media::timeout_for(10.0),
    )
    .await?;
    ctx.store.put_file(&BlobKey::thumbnail(video.id), &out).await?;
    ctx.repo.update_video(video.id, &VideoUpdate { has_thumbnail: Some(true), ..Default::default() }).await?;
    tracing::info!("thumbnail restored");
    Ok(())
}

async fn reset_dir(dir: &Path) -> Result<(), JobError> {
    match tokio::fs::remove_dir_all(dir).await {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e.into()),
    }
    tokio::fs::create_dir_all(dir).await?;
    Ok(())
}
