//! PostgreSQL: the video records, the uploads in progress and the job queue in one database shared by any number of
//! Flick processes on any number of machines. [`PgDb`] is the shared adapter ([`SqlDb`]) on PostgreSQL's `Engine`.
//!
//! Same semantics as [`SqliteDb`](crate::SqliteDb), with what many processes need: claims skip rows another
//! transaction holds (`FOR UPDATE SKIP LOCKED`), every time that matters between processes (leases, backoffs, record
//! times) comes from the database's clock, upload write locks are advisory locks (`locks`), and changes are announced
//! with `NOTIFY`: jobs on [`JOBS_CHANNEL`] (idle workers claim), uploads on [`UPLOADS_CHANNEL`] (followers of an upload
//! read it again). A notification names the sending [`PgDb`], whose own waiters were woken directly and ignore it.

mod locks;

use std::str::FromStr;
use std::sync::{Arc, Weak};
use std::time::Duration;

use chrono::{DateTime, Utc};
use flick_domain::VideoId;
use flick_domain::ports::{RepoError, UploadWriteLock};
use futures_util::future::BoxFuture;
use sqlx::Postgres;
use sqlx::postgres::{PgConnectOptions, PgListener, PgPool, PgPoolOptions};
use tokio::task::JoinHandle;

use crate::database::{Backend, OpenError, redact};
use crate::queue_settings::QueueSettings;
use crate::random::random_hex;
use crate::sql::wake::Wakers;
use crate::sql::{Channel, Engine, SqlDb};

/// The PostgreSQL database behind Flick's records and job queue. Cheap to clone: clones share the pool and the
/// notification listener, which stops when the last clone is dropped or the database is closed.
pub type PgDb = SqlDb<Postgres>;

/// Migrations embedded at build time from `migrations/postgres/`.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The `NOTIFY` channel on which a job that may have become claimable is announced.
pub const JOBS_CHANNEL: &str = "flick_jobs";

/// The `NOTIFY` channel on which an upload's progress (or end, or its video's new status) is announced.
pub const UPLOADS_CHANNEL: &str = "flick_uploads";

/// Connections in this process's pool (the server's `max_connections` is shared by every process).
const MAX_CONNECTIONS: u32 = 10;

/// How long a request waits for a free connection before the database is reported unavailable.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// The listener's first and longest wait before reconnecting after an error.
const RECONNECT_MIN: Duration = Duration::from_millis(250);
const RECONNECT_MAX: Duration = Duration::from_secs(30);

/// What a [`PgDb`] has beside its pool.
pub struct PgParts {
    /// The one session holding this process's upload write locks (PostgreSQL advisory locks belong to a session).
    locks: locks::LockKeeper,
    /// Forwards other processes' notifications to the waiters; aborted on drop.
    listener: JoinHandle<()>,
    /// This instance's name (hex digits), the payload of its notifications.
    instance: String,
}

impl Drop for PgParts {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

impl Engine for Postgres {
    const BACKEND: Backend = Backend::Postgres;
    type Parts = PgParts;
    type Stamp = DateTime<Utc>;
    const NOW: &'static str = "now()";
    // Millisecond precision, as on SQLite: a record reads back (and moves between databases) unchanged.
    const NOW_MS: &'static str = "date_trunc('milliseconds', now())";
    const GREATEST: &'static str = "GREATEST";
    const INSERTION_ORDER: &'static str = "seq";
    // OF jobs: the claim's query joins the uploader's video and turn, which it only reads.
    const SKIP_LOCKED: &'static str = " FOR UPDATE OF jobs SKIP LOCKED";

    fn ms(n: u8) -> String {
        format!("(${n}::bigint * interval '1 millisecond')")
    }

    fn ms_until(expr: &str) -> String {
        format!("CAST(ceil(EXTRACT(EPOCH FROM (({expr}) - now())) * 1000) AS BIGINT)")
    }

    fn announcing(parts: &PgParts, statement: &str, channel: Channel) -> String {
        let channel = match channel {
            Channel::Jobs => JOBS_CHANNEL,
            Channel::Uploads => UPLOADS_CHANNEL,
        };
        // One NOTIFY per changed row, sent at commit (PostgreSQL folds identical ones of a transaction into one).
        format!("WITH changed AS ({statement}) SELECT id, pg_notify('{channel}', '{}') FROM changed", parts.instance)
    }

    fn try_lock_upload(db: &PgDb, id: VideoId) -> BoxFuture<'_, Result<Option<UploadWriteLock>, RepoError>> {
        Box::pin(locks::try_lock_upload(db, id))
    }

    fn close(parts: &PgParts) -> BoxFuture<'_, ()> {
        Box::pin(async {
            parts.listener.abort();
            parts.locks.stop();
        })
    }
}

impl SqlDb<Postgres> {
    /// Connects to `url` (`postgres://…` or `postgresql://…`) with the default [`QueueSettings`], applies pending
    /// migrations and starts listening for other processes' notifications.
    pub async fn open(url: &str) -> Result<PgDb, OpenError> {
        Self::open_with(url, QueueSettings::default()).await
    }

    /// Like [`PgDb::open`], with the job queue's retry settings: a [`QueueSettings`], or just `max_attempts` as a
    /// `u32` (default backoff).
    pub async fn open_with(url: &str, settings: impl Into<QueueSettings>) -> Result<PgDb, OpenError> {
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(OpenError::Url { url: url.to_owned(), reason: "not a postgres:// URL".into() });
        }
        // The URL may hold a password: errors name the server, never the URL.
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| OpenError::Url { url: redact(url), reason: e.to_string() })?
            .application_name("flick");
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options.clone())
            .await
            .map_err(OpenError::Connect)?;
        // Migrations take an advisory lock: processes starting together apply them once.
        MIGRATOR.run(&pool).await.map_err(OpenError::Migrate)?;
        let locks = locks::LockKeeper::start(options.clone());

        // The listener has a pool of its own (one long-lived connection), so closing the main pool never waits on
        // it; listening before `open` returns means no notification sent after it can be missed.
        let listener_pool = PgPoolOptions::new()
            .max_connections(1)
            .max_lifetime(None)
            .idle_timeout(None)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_lazy_with(options);
        let listener = listen(&listener_pool).await.map_err(OpenError::Connect)?;
        let wakers = Arc::new(Wakers::default());
        let instance = random_hex(8).map_err(|e| OpenError::Connect(sqlx::Error::Io(e)))?;
        let task = tokio::spawn(forward_notifications(
            listener_pool,
            Some(listener),
            Arc::downgrade(&wakers),
            instance.clone(),
        ));

        tracing::info!(server = %redact(url), "metadata database open (PostgreSQL)");
        Ok(SqlDb::new(pool, wakers, settings.into(), PgParts { locks, listener: task, instance }))
    }
}

async fn listen(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen_all([JOBS_CHANNEL, UPLOADS_CHANNEL]).await?;
    Ok(listener)
}

/// Forwards every notification (but those `own` sent) to the waiters of its channel until they are dropped;
/// reconnects (with a growing pause) whenever the connection fails. A reconnection wakes every waiter: notifications
/// may have been missed meanwhile.
async fn forward_notifications(pool: PgPool, mut listener: Option<PgListener>, wakers: Weak<Wakers>, own: String) {
    let mut pause = RECONNECT_MIN;
    let wake_all = |wakers: &Wakers| {
        wakers.jobs_changed();
        wakers.uploads_changed();
    };
    loop {
        let mut current = match listener.take() {
            Some(l) => l,
            None => match listen(&pool).await {
                Ok(l) => {
                    tracing::info!("notification listener reconnected");
                    l
                }
                Err(e) => {
                    tracing::warn!(error = %e, retry_in_ms = pause.as_millis() as u64,
                        "notification listener cannot connect; waiters poll meanwhile");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(RECONNECT_MAX);
                    continue;
                }
            },
        };
        loop {
            let result = current.try_recv().await;
            let Some(wakers) = wakers.upgrade() else { return };
            match result {
                Ok(Some(notification)) => {
                    pause = RECONNECT_MIN;
                    if notification.payload() == own {
                        continue;
                    }
                    match notification.channel() {
                        JOBS_CHANNEL => wakers.jobs_changed(),
                        UPLOADS_CHANNEL => wakers.uploads_changed(),
                        _ => {}
                    }
                }
                // The connection was lost and has been re-established (and re-subscribed).
                Ok(None) => {
                    tracing::info!("notification listener reconnected");
                    wake_all(&wakers);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "notification listener failed; reconnecting");
                    wake_all(&wakers);
                    break;
                }
            }
        }
        drop(current);
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(RECONNECT_MAX);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn open_refuses_other_schemes() {
        for url in ["sqlite://x.db", "mysql://h/db", "postgres:/nope", ""] {
            assert!(matches!(PgDb::open(url).await, Err(OpenError::Url { .. })), "{url}");
        }
    }
}
