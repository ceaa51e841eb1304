//! [`JobQueue`] on SQLite: the `jobs` table, with leases, retries with backoff, and giving up.
//!
//! Every operation is a single statement, so SQLite's write lock makes it atomic: two workers
//! can never claim the same job, and a stale lease can never touch a reclaimed job.

use std::time::Duration;

use async_trait::async_trait;
use flick_domain::VideoId;
use flick_domain::ports::{Job, JobKind, JobOutcome, JobQueue, QueueError, QueueStats};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::{SqliteDb, duration_ms, now_ms};
use crate::random::random_hex;

/// A job row is claimable when it is queued and due, or running under a lease that has expired.
const CLAIMABLE: &str = "(state = 'queued' AND run_at <= ?1) OR (state = 'running' AND lease_expires_at <= ?1)";

/// Corrupt rows skipped in one claim before giving the caller an answer.
const MAX_CORRUPT_SKIPS: usize = 8;

/// Adds a queued job through `executor` (the pool, or a transaction); false when one was already queued or running
/// (the partial unique index on live jobs turns a second enqueue into a no-op).
pub(super) async fn insert_job<'e>(
    executor: impl sqlx::SqliteExecutor<'e>,
    video_id: VideoId,
    kind: JobKind,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
        "INSERT INTO jobs (video_id, kind, state, attempts, run_at, created_at) \
         VALUES (?1, ?2, 'queued', 0, ?3, ?3) ON CONFLICT DO NOTHING",
    )
    .bind(video_id.to_string())
    .bind(kind.as_str())
    .bind(now_ms())
    .execute(executor)
    .await?;
    Ok(result.rows_affected() > 0)
}

impl SqliteDb {
    /// Wakes this process's idle workers for a job just added (and committed: a woken worker must find it).
    pub(super) fn job_added(&self, video_id: VideoId, kind: JobKind) {
        tracing::debug!(video = %video_id, kind = kind.as_str(), "job enqueued");
        self.work.notify_waiters();
    }
}

#[async_trait]
impl JobQueue for SqliteDb {
    async fn enqueue(&self, video_id: VideoId, kind: JobKind) -> Result<(), QueueError> {
        if insert_job(&self.pool, video_id, kind).await.map_err(unavailable)? {
            self.job_added(video_id, kind);
        }
        Ok(())
    }

    async fn claim(&self, worker: &str, lease: Duration) -> Result<Option<Job>, QueueError> {
        for _ in 0..MAX_CORRUPT_SKIPS {
            let now = now_ms();
            let lease_id = random_hex(16).map_err(|e| QueueError::Unavailable(e.to_string()))?;
            let row = sqlx::query(&format!(
                "UPDATE jobs SET state = 'running', lease_owner = ?2, lease_id = ?3, lease_expires_at = ?4, \
                   attempts = attempts + 1 \
                 WHERE id = (SELECT id FROM jobs WHERE {CLAIMABLE} ORDER BY id LIMIT 1) \
                 RETURNING id, video_id, kind, attempts, lease_id"
            ))
            .bind(now)
            .bind(worker)
            .bind(&lease_id)
            .bind(now.saturating_add(duration_ms(lease)))
            .fetch_optional(&self.pool)
            .await
            .map_err(unavailable)?;
            let Some(row) = row else { return Ok(None) };
            match job_from_row(&row) {
                Ok(job) => {
                    tracing::debug!(job = job.id, video = %job.video_id, kind = job.kind.as_str(),
                        attempt = job.attempt, worker, "job claimed");
                    return Ok(Some(job));
                }
                Err((id, problem)) => {
                    // Set it aside rather than let it be reclaimed (and fail) forever.
                    tracing::error!(job = id, problem, "corrupt job row; marking it failed");
                    self.set_aside(id, &problem).await?;
                }
            }
        }
        Ok(None)
    }

    async fn heartbeat(&self, job: &Job, lease: Duration) -> Result<bool, QueueError> {
        let result =
            sqlx::query("UPDATE jobs SET lease_expires_at = ?1 WHERE id = ?2 AND lease_id = ?3 AND state = 'running'")
                .bind(now_ms().saturating_add(duration_ms(lease)))
                .bind(job.id)
                .bind(&job.lease_id)
                .execute(&self.pool)
                .await
                .map_err(unavailable)?;
        Ok(result.rows_affected() > 0)
    }

    async fn complete(&self, job: &Job) -> Result<(), QueueError> {
        let result = sqlx::query("DELETE FROM jobs WHERE id = ?1 AND lease_id = ?2 AND state = 'running'")
            .bind(job.id)
            .bind(&job.lease_id)
            .execute(&self.pool)
            .await
            .map_err(unavailable)?;
        if result.rows_affected() == 0 {
            tracing::warn!(job = job.id, video = %job.video_id, "completed a job whose lease was lost");
        }
        Ok(())
    }

    async fn fail(&self, job: &Job, reason: &str, retryable: bool) -> Result<JobOutcome, QueueError> {
        let now = now_ms();
        let retry = retryable && job.attempt < self.settings.max_attempts;
        let after = self.settings.backoff(job.attempt);
        let query = if retry {
            sqlx::query(
                "UPDATE jobs SET state = 'queued', run_at = ?1, last_error = ?2, \
                   lease_owner = NULL, lease_id = NULL, lease_expires_at = NULL \
                 WHERE id = ?3 AND lease_id = ?4 AND state = 'running'",
            )
            .bind(now.saturating_add(duration_ms(after)))
            .bind(reason)
        } else {
            sqlx::query(
                "UPDATE jobs SET state = 'failed', last_error = ?1, \
                   lease_owner = NULL, lease_id = NULL, lease_expires_at = NULL \
                 WHERE id = ?2 AND lease_id = ?3 AND state = 'running'",
            )
            .bind(reason)
        };
        let result = query.bind(job.id).bind(&job.lease_id).execute(&self.pool).await.map_err(unavailable)?;

        if result.rows_affected() == 0 {
            // Another worker holds the job now (or it was cancelled): leave it alone, and answer
            // "will run again" so the caller does not mark the video failed under that worker.
            tracing::warn!(job = job.id, video = %job.video_id, reason, "failed a job whose lease was lost");
            return Ok(JobOutcome::WillRetry { after: Duration::ZERO });
        }
        if retry {
            tracing::info!(job = job.id, video = %job.video_id, attempt = job.attempt, reason,
                retry_in_ms = duration_ms(after), "job failed; will retry");
            // Waiters recompute their deadline from the new run_at.
            self.work.notify_waiters();
            Ok(JobOutcome::WillRetry { after })
        } else {
            tracing::warn!(job = job.id, video = %job.video_id, attempt = job.attempt, reason, retryable,
                "job failed; giving up");
            Ok(JobOutcome::GaveUp)
        }
    }

    async fn release_leases_of(&self, worker_prefix: &str) -> Result<u64, QueueError> {
        // substr, not LIKE: '%' and '_' in worker names are literal characters.
        let result = sqlx::query(
            "UPDATE jobs SET state = 'queued', run_at = ?1, \
               lease_owner = NULL, lease_id = NULL, lease_expires_at = NULL \
             WHERE state = 'running' AND substr(lease_owner, 1, length(?2)) = ?2",
        )
        .bind(now_ms())
        .bind(worker_prefix)
        .execute(&self.pool)
        .await
        .map_err(unavailable)?;
        let released = result.rows_affected();
        if released > 0 {
            tracing::info!(released, worker_prefix, "released leases of dead workers");
            self.work.notify_waiters();
        }
        Ok(released)
    }

    async fn lease_owners(&self) -> Result<Vec<String>, QueueError> {
        sqlx::query_scalar(
            "SELECT DISTINCT lease_owner FROM jobs WHERE state = 'running' AND lease_owner IS NOT NULL ORDER BY 1",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(unavailable)
    }

    async fn stats(&self) -> Result<QueueStats, QueueError> {
        let now = now_ms();
        // One pass over the jobs table (completed jobs are deleted, so it stays small).
        let row = sqlx::query(
            "SELECT COALESCE(SUM(state = 'queued'), 0) AS queued, COALESCE(SUM(state = 'running'), 0) AS running, \
               COALESCE(SUM(state = 'failed'), 0) AS failed, \
               COALESCE(SUM(state = 'queued' AND run_at <= ?1), 0) AS due, \
               MIN(CASE WHEN state = 'queued' AND run_at <= ?1 THEN run_at END) AS oldest_due \
             FROM jobs",
        )
        .bind(now)
        .fetch_one(&self.pool)
        .await
        .map_err(unavailable)?;
        let count =
            |column: &str| row.try_get::<i64, _>(column).map(|n| u64::try_from(n).unwrap_or(0)).map_err(unavailable);
        let oldest_due: Option<i64> = row.try_get("oldest_due").map_err(unavailable)?;
        let waited_ms = oldest_due.map_or(0, |due| u64::try_from(now.saturating_sub(due)).unwrap_or(0));
        Ok(QueueStats {
            queued: count("queued")?,
            running: count("running")?,
            failed: count("failed")?,
            due: count("due")?,
            oldest_due_wait: Duration::from_millis(waited_ms),
        })
    }

    async fn cancel_video(&self, video_id: VideoId) -> Result<(), QueueError> {
        sqlx::query("DELETE FROM jobs WHERE video_id = ?1")
            .bind(video_id.to_string())
            .execute(&self.pool)
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn wait_for_work(&self, max: Duration) {
        // Register for a wake-up before looking, so an enqueue committed after the look still wakes us.
        let notified = self.work.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();

        let wait = match self.next_due_ms().await {
            Ok(Some(due)) => {
                let until_due = u64::try_from(due.saturating_sub(now_ms())).unwrap_or(0);
                max.min(Duration::from_millis(until_due))
            }
            Ok(None) => max,
            Err(e) => {
                tracing::warn!(error = %e, "cannot look for due jobs; waiting for a wake-up");
                max
            }
        };
        if wait.is_zero() {
            return;
        }
        let _ = tokio::time::timeout(wait, notified).await;
    }
}

impl SqliteDb {
    /// The reason last recorded for a job's failure (`None` if it never failed or does not exist), for diagnostics.
    pub async fn last_error_of(&self, job_id: i64) -> Result<Option<String>, QueueError> {
        let row = sqlx::query("SELECT last_error FROM jobs WHERE id = ?1")
            .bind(job_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(unavailable)?;
        match row {
            Some(row) => row.try_get::<Option<String>, _>("last_error").map_err(unavailable),
            None => Ok(None),
        }
    }

    /// When the next job becomes claimable (possibly already past), if any job is waiting.
    async fn next_due_ms(&self) -> Result<Option<i64>, QueueError> {
        let row = sqlx::query(
            "SELECT MIN(due) AS due FROM ( \
               SELECT MIN(run_at) AS due FROM jobs WHERE state = 'queued' \
               UNION ALL \
               SELECT MIN(lease_expires_at) FROM jobs WHERE state = 'running')",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(unavailable)?;
        row.try_get::<Option<i64>, _>("due").map_err(unavailable)
    }

    /// Marks a job that cannot be read as failed, so it is never claimed again.
    async fn set_aside(&self, id: i64, problem: &str) -> Result<(), QueueError> {
        sqlx::query(
            "UPDATE jobs SET state = 'failed', last_error = ?1, \
               lease_owner = NULL, lease_id = NULL, lease_expires_at = NULL WHERE id = ?2",
        )
        .bind(format!("corrupt job row: {problem}"))
        .bind(id)
        .execute(&self.pool)
        .await
        .map_err(unavailable)?;
        Ok(())
    }
}

/// Reads a claimed job; on bad data, the row id (when readable) and what is wrong.
fn job_from_row(row: &SqliteRow) -> Result<Job, (i64, String)> {
    let id: i64 = row.try_get("id").map_err(|e| (0, e.to_string()))?;
    let text = |column: &str| row.try_get::<String, _>(column).map_err(|e| (id, format!("{column}: {e}")));
    let video = text("video_id")?;
    let video_id = VideoId::parse(&video).map_err(|_| (id, format!("malformed video id {video:?}")))?;
    let kind_text = text("kind")?;
    let kind = JobKind::parse(&kind_text).ok_or_else(|| (id, format!("unknown kind {kind_text:?}")))?;
    let attempts: i64 = row.try_get("attempts").map_err(|e| (id, format!("attempts: {e}")))?;
    let attempt = u32::try_from(attempts).map_err(|_| (id, format!("attempts is {attempts}")))?;
    Ok(Job { id, video_id, kind, attempt, lease_id: text("lease_id")? })
}

fn unavailable(e: sqlx::Error) -> QueueError {
    QueueError::Unavailable(e.to_string())
}
