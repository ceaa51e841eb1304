//! [`JobQueue`]: the `jobs` table, with leases, retries with backoff, and giving up.
//!
//! Every operation is a single statement, hence atomic: two workers never claim the same job (SQLite's write lock
//! serialises claims; on PostgreSQL a claim locks the row it picks with `FOR UPDATE SKIP LOCKED`, so concurrent
//! claimers each take a different job instead of queueing behind the same one), and a stale lease never touches a
//! reclaimed job.
//!
//! Claims are fair between uploaders (the opaque `videos.uploader` tag): the job picked is one of the uploader whose
//! last claim is oldest (`queue_turns`), oldest job first, so one uploader queueing a hundred videos delays another's
//! by one job per worker at most, not by a hundred. A turn is recorded just after its claim; losing that write (a
//! crash between the two) costs fairness for one claim, never a job. Leases, backoffs and "due" are computed with the database's clock ([`Engine::NOW`]),
//! never a machine's own. A lease not renewed in time (its worker died, or lost the database) makes the job claimable
//! again: that is the sweep. Enqueues, retries and releases are announced on [`Channel::Jobs`].
//!
//! [`Engine::NOW`]: super::Engine::NOW

use std::time::Duration;

use async_trait::async_trait;
use flick_domain::VideoId;
use flick_domain::ports::{Job, JobKind, JobOutcome, JobQueue, Pool, QueueError, QueueStats};

use super::rows::{JOB_COLUMNS, JobRow};
use super::{Bind, Channel, Sql, SqlDb, duration_ms, queue_error};
use crate::random::random_hex;

/// Corrupt rows skipped in one claim before giving the caller an answer.
const MAX_CORRUPT_SKIPS: usize = 8;

impl<DB: Sql> SqlDb<DB> {
    /// Adds a queued job through `conn` (inside a transaction, the announcement goes out at commit); false when one
    /// was already queued or running (the partial unique index on live jobs makes a second enqueue a no-op, and
    /// silent).
    pub(super) async fn insert_job(
        &self,
        conn: &mut DB::Connection,
        video_id: VideoId,
        kind: JobKind,
    ) -> Result<bool, sqlx::Error> {
        let sql = DB::announcing(
            &self.parts,
            &format!(
                "INSERT INTO jobs (video_id, kind, state, attempts, run_at, created_at) \
                 VALUES ($1, $2, 'queued', 0, {now}, {now}) ON CONFLICT DO NOTHING RETURNING id",
                now = DB::NOW
            ),
            Channel::Jobs,
        );
        let rows = DB::rows(conn, sqlx::query(&sql).id(video_id).text(kind.as_str().to_owned())).await?;
        Ok(!rows.is_empty())
    }

    /// Wakes this process's idle workers for a job just added and committed.
    pub(super) fn job_added(&self, video_id: VideoId, kind: JobKind) {
        tracing::debug!(video = %video_id, kind = kind.as_str(), "job enqueued");
        self.wakers.jobs_changed();
    }

    /// Whether the statement changed a row.
    async fn changed(&self, query: super::Statement<'_, DB>) -> Result<bool, QueueError> {
        Ok(!self.rows(query).await.map_err(queue_error)?.is_empty())
    }

    /// The reason last recorded for a job's failure (`None` if it never failed or does not exist), for diagnostics.
    pub(crate) async fn last_error(&self, job_id: i64) -> Result<Option<String>, QueueError> {
        let rows = self
            .rows(sqlx::query("SELECT last_error FROM jobs WHERE id = $1").int(job_id))
            .await
            .map_err(queue_error)?;
        rows.first().map_or(Ok(None), |row| DB::text_at(row, 0).map_err(queue_error))
    }

    /// How long until the next job becomes claimable (zero if one already is), by the database's clock; `None` if
    /// no job is waiting.
    async fn until_next_due(&self) -> Result<Option<Duration>, QueueError> {
        let sql = format!(
            "SELECT {until} FROM ( \
               SELECT MIN(run_at) AS due FROM jobs WHERE state = 'queued' \
               UNION ALL \
               SELECT MIN(lease_expires_at) FROM jobs WHERE state = 'running') AS next",
            until = DB::ms_until("MIN(due)")
        );
        let rows = self.rows(sqlx::query(&sql)).await.map_err(queue_error)?;
        let ms = rows.first().map_or(Ok(None), |row| DB::int_at(row, 0).map_err(queue_error))?;
        Ok(ms.map(|ms| Duration::from_millis(u64::try_from(ms).unwrap_or(0))))
    }

    /// Records that the uploader of `video_id` just had a job claimed: its next one waits for everyone else's turn.
    /// Only fairness depends on it: a failure is logged, not returned (the job is claimed either way).
    async fn take_turn(&self, video_id: VideoId) {
        let sql = "INSERT INTO queue_turns (uploader, turn) \
                   SELECT COALESCE(v.uploader, ''), (SELECT COALESCE(MAX(turn), 0) + 1 FROM queue_turns) \
                   FROM videos v WHERE v.id = $1 \
                   ON CONFLICT (uploader) DO UPDATE SET turn = excluded.turn";
        if let Err(e) = self.rows(sqlx::query(sql).id(video_id)).await {
            tracing::warn!(video = %video_id, error = %e, "could not record a queue turn");
        }
    }

    /// Forgets the turn of `video_id`'s uploader when none of its jobs is left queued or running (the table then only
    /// holds uploaders with work waiting). Best effort, like [`Self::take_turn`].
    async fn forget_idle_turn(&self, video_id: VideoId) {
        let sql = "DELETE FROM queue_turns \
                   WHERE uploader = (SELECT COALESCE(uploader, '') FROM videos WHERE id = $1) \
                     AND NOT EXISTS (SELECT 1 FROM jobs JOIN videos v ON v.id = jobs.video_id \
                                     WHERE COALESCE(v.uploader, '') = queue_turns.uploader \
                                       AND jobs.state IN ('queued', 'running'))";
        if let Err(e) = self.rows(sqlx::query(sql).id(video_id)).await {
            tracing::warn!(video = %video_id, error = %e, "could not forget a queue turn");
        }
    }

    /// Marks a job that cannot be read as failed, so it is never claimed again.
    async fn set_aside(&self, id: i64, problem: &str) -> Result<(), QueueError> {
        let query = sqlx::query(
            "UPDATE jobs SET state = 'failed', last_error = $1, \
               lease_owner = NULL, lease_id = NULL, lease_expires_at = NULL WHERE id = $2",
        );
        self.rows(query.text(format!("corrupt job row: {problem}")).int(id)).await.map_err(queue_error)?;
        Ok(())
    }
}

#[async_trait]
impl<DB: Sql> JobQueue for SqlDb<DB> {
    async fn enqueue(&self, video_id: VideoId, kind: JobKind) -> Result<(), QueueError> {
        let mut conn = self.pool.acquire().await.map_err(queue_error)?;
        if self.insert_job(&mut conn, video_id, kind).await.map_err(queue_error)? {
            self.job_added(video_id, kind);
        }
        Ok(())
    }

    async fn claim(&self, worker: &str, lease: Duration, pool: Pool) -> Result<Option<Job>, QueueError> {
        let now = DB::NOW;
        let uploading = "(SELECT id FROM videos WHERE status = 'uploading')";
        let in_pool = match pool {
            Pool::Any => " AND jobs.kind <> 'ladder'".to_owned(),
            Pool::Live => format!(" AND jobs.kind <> 'ladder' AND jobs.video_id IN {uploading}"),
            Pool::Settled => format!(" AND jobs.kind <> 'ladder' AND jobs.video_id NOT IN {uploading}"),
            Pool::Ladder => " AND jobs.kind = 'ladder'".to_owned(),
        };
        let sql = format!(
            "UPDATE jobs SET state = 'running', lease_owner = $1, lease_id = $2, \
               lease_expires_at = {now} + {lease}, attempts = attempts + 1 \
             WHERE id = (SELECT jobs.id FROM jobs \
                           LEFT JOIN videos v ON v.id = jobs.video_id \
                           LEFT JOIN queue_turns t ON t.uploader = COALESCE(v.uploader, '') \
                         WHERE ((jobs.state = 'queued' AND jobs.run_at <= {now}) \
                            OR (jobs.state = 'running' AND jobs.lease_expires_at <= {now})){in_pool} \
                         ORDER BY COALESCE(t.turn, 0), jobs.id LIMIT 1{skip_locked}) \
             RETURNING {JOB_COLUMNS}",
            lease = DB::ms(3),
            skip_locked = DB::SKIP_LOCKED
        );
        for _ in 0..MAX_CORRUPT_SKIPS {
            let lease_id = random_hex(16).map_err(|e| QueueError::Unavailable(e.to_string()))?;
            let query = sqlx::query(&sql).text(worker.to_owned()).text(lease_id).int(duration_ms(lease));
            let rows = self.rows(query).await.map_err(queue_error)?;
            let Some(row) = rows.first() else { return Ok(None) };
            let job = DB::job_row(row)
                .map_err(|e| (DB::int_at(row, 0).ok().flatten().unwrap_or(0), e.to_string()))
                .and_then(JobRow::into_job);
            match job {
                Ok(job) => {
                    self.take_turn(job.video_id).await;
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
        let sql = format!(
            "UPDATE jobs SET lease_expires_at = {now} + {lease} \
             WHERE id = $2 AND lease_id = $3 AND state = 'running' RETURNING id",
            now = DB::NOW,
            lease = DB::ms(1)
        );
        self.changed(sqlx::query(&sql).int(duration_ms(lease)).int(job.id).text(job.lease_id.clone())).await
    }

    async fn complete(&self, job: &Job) -> Result<(), QueueError> {
        let query = sqlx::query("DELETE FROM jobs WHERE id = $1 AND lease_id = $2 AND state = 'running' RETURNING id");
        if !self.changed(query.int(job.id).text(job.lease_id.clone())).await? {
            tracing::warn!(job = job.id, video = %job.video_id, "completed a job whose lease was lost");
        }
        self.forget_idle_turn(job.video_id).await;
        Ok(())
    }

    async fn fail(&self, job: &Job, reason: &str, retryable: bool) -> Result<JobOutcome, QueueError> {
        let retry = retryable && job.attempt < self.settings.max_attempts;
        let after = self.settings.backoff(job.attempt);
        let changed = if retry {
            let sql = DB::announcing(
                &self.parts,
                &format!(
                    "UPDATE jobs SET state = 'queued', run_at = {now} + {backoff}, last_error = $2, \
                       lease_owner = NULL, lease_id = NULL, lease_expires_at = NULL \
                     WHERE id = $3 AND lease_id = $4 AND state = 'running' RETURNING id",
                    now = DB::NOW,
                    backoff = DB::ms(1)
                ),
                Channel::Jobs,
            );
            let query = sqlx::query(&sql).int(duration_ms(after)).text(reason.to_owned());
            self.changed(query.int(job.id).text(job.lease_id.clone())).await?
        } else {
            let query = sqlx::query(
                "UPDATE jobs SET state = 'failed', last_error = $1, \
                   lease_owner = NULL, lease_id = NULL, lease_expires_at = NULL \
                 WHERE id = $2 AND lease_id = $3 AND state = 'running' RETURNING id",
            );
            self.changed(query.text(reason.to_owned()).int(job.id).text(job.lease_id.clone())).await?
        };

        if !changed {
            // Another worker holds the job now (or it was cancelled): leave it alone, and answer
            // "will run again" so the caller does not mark the video failed under that worker.
            tracing::warn!(job = job.id, video = %job.video_id, reason, "failed a job whose lease was lost");
            return Ok(JobOutcome::WillRetry { after: Duration::ZERO });
        }
        if retry {
            tracing::info!(job = job.id, video = %job.video_id, attempt = job.attempt, reason,
                retry_in_ms = duration_ms(after), "job failed; will retry");
            // Waiters recompute their deadline from the new run_at.
            self.wakers.jobs_changed();
            Ok(JobOutcome::WillRetry { after })
        } else {
            tracing::warn!(job = job.id, video = %job.video_id, attempt = job.attempt, reason, retryable,
                "job failed; giving up");
            self.forget_idle_turn(job.video_id).await;
            Ok(JobOutcome::GaveUp)
        }
    }

    async fn release_leases_of(&self, worker_prefix: &str) -> Result<u64, QueueError> {
        // substr, not LIKE: '%' and '_' in worker names are literal characters.
        let sql = DB::announcing(
            &self.parts,
            &format!(
                "UPDATE jobs SET state = 'queued', run_at = {now}, \
                   lease_owner = NULL, lease_id = NULL, lease_expires_at = NULL \
                 WHERE state = 'running' AND substr(lease_owner, 1, length($1)) = $1 RETURNING id",
                now = DB::NOW
            ),
            Channel::Jobs,
        );
        let rows = self.rows(sqlx::query(&sql).text(worker_prefix.to_owned())).await.map_err(queue_error)?;
        let released = rows.len() as u64;
        if released > 0 {
            tracing::info!(released, worker_prefix, "released leases of dead workers");
            self.wakers.jobs_changed();
        }
        Ok(released)
    }

    async fn lease_owners(&self) -> Result<Vec<String>, QueueError> {
        let query = sqlx::query(
            "SELECT DISTINCT lease_owner FROM jobs WHERE state = 'running' AND lease_owner IS NOT NULL ORDER BY 1",
        );
        let rows = self.rows(query).await.map_err(queue_error)?;
        rows.iter().map(|row| DB::text_at(row, 0).map(Option::unwrap_or_default).map_err(queue_error)).collect()
    }

    async fn stats(&self) -> Result<QueueStats, QueueError> {
        // One pass over the jobs table (completed jobs are deleted, so it stays small). "Due" and the wait are
        // measured with the database's clock, like claims.
        let now = DB::NOW;
        let sql = format!(
            "SELECT count(*) FILTER (WHERE state = 'queued'), count(*) FILTER (WHERE state = 'running'), \
               count(*) FILTER (WHERE state = 'failed'), count(*) FILTER (WHERE state = 'queued' AND run_at <= {now}), \
               {until_oldest_due} \
             FROM jobs",
            until_oldest_due =
                DB::ms_until(&format!("min(run_at) FILTER (WHERE state = 'queued' AND run_at <= {now})"))
        );
        let rows = self.rows(sqlx::query(&sql)).await.map_err(queue_error)?;
        let row = rows.first().ok_or_else(|| QueueError::Unavailable("no answer to the statistics query".into()))?;
        let count = |i| DB::int_at(row, i).map(|n| u64::try_from(n.unwrap_or(0)).unwrap_or(0)).map_err(queue_error);
        // The oldest due job became due that long ago (a negative "until").
        let waited_ms = DB::int_at(row, 4).map_err(queue_error)?.map_or(0, |ms| ms.saturating_neg().max(0));
        Ok(QueueStats {
            queued: count(0)?,
            running: count(1)?,
            failed: count(2)?,
            due: count(3)?,
            oldest_due_wait: Duration::from_millis(waited_ms as u64),
        })
    }

    async fn cancel_video(&self, video_id: VideoId) -> Result<(), QueueError> {
        self.rows(sqlx::query("DELETE FROM jobs WHERE video_id = $1").id(video_id)).await.map_err(queue_error)?;
        self.forget_idle_turn(video_id).await;
        Ok(())
    }

    async fn wait_for_work(&self, max: Duration) {
        self.wakers.wait_for_work(max, self.until_next_due()).await;
    }
}
