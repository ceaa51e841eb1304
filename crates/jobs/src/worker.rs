//! The worker loop: claim, run with a kept-alive lease, report.

use std::sync::Arc;
use std::time::Duration;

use flick_domain::VideoUpdate;
use flick_domain::ports::{Job, JobKind, JobOutcome};
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

/// Starts `count` workers; they stop when `shutdown` is cancelled (a running job's ffmpeg is killed).
pub fn spawn_workers(ctx: Arc<Context>, count: u32, shutdown: CancellationToken) -> Vec<JoinHandle<()>> {
    (0..count)
        .map(|i| {
            let name = format!("{}w{i}", ctx.node.name());
            tokio::spawn(worker_loop(ctx.clone(), name, shutdown.clone()))
        })
        .collect()
}

async fn worker_loop(ctx: Arc<Context>, name: String, shutdown: CancellationToken) {
    tracing::debug!(worker = %name, "worker started");
    while !shutdown.is_cancelled() {
        match ctx.queue.claim(&name, LEASE).await {
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
        r = pipeline::run(ctx, &job, &work) => r,
        r = keep_lease(ctx, &job) => Err(r),
        _ = shutdown.cancelled() => Err(JobError::Shutdown),
    };
    if let Err(e) = tokio::fs::remove_dir_all(&work).await
        && e.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(error = %e, "could not remove the job's work folder");
    }
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
