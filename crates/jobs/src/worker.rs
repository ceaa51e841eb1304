//! The worker loop: claim, run with a kept-alive lease, report.

use std::sync::Arc;
use std::time::Duration;

use flick_domain::VideoUpdate;
use flick_domain::ports::{BlobKey, Job, JobKind, JobOutcome, Pool};
use flick_telemetry::JobEnd;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::error::JobError;
use crate::{Context, pipeline};

/// How long a claim lasts without a heartbeat; a crashed worker's job is reclaimed after this.
pub const LEASE: Duration = Duration::from_secs(30);
const HEARTBEAT_EVERY: Duration = Duration::from_secs(5);
/// Longest idle wait between claims when no wake-up arrives (jobs retried after a backoff become due silently).
const IDLE_POLL: Duration = Duration::from_secs(1);

/// Starts the workers; they stop when `shutdown` is cancelled (a running job's ffmpeg is killed).
///
/// `count` workers take the jobs of complete uploads, `live` more those of uploads still arriving (whose work waits
/// on the uploader: a few slow or stalled uploads must never hold back everyone else's videos). With no live
/// workers, the others take every job but ladder jobs. A process that runs workers also runs
/// `processing.ladder_workers` ladder workers, which take ladder jobs only.
pub fn spawn_workers(ctx: Arc<Context>, count: u32, live: u32, shutdown: CancellationToken) -> Vec<JoinHandle<()>> {
    let settled = if live > 0 { Pool::Settled } else { Pool::Any };
    let ladder = if count == 0 || ctx.settings.ladder.is_empty() { 0 } else { ctx.settings.ladder_workers };
    let pools = (0..count).map(|i| (format!("{}w{i}", ctx.node.name()), settled));
    let pools = pools.chain((0..live).map(|i| (format!("{}l{i}", ctx.node.name()), Pool::Live)));
    let pools = pools.chain((0..ladder).map(|i| (format!("{}r{i}", ctx.node.name()), Pool::Ladder)));
    pools.map(|(name, pool)| tokio::spawn(worker_loop(ctx.clone(), name, pool, shutdown.clone()))).collect()
}

async fn worker_loop(ctx: Arc<Context>, name: String, pool: Pool, shutdown: CancellationToken) {
    tracing::debug!(worker = %name, ?pool, "worker started");
    while !shutdown.is_cancelled() {
        match ctx.queue.claim(&name, LEASE, pool).await {
            Ok(Some(job)) => {
                let span = tracing::info_span!("job", video_id = %job.video_id, job_id = job.id, kind = job.kind.as_str(), attempt = job.attempt);
                run_job(&ctx, job, &shutdown).instrument(span).await;
            }
            Ok(None) => {
                tokio::select! {
                    _ = ctx.queue.wait_for_work(IDLE_POLL) => {}
                    _ = shutdown.cancelled() => break,
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not claim a job");
                tokio::select! {
                    _ = tokio::time::sleep(IDLE_POLL) => {}
                    _ = shutdown.cancelled() => break,
                }
            }
        }
    }
    tracing::debug!(worker = %name, "worker stopped");
}

async fn run_job(ctx: &Context, job: Job, shutdown: &CancellationToken) {
    let started = std::time::Instant::now();
    // One folder per claim: a previous claim of the same job never shares it.
    let work = ctx.node.work_dir(&ctx.work_dir).join(format!("{}-{}", job.video_id, job.lease_id));
    // Dropping the pipeline future (lease lost, shutdown) kills its ffmpeg children.
    let result = tokio::select! {
        r = Box::pin(pipeline::run(ctx, &job, &work)) => r,
        r = keep_lease(ctx, &job) => Err(r),
        _ = shutdown.cancelled() => Err(JobError::Shutdown),
    };
    if let Err(e) = tokio::fs::remove_dir_all(&work).await
        && e.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(error = %e, "could not remove the job's work folder");
    }
    remove_if_gone(ctx, &job).await;
    let end = match result {
        Ok(()) => {
            tracing::info!(ms = started.elapsed().as_millis() as u64, "job done");
            if let Err(e) = ctx.queue.complete(&job).await {
                tracing::warn!(error = %e, "could not mark the job complete");
            }
            JobEnd::Ok
        }
        Err(JobError::LeaseLost) => {
            tracing::warn!("lease lost; another worker owns the job now, or the video was deleted");
            JobEnd::Lost
        }
        Err(JobError::Shutdown) => {
            tracing::info!("job interrupted by shutdown; it will run again at the next start");
            JobEnd::Interrupted
        }
        Err(e) => report_failure(ctx, &job, e).await,
    };
    flick_telemetry::metrics().job_finished(job.kind, end, started.elapsed());
}

/// A video deleted (or its upload abandoned) while its job ran: whatever the job stored meanwhile (segments, a
/// package, a thumbnail) must not outlive it.
async fn remove_if_gone(ctx: &Context, job: &Job) {
    let gone = match ctx.repo.get_video(job.video_id).await {
        Ok(None) => true,
        Ok(Some(v)) => v.is_gone(),
        Err(_) => false,
    };
    if !gone {
        return;
    }
    let id = job.video_id;
    let removed = async {
        ctx.store.delete_prefix(&BlobKey::hls_prefix(id)).await?;
        ctx.store.delete(&BlobKey::thumbnail(id)).await?;
        ctx.store.delete(&BlobKey::raw(id)).await
    };
    ctx.packages.forget(id);
    if let Err(e) = removed.await {
        tracing::warn!(error = %e, "could not remove what a deleted video's job stored");
    }
}

/// Records a failed run in the queue (and on the video when it is given up); says how the run ended.
async fn report_failure(ctx: &Context, job: &Job, error: JobError) -> JobEnd {
    let permanent = error.is_permanent();
    tracing::warn!(error = %error, permanent, "job failed");
    error.count_ffmpeg_failure();
    let outcome = match ctx.queue.fail(job, &error.to_string(), !permanent).await {
        Ok(o) => o,
        Err(e) => {
            tracing::warn!(error = %e, "could not record the failure; the lease will expire and the job run again");
            return JobEnd::Retry;
        }
    };
    if outcome == JobOutcome::GaveUp && matches!(job.kind, JobKind::Storyboard | JobKind::Ladder) {
        // The video plays without its previews or its ladder; its original goes on (to the ladder) or goes.
        if let Ok(Some(video)) = ctx.repo.get_video(job.video_id).await {
            let next = match job.kind {
                JobKind::Storyboard => crate::storyboard::hand_on(ctx, &video).await,
                _ => crate::steps::release_original(ctx, &video).await,
            };
            if let Err(e) = next {
                tracing::warn!(error = %e, "could not hand on the original of a job given up");
            }
        }
    }
    if outcome == JobOutcome::GaveUp && job.kind == JobKind::Process {
        let (code, message) = error.for_user();
        if let Err(e) = ctx.repo.update_video(job.video_id, &VideoUpdate::failed(&code, message)).await {
            tracing::error!(error = %e, "could not mark the video failed");
        }
    }
    if outcome == JobOutcome::GaveUp { JobEnd::Failed } else { JobEnd::Retry }
}

/// Renews the lease until it is lost; returns only then.
async fn keep_lease(ctx: &Context, job: &Job) -> JobError {
    let mut tick = tokio::time::interval(HEARTBEAT_EVERY);
    tick.tick().await;
    loop {
        tick.tick().await;
        match ctx.queue.heartbeat(job, LEASE).await {
            Ok(true) => {}
            Ok(false) => return JobError::LeaseLost,
            // A passing database error: keep going; the lease still has time left.
            Err(e) => tracing::warn!(error = %e, "heartbeat failed"),
        }
    }
}
