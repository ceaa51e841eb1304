//! Flick's metrics, in one process-wide [`Metrics`] that the HTTP layer and the workers record into without
//! depending on each other, rendered in the Prometheus text format for `GET /metrics`.
//!
//! Labels take values from small fixed sets (upload kind, job kind and outcome, error codes, job states): never a
//! video id, title or address, so the endpoint can be unauthenticated and the series count stays bounded.

use std::sync::LazyLock;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use flick_domain::ports::{JobKind, QueueStats};
use prometheus_client::encoding::{EncodeLabelSet, prometheus_text};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// The `Content-Type` of [`Metrics::render`]'s output (Prometheus text format 0.0.4).
pub const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

/// Every metric name starts with this (and `_`).
const PREFIX: &str = "flick";

/// Job run times: a remux takes well under a second, a re-encode of a long 1080p video many minutes.
const JOB_SECONDS: [f64; 12] = [0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0];
/// Time to first playable: the target is about a second, so the buckets are dense below a few seconds.
const TTFP_SECONDS: [f64; 12] = [0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0, 60.0];

/// This process's metrics.
pub fn metrics() -> &'static Metrics {
    static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);
    &METRICS
}

/// How an upload arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UploadKind {
    /// `POST`/`PUT /api/upload`, one request.
    Post,
    /// tus (`/api/uploads`), resumable.
    Tus,
}

impl UploadKind {
    fn as_str(self) -> &'static str {
        match self {
            UploadKind::Post => "post",
            UploadKind::Tus => "tus",
        }
    }
}

/// How one run of a job ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobEnd {
    Ok,
    /// Failed; it runs again after a backoff.
    Retry,
    /// Failed for good (bad input, or out of attempts).
    Failed,
    /// Its lease was lost (taken over after a stall, or the video was deleted).
    Lost,
    /// Stopped by this process's shutdown; it runs again elsewhere or at the next start.
    Interrupted,
}

impl JobEnd {
    fn as_str(self) -> &'static str {
        match self {
            JobEnd::Ok => "ok",
            JobEnd::Retry => "retry",
            JobEnd::Failed => "failed",
            JobEnd::Lost => "lost",
            JobEnd::Interrupted => "interrupted",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct KindLabel {
    kind: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct CodeLabel {
    code: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct JobLabels {
    kind: &'static str,
    outcome: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct StateLabel {
    state: &'static str,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// The process's counters and histograms (the queue gauges are read from the database at each scrape).
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    uploads_completed: Family<KindLabel, Counter>,
    upload_bytes: Counter,
    uploads_refused: Family<CodeLabel, Counter>,
    jobs_finished: Family<JobLabels, Counter>,
    job_duration: HistogramFamily<KindLabel>,
    ffmpeg_failures: Family<CodeLabel, Counter>,
    first_playable: Histogram,
    limited: Family<CodeLabel, Counter>,
    videos_retired: Counter,
}

impl Metrics {
    /// A fresh set, all at zero (tests make their own; the process uses [`metrics`]).
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix(PREFIX);
        let uploads_completed = Family::<KindLabel, Counter>::default();
        registry.register(
            "uploads_completed",
            "Uploads fully received and accepted as videos, by intake (post, tus)",
            uploads_completed.clone(),
        );
        let upload_bytes = Counter::default();
        registry.register(
            "upload_received_bytes",
            "Bytes of upload bodies received, finished or not",
            upload_bytes.clone(),
        );
        let uploads_refused = Family::<CodeLabel, Counter>::default();
        registry.register(
            "uploads_refused",
            "Upload requests answered with an error, by the API's error code (too_large, too_many_requests, ...)",
            uploads_refused.clone(),
        );
        let jobs_finished = Family::<JobLabels, Counter>::default();
        registry.register(
            "jobs_finished",
            "Job runs ended, by kind and outcome (ok, retry, failed, lost, interrupted)",
            jobs_finished.clone(),
        );
        let job_duration: HistogramFamily<KindLabel> = Family::new_with_constructor(|| Histogram::new(JOB_SECONDS));
        registry.register("job_duration_seconds", "How long job runs took, by kind", job_duration.clone());
        let ffmpeg_failures = Family::<CodeLabel, Counter>::default();
        registry.register(
            "ffmpeg_failures",
            "ffmpeg or ffprobe runs that failed (ffmpeg_failed) or were killed for running too long (too_slow)",
            ffmpeg_failures.clone(),
        );
        let first_playable = Histogram::new(TTFP_SECONDS);
        registry.register(
            "time_to_first_playable_seconds",
            "From the upload's acknowledgement to the first published playlist listing a segment",
            first_playable.clone(),
        );
        let limited = Family::<CodeLabel, Counter>::default();
        registry.register(
            "requests_limited",
            "Requests of any route refused by a limit or budget (429, 503, 507), by the API's error code",
            limited.clone(),
        );
        let videos_retired = Counter::default();
        registry.register(
            "videos_retired",
            "Videos deleted by the retention policy (storage.retention_days without a view)",
            videos_retired.clone(),
        );
        Metrics {
            registry,
            limited,
            videos_retired,
            uploads_completed,
            upload_bytes,
            uploads_refused,
            jobs_finished,
            job_duration,
            ffmpeg_failures,
            first_playable,
        }
    }

    /// An upload became a video.
    pub fn upload_completed(&self, kind: UploadKind) {
        self.uploads_completed.get_or_create(&KindLabel { kind: kind.as_str() }).inc();
    }

    /// `n` more bytes of an upload body arrived.
    pub fn upload_bytes(&self, n: u64) {
        self.upload_bytes.inc_by(n);
    }

    /// An upload request was answered with the error `code` (one of the API's fixed codes).
    pub fn upload_refused(&self, code: &'static str) {
        self.uploads_refused.get_or_create(&CodeLabel { code }).inc();
    }

    /// A request was refused by a limit or budget with the error `code`.
    pub fn limited(&self, code: &'static str) {
        self.limited.get_or_create(&CodeLabel { code }).inc();
    }

    /// The retention policy deleted a video.
    pub fn video_retired(&self) {
        self.videos_retired.inc();
    }

    /// A run of a job ended after `took`.
    pub fn job_finished(&self, kind: JobKind, end: JobEnd, took: Duration) {
        let kind = kind.as_str();
        self.jobs_finished.get_or_create(&JobLabels { kind, outcome: end.as_str() }).inc();
        self.job_duration.get_or_create(&KindLabel { kind }).observe(took.as_secs_f64());
    }

    /// An ffmpeg or ffprobe run failed; `code` is the media error's code (`ffmpeg_failed`, `too_slow`).
    pub fn ffmpeg_failed(&self, code: &'static str) {
        self.ffmpeg_failures.get_or_create(&CodeLabel { code }).inc();
    }

    /// A video's first playlist listing a segment was published `after` its upload was acknowledged.
    pub fn first_playable(&self, after: Duration) {
        self.first_playable.observe(after.as_secs_f64());
    }

    /// Everything in the Prometheus text format, with the queue gauges when `queue` is known (left out, rather than
    /// stale, when the database did not answer).
    pub fn render(&self, queue: Option<&QueueStats>) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail; an encoding error would only cut the text short.
        let _ = prometheus_text::encode(&mut out, &self.registry);
        if let Some(stats) = queue {
            let _ = prometheus_text::encode(&mut out, &queue_registry(stats));
        }
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

/// The queue gauges, made at each scrape from what the database says (shared by every process using it).
fn queue_registry(stats: &QueueStats) -> Registry {
    let mut registry = Registry::with_prefix(PREFIX);
    let jobs = Family::<StateLabel, Gauge>::default();
    for (state, n) in [("queued", stats.queued), ("running", stats.running), ("failed", stats.failed)] {
        jobs.get_or_create(&StateLabel { state }).set(i64::try_from(n).unwrap_or(i64::MAX));
    }
    registry.register("jobs", "Jobs in the queue by state, across every process sharing the database", jobs);
    let depth = Gauge::<i64>::default();
    depth.set(i64::try_from(stats.due).unwrap_or(i64::MAX));
    registry.register("queue_depth", "Queued jobs that are due and wait only for a free worker", depth);
    let oldest = Gauge::<f64, AtomicU64>::default();
    oldest.set(stats.oldest_due_wait.as_secs_f64());
    registry.register(
        "queue_oldest_wait_seconds",
        "How long the longest-waiting due job has waited for a worker (0 when none waits)",
        oldest,
    );
    registry
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The value of the sample `series` (name and labels, exactly as rendered).
    fn sample(text: &str, series: &str) -> Option<f64> {
        text.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
    }

    #[test]
    fn render_lists_what_was_recorded_in_the_prometheus_text_format() {
        let m = Metrics::new();
        m.upload_completed(UploadKind::Post);
        m.upload_completed(UploadKind::Tus);
        m.upload_completed(UploadKind::Tus);
        m.upload_bytes(1000);
        m.upload_bytes(24);
        m.upload_refused("too_large");
        m.job_finished(JobKind::Process, JobEnd::Ok, Duration::from_millis(400));
        m.job_finished(JobKind::Process, JobEnd::Retry, Duration::from_secs(40));
        m.ffmpeg_failed("too_slow");
        m.limited("daily_quota_exceeded");
        m.video_retired();
        m.first_playable(Duration::from_millis(300));
        let text = m.render(None);

        assert!(text.contains("# TYPE flick_uploads_completed_total counter\n"), "{text}");
        assert_eq!(sample(&text, "flick_uploads_completed_total{kind=\"post\"}"), Some(1.0));
        assert_eq!(sample(&text, "flick_uploads_completed_total{kind=\"tus\"}"), Some(2.0));
        assert_eq!(sample(&text, "flick_upload_received_bytes_total"), Some(1024.0));
        assert_eq!(sample(&text, "flick_uploads_refused_total{code=\"too_large\"}"), Some(1.0));
        assert_eq!(sample(&text, "flick_jobs_finished_total{kind=\"process\",outcome=\"ok\"}"), Some(1.0));
        assert_eq!(sample(&text, "flick_jobs_finished_total{kind=\"process\",outcome=\"retry\"}"), Some(1.0));
        assert!(text.contains("# TYPE flick_job_duration_seconds histogram\n"), "{text}");
        assert_eq!(sample(&text, "flick_job_duration_seconds_count{kind=\"process\"}"), Some(2.0));
        assert_eq!(sample(&text, "flick_job_duration_seconds_bucket{kind=\"process\",le=\"0.5\"}"), Some(1.0));
        assert_eq!(sample(&text, "flick_ffmpeg_failures_total{code=\"too_slow\"}"), Some(1.0));
        assert_eq!(sample(&text, "flick_requests_limited_total{code=\"daily_quota_exceeded\"}"), Some(1.0));
        assert_eq!(sample(&text, "flick_videos_retired_total"), Some(1.0));
        assert_eq!(sample(&text, "flick_time_to_first_playable_seconds_count"), Some(1.0));
        assert_eq!(sample(&text, "flick_time_to_first_playable_seconds_bucket{le=\"0.25\"}"), Some(0.0));
        assert_eq!(sample(&text, "flick_time_to_first_playable_seconds_bucket{le=\"0.5\"}"), Some(1.0));
        // The 0.0.4 text format has no OpenMetrics terminator, and nothing unrecorded shows a label.
        assert!(!text.contains("# EOF"), "{text}");
        assert!(!text.contains("flick_jobs{"), "no queue gauges without queue stats: {text}");
        assert!(text.ends_with('\n'));
    }

    #[test]
    fn render_adds_the_queue_gauges_when_the_database_answered() {
        let stats =
            QueueStats { queued: 3, running: 2, failed: 1, due: 2, oldest_due_wait: Duration::from_millis(1500) };
        let text = Metrics::new().render(Some(&stats));
        assert_eq!(sample(&text, "flick_jobs{state=\"queued\"}"), Some(3.0));
        assert_eq!(sample(&text, "flick_jobs{state=\"running\"}"), Some(2.0));
        assert_eq!(sample(&text, "flick_jobs{state=\"failed\"}"), Some(1.0));
        assert_eq!(sample(&text, "flick_queue_depth"), Some(2.0));
        assert_eq!(sample(&text, "flick_queue_oldest_wait_seconds"), Some(1.5));
        assert!(text.contains("# TYPE flick_queue_depth gauge\n"), "{text}");
        // Counters start at zero and are listed from the first scrape.
        assert_eq!(sample(&text, "flick_upload_received_bytes_total"), Some(0.0));
    }

    #[test]
    fn the_process_wide_instance_is_one() {
        assert!(std::ptr::eq(metrics(), metrics()));
    }
}
