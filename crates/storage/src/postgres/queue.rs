//! [`JobQueue`] on PostgreSQL: the `jobs` table, shared by every worker of every process.
//!
//! Every operation is a single statement. A claim locks the oldest claimable row with `FOR UPDATE SKIP LOCKED`, so
//! concurrent claimers each take a different job instead of queueing behind (or failing on) the same one. Leases,
//! backoffs and "due" are computed with the database's `now()`, never a machine's own clock. A lease not renewed in
//! time (its worker died, or lost the database) makes the job claimable again: that is the sweep. Enqueues, retries
//! and releases `NOTIFY` [`CHANNEL`] in the same statement (delivered at commit), waking idle workers everywhere; the
//! payload names the sending [`PgDb`], whose own waiters were woken directly and ignore it.

use std::time::Duration;

use async_trait::async_trait;
use flick_domain::VideoId;
use flick_domain::ports::{Job, JobKind, JobOutcome, JobQueue, QueueError, QueueStats};
use sqlx::Row;
use sqlx::postgres::PgRow;

use super::{CHANNEL, PgDb, duration_ms};
use crate::random::random_hex;

/// A job row is claimable when it is queued and due, or running under a lease that has expired.
const CLAIMABLE: &str = "(state = 'queued' AND run_at <= now()) OR (state = 'running' AND lease_expires_at <= now())";

/// Corrupt rows skipped in one claim before giving the caller an answer.
const MAX_CORRUPT_SKIPS: usize = 8;

/// `$n` milliseconds as an interval.
fn ms(n: u8) -> String {
    format!("(${n}::bigint * interval '1 millisecond')")
}

/// Adds a queued job through `executor` (the pool, or a transaction) and notifies idle workers of every process
/// (inside a transaction the notification goes out at commit); false when one was already queued or running (the
/// partial unique index on live jobs makes a second enqueue a no-op, with no notification).
pub(super) async fn insert_job<'e>(
    executor: impl sqlx::PgExecutor<'e>,
    video_id: VideoId,
    kind: JobKind,
    instance: &str,
) -> Result<bool, sqlx::Error> {
    let inserted: i64 = sqlx::query_scalar(&format!(
        "WITH inserted AS ( \
           INSERT INTO jobs (video_id, kind, state, attempts, run_at, created_at) \
           VALUES ($1, $2, 'queued', 0, now(), now()) ON CONFLICT DO NOTHING RETURNING id) \
         SELECT count(*) FROM (SELECT pg_notify('{CHANNEL}', $3) FROM inserted) AS notified"
    ))
    .bind(video_id.to_string())
    .bind(kind.as_str())
    .bind(instance)
    .fetch_one(executor)
    .await?;
    Ok(inserted > 0)
}

impl PgDb {
    /// Wakes this process's idle workers for a job just added and committed (they ignore their own process's
    /// notifications).
    pub(super) fn job_added(&self, video_id: VideoId, kind: JobKind) {
        tracing::debug!(video = %video_id, kind = kind.as_str(), "job enqueued");
        self.work.notify_waiters();
    }
}

#[async_trait]
impl JobQueue for PgDb {
    async fn enqueue(&self, video_id: VideoId, kind: JobKind) -> Result<(), QueueError> {
        if insert_job(&self.pool, video_id, kind, &self.instance).await.map_err(unavailable)? {
            self.job_added(video_id, kind);
        }
        Ok(())
    }

    async fn claim(&self, worker: &str, lease: Duration) -> Result<Option<Job>, QueueError> {
        for _ in 0..MAX_CORRUPT_SKIPS {
            let lease_id = random_hex(16).map_err(|e| QueueError::Unavailable(e.to_string()))?;
            let row = sqlx::query(&format!(
                "UPDATE jobs SET state = 'running', lease_owner = $1, lease_id = $2, \
                   lease_expires_at = now() + {lease}, attempts = attempts + 1 \
                 WHERE id = (SELECT id FROM jobs WHERE {CLAIMABLE} ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED) \
                 RETURNING id, video_id, kind, attempts, lease_id",
                lease = ms(3)
            ))
            .bind(worker)
            .bind(&lease_id)
            .bind(duration_ms(lease))
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
        let result = sqlx::query(&format!(
            "UPDATE jobs SET lease_expires_at = now() + {lease} WHERE id = $2 AND lease_id = $3 AND state = 'running'",
            lease = ms(1)
        ))
        .bind(duration_ms(lease))
        .bind(job.id)
        .bind(&job.lease_id)
        .execute(&self.pool)
        .await
        .map_err(unavailable)?;
        Ok(result.rows_affected() > 0)
    }

    async fn complete(&self, job: &Job) -> Result<(), QueueError> {
        let result = sqlx::query("DELETE FROM jobs WHERE id = $1 AND lease_id = $2 AND state = 'running'")
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
        let retry = retryable && job.attempt < self.settings.max_attempts;
        let after = self.settings.backoff(job.attempt);
        let requeue = format!(
            "WITH requeued AS ( \
               UPDATE jobs SET state = 'queued', run_at = now() + {backoff}, last_error = $2, \
                 lease_owner = NULL, lease_id = NULL, lease_expires_at = NULL \
               WHERE id = $3 AND lease_id = $4 AND state = 'running' RETURNING id) \
             SELECT count(*) FROM (SELECT pg_notify('{CHANNEL}', $5) FROM requeued) AS notified",
            backoff = ms(1)
        );
        let query = if retry {
            sqlx::query_scalar::<_, i64>(&requeue).bind(duration_ms(after)).bind(reason)
        } else {
            sqlx::query_scalar::<_, i64>(
                "WITH failed AS ( \
                   UPDATE jobs SET state = 'failed', last_error = $1, \
                     lease_owner = NULL, lease_id = NULL, lease_expires_at = NULL \
                   WHERE id = $2 AND lease_id = $3 AND state = 'running' RETURNING id) \
                 SELECT count(*) FROM failed",
            )
            .bind(reason)
        };
        let query = query.bind(job.id).bind(&job.lease_id);
        let query = if retry { query.bind(&*self.instance) } else { query };
        let changed = query.fetch_one(&self.pool).await.map_err(unavailable)?;

        if changed == 0 {
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
        // starts_with, not LIKE: '%' and '_' in worker names are literal characters.
        let released: i64 = sqlx::query_scalar(&format!(
            "WITH released AS ( \
               UPDATE jobs SET state = 'queued', run_at = now(), \
                 lease_owner = NULL, lease_id = NULL, lease_expires_at = NULL \
               WHERE state = 'running' AND starts_with(lease_owner, $1) RETURNING id) \
             SELECT count(*) FROM (SELECT pg_notify('{CHANNEL}', $2) FROM released) AS notified"
        ))
        .bind(worker_prefix)
        .bind(&*self.instance)
        .fetch_one(&self.pool)
        .await
        .map_err(unavailable)?;
        let released = u64::try_from(released).unwrap_or(0);
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
        // "Due" and the wait are measured with the database's clock, like claims.
        let row = sqlx::query(
            "SELECT count(*) FILTER (WHERE state = 'queued') AS queued, \
               count(*) FILTER (WHERE state = 'running') AS running, \
               count(*) FILTER (WHERE state = 'failed') AS failed, \
               count(*) FILTER (WHERE state = 'queued' AND run_at <= now()) AS due, \
               COALESCE((EXTRACT(EPOCH FROM now() - min(run_at) FILTER (WHERE state = 'queued' AND run_at <= now())) \
                 * 1000)::bigint, 0) AS waited_ms \
             FROM jobs",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(unavailable)?;
        let count =
            |column: &str| row.try_get::<i64, _>(column).map(|n| u64::try_from(n).unwrap_or(0)).map_err(unavailable);
        Ok(QueueStats {
            queued: count("queued")?,
            running: count("running")?,
            failed: count("failed")?,
            due: count("due")?,
            oldest_due_wait: Duration::from_millis(count("waited_ms")?),
        })
    }

    async fn cancel_video(&self, video_id: VideoId) -> Result<(), QueueError> {
        sqlx::query("DELETE FROM jobs WHERE video_id = $1")
            .bind(video_id.to_string())
            .execute(&self.pool)
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn wait_for_work(&self, max: Duration) {
        // Register for a wake-up before looking, so an enqueue committed after the look still wakes us
        // (whether it came from this process or, through NOTIFY, from another).
        let notified = self.work.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();

        let wait = match self.until_next_due().await {
            Ok(Some(until_due)) => max.min(until_due),
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

impl PgDb {
    /// The reason last recorded for a job's failure (`None` if it never failed or does not exist), for diagnostics.
    pub async fn last_error_of(&self, job_id: i64) -> Result<Option<String>, QueueError> {
        let row = sqlx::query("SELECT last_error FROM jobs WHERE id = $1")
            .bind(job_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(unavailable)?;
        match row {
            Some(row) => row.try_get::<Option<String>, _>("last_error").map_err(unavailable),
            None => Ok(None),
        }
    }

    /// How long until the next job becomes claimable (zero if one already is), by the database's clock; `None` if
    /// no job is waiting.
    async fn until_next_due(&self) -> Result<Option<Duration>, QueueError> {
        let ms: Option<f64> = sqlx::query_scalar(
            "SELECT (EXTRACT(EPOCH FROM (MIN(due) - now())) * 1000)::float8 FROM ( \
               SELECT MIN(run_at) AS due FROM jobs WHERE state = 'queued' \
               UNION ALL \
               SELECT MIN(lease_expires_at) FROM jobs WHERE state = 'running') AS next",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(unavailable)?;
        // Rounded up: waking a little late beats waking early and finding nothing.
        Ok(ms.map(|ms| Duration::from_millis(ms.max(0.0).ceil().min(u64::MAX as f64) as u64)))
    }

    /// Marks a job that cannot be read as failed, so it is never claimed again.
    async fn set_aside(&self, id: i64, problem: &str) -> Result<(), QueueError> {
        sqlx::query(
            "UPDATE jobs SET state = 'failed', last_error = $1, \
               lease_owner = NULL, lease_id = NULL, lease_expires_at = NULL WHERE id = $2",
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
fn job_from_row(row: &PgRow) -> Result<Job, (i64, String)> {
    let id: i64 = row.try_get("id").map_err(|e| (0, e.to_string()))?;
    let text = |column: &str| row.try_get::<String, _>(column).map_err(|e| (id, format!("{column}: {e}")));
    let video = text("video_id")?;
    let video_id = VideoId::parse(&video).map_err(|_| (id, format!("malformed video id {video:?}")))?;
    let kind_text = text("kind")?;
    let kind = JobKind::parse(&kind_text).ok_or_else(|| (id, format!("unknown kind {kind_text:?}")))?;
    let attempts: i32 = row.try_get("attempts").map_err(|e| (id, format!("attempts: {e}")))?;
    let attempt = u32::try_from(attempts).map_err(|_| (id, format!("attempts is {attempts}")))?;
    Ok(Job { id, video_id, kind, attempt, lease_id: text("lease_id")? })
}

fn unavailable(e: sqlx::Error) -> QueueError {
    QueueError::Unavailable(e.to_string())
}
