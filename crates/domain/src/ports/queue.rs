use std::time::Duration;

use async_trait::async_trait;

use crate::ids::VideoId;

/// A failure of the job queue.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("job queue unavailable: {0}")]
    Unavailable(String),
}

/// What a job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    /// Probe, plan, transcode/remux to HLS and make the thumbnail.
    Process,
    /// Make only the thumbnail of an already ready video (self-healing).
    Thumbnail,
    /// Make the seek-bar previews (storyboard) of a video that just became ready, then hand its original on (to the
    /// ladder, or to deletion).
    Storyboard,
    /// Make the MP4 viewers download of a ready video whose original is gone (its first rendition, remuxed).
    Download,
    /// Add the lower renditions of the adaptive ladder to a ready video (`processing.ladder`).
    Ladder,
}

impl JobKind {
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Process => "process",
            JobKind::Thumbnail => "thumbnail",
            JobKind::Storyboard => "storyboard",
            JobKind::Download => "download",
            JobKind::Ladder => "ladder",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "process" => Some(JobKind::Process),
            "thumbnail" => Some(JobKind::Thumbnail),
            "storyboard" => Some(JobKind::Storyboard),
            "download" => Some(JobKind::Download),
            "ladder" => Some(JobKind::Ladder),
            _ => None,
        }
    }
}

/// Which jobs a worker takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pool {
    /// Any due job but ladder jobs.
    Any,
    /// Jobs of videos whose upload is still arriving: their work waits on the uploader more than it computes (a
    /// re-encode keeps pace with the upload), so they have workers of their own and never hold back the others.
    Live,
    /// Jobs of videos whose upload is complete (or that no longer exist).
    Settled,
    /// Ladder jobs only (which no other pool takes): lower renditions wait for workers of their own, so they never
    /// delay a first rendition.
    Ladder,
}

/// A claimed job. The claim holds a lease that the worker must renew with [`JobQueue::heartbeat`].
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: i64,
    pub video_id: VideoId,
    pub kind: JobKind,
    /// How many times this job has been claimed, this claim included.
    pub attempt: u32,
    /// Identifies this claim; a heartbeat or completion with a stale lease is refused.
    pub lease_id: String,
}

/// What happened to a job reported failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOutcome {
    /// It will run again after a backoff.
    WillRetry { after: Duration },
    /// It will not run again; the reason is recorded.
    GaveUp,
}

/// The jobs table at one moment, for monitoring (`/metrics`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueueStats {
    /// Jobs waiting to run, those backing off after a failure included.
    pub queued: u64,
    /// Jobs claimed by a worker (their lease may have expired).
    pub running: u64,
    /// Jobs given up, kept as a record.
    pub failed: u64,
    /// Queued jobs that are due now: they wait only for a free worker.
    pub due: u64,
    /// How long the longest-waiting due job has been due (zero when none is).
    pub oldest_due_wait: Duration,
}

/// A durable queue of jobs with leases, retries with backoff, and giving up with a reason.
#[async_trait]
pub trait JobQueue: Send + Sync + 'static {
    /// Adds a job unless the same (video, kind) is already queued or running.
    async fn enqueue(&self, video_id: VideoId, kind: JobKind) -> Result<(), QueueError>;
    /// Claims the oldest due job of `pool` for `worker`, leasing it for `lease`.
    async fn claim(&self, worker: &str, lease: Duration, pool: Pool) -> Result<Option<Job>, QueueError>;
    /// Extends the lease; false when the lease was lost (expired and reclaimed, or the job cancelled).
    async fn heartbeat(&self, job: &Job, lease: Duration) -> Result<bool, QueueError>;
    /// Removes a finished job.
    async fn complete(&self, job: &Job) -> Result<(), QueueError>;
    /// Reports a failure: retried with backoff if `retryable` and attempts remain, else given up with `reason`.
    async fn fail(&self, job: &Job, reason: &str, retryable: bool) -> Result<JobOutcome, QueueError>;
    /// Makes the jobs leased by workers whose name starts with `worker_prefix` claimable at once
    /// (a process's own workers at its graceful stop; at start-up, those of processes known to be dead).
    async fn release_leases_of(&self, worker_prefix: &str) -> Result<u64, QueueError>;
    /// The distinct names of the workers holding a running job's lease (expired or not), so that start-up can find
    /// those of dead processes on this host.
    async fn lease_owners(&self) -> Result<Vec<String>, QueueError>;
    /// Counts the jobs by state, and how long due jobs have waited for a worker.
    async fn stats(&self) -> Result<QueueStats, QueueError>;
    /// Drops every job of a video (it was deleted).
    async fn cancel_video(&self, video_id: VideoId) -> Result<(), QueueError>;
    /// Waits until a job may be available or `max` has passed (a hint; callers then try [`JobQueue::claim`]).
    async fn wait_for_work(&self, max: Duration);
}
