//! The PostgreSQL adapter: the video records ([`Repo`](flick_domain::ports::Repo)), the uploads in progress
//! ([`UploadRepo`](flick_domain::ports::UploadRepo)) and the job queue ([`JobQueue`](flick_domain::ports::JobQueue))
//! in one database shared by any number of Flick processes on any number of machines.
//!
//! Same semantics as [`SqliteDb`](crate::SqliteDb), with what many processes need: claims skip rows another
//! transaction holds (`FOR UPDATE SKIP LOCKED`), every time that matters between processes (leases, backoffs, record
//! times) comes from the database's clock, and idle workers are woken by `LISTEN`/`NOTIFY` on [`CHANNEL`].

mod queue;
mod repo;
mod uploads;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgListener, PgPool, PgPoolOptions};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::queue_settings::QueueSettings;
use crate::random::random_hex;
use crate::sqlite::OpenError;

/// Migrations embedded at build time from `migrations/postgres/`.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The `NOTIFY` channel on which a job that may have become claimable is announced.
pub const CHANNEL: &str = "flick_jobs";

/// Connections in this process's pool (the server's `max_connections` is shared by every process).
const MAX_CONNECTIONS: u32 = 10;

/// How long a request waits for a free connection before the database is reported unavailable.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// Connections kept apart for the upload write locks (`uploads.rs`): a lock holds its connection
/// for as long as a request writes, so drawing them from the main pool would let a few long uploads starve every
/// other query (their own included). Opened on demand, closed when idle.
const LOCK_CONNECTIONS: u32 = 32;
const LOCK_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// The listener's first and longest wait before reconnecting after an error.
const RECONNECT_MIN: Duration = Duration::from_millis(250);
const RECONNECT_MAX: Duration = Duration::from_secs(30);

/// The PostgreSQL database behind Flick's records and job queue. Cheap to clone: clones share the pool and the
/// notification listener, which stops when the last clone is dropped or [`PgDb::close`] is called.
#[derive(Clone)]
pub struct PgDb {
    pool: PgPool,
    /// The sessions holding upload write locks (PostgreSQL advisory locks belong to a session).
    locks: PgPool,
    /// Woken by this process's own enqueues/retries/releases and by `NOTIFY`s from every other process.
    work: Arc<Notify>,
    settings: QueueSettings,
    listener: Arc<ListenerTask>,
    /// This instance's name, the payload of its notifications (its own waiters are woken directly).
    instance: Arc<str>,
}

/// The background task forwarding notifications into [`PgDb::work`]; aborted on drop.
struct ListenerTask(JoinHandle<()>);

impl Drop for ListenerTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl std::fmt::Debug for PgDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgDb").field("settings", &self.settings).finish_non_exhaustive()
    }
}

impl PgDb {
    /// Connects to `url` (`postgres://…` or `postgresql://…`) with the default [`QueueSettings`], applies pending
    /// migrations and starts listening for job notifications.
    pub async fn open(url: &str) -> Result<PgDb, OpenError> {
        Self::open_with(url, QueueSettings::default()).await
    }

    /// Like [`PgDb::open`], with the job queue's retry settings: a [`QueueSettings`], or just `max_attempts` as a
    /// `u32` (default backoff).
    pub async fn open_with(url: &str, settings: impl Into<QueueSettings>) -> Result<PgDb, OpenError> {
        let settings = settings.into();
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
        let locks = PgPoolOptions::new()
            .max_connections(LOCK_CONNECTIONS)
            .idle_timeout(LOCK_IDLE_TIMEOUT)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_lazy_with(options.clone());

        // The listener has a pool of its own (one long-lived connection), so closing the main pool never waits on
        // it; listening before `open` returns means no notification sent after it can be missed.
        let listener_pool = PgPoolOptions::new()
            .max_connections(1)
            .max_lifetime(None)
            .idle_timeout(None)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_lazy_with(options);
        let listener = listen(&listener_pool).await.map_err(OpenError::Connect)?;
        let work = Arc::new(Notify::new());
        let instance: Arc<str> = random_hex(8).map_err(|e| OpenError::Connect(sqlx::Error::Io(e)))?.into();
        let task =
            tokio::spawn(forward_notifications(listener_pool, Some(listener), Arc::downgrade(&work), instance.clone()));

        tracing::info!(server = %redact(url), "metadata database open (PostgreSQL)");
        let settings = QueueSettings { max_attempts: settings.max_attempts.max(1), ..settings };
        Ok(PgDb { pool, locks, work, settings, listener: Arc::new(ListenerTask(task)), instance })
    }

    /// Stops the listener and closes every connection (waiting for those in use).
    pub async fn close(&self) {
        self.listener.0.abort();
        self.pool.close().await;
        self.locks.close().await;
    }

    /// The queue settings in force.
    pub fn queue_settings(&self) -> QueueSettings {
        self.settings
    }
}

async fn listen(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

/// Forwards every notification on [`CHANNEL`] (but those `own` sent) to `work` until `work` is dropped; reconnects
/// (with a growing pause) whenever the connection fails. A reconnection wakes the waiters too: notifications may have
/// been missed meanwhile.
async fn forward_notifications(
    pool: PgPool,
    mut listener: Option<PgListener>,
    work: std::sync::Weak<Notify>,
    own: Arc<str>,
) {
    let mut pause = RECONNECT_MIN;
    loop {
        let mut current = match listener.take() {
            Some(l) => l,
            None => match listen(&pool).await {
                Ok(l) => {
                    tracing::info!("job notification listener reconnected");
                    l
                }
                Err(e) => {
                    tracing::warn!(error = %e, retry_in_ms = pause.as_millis() as u64,
                        "job notification listener cannot connect; workers poll meanwhile");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(RECONNECT_MAX);
                    continue;
                }
            },
        };
        loop {
            let result = current.try_recv().await;
            let Some(work) = work.upgrade() else { return };
            match result {
                Ok(Some(notification)) => {
                    pause = RECONNECT_MIN;
                    if notification.payload() != &*own {
                        work.notify_waiters();
                    }
                }
                // The connection was lost and has been re-established (and re-subscribed).
                Ok(None) => {
                    tracing::info!("job notification listener reconnected");
                    work.notify_waiters();
                }
                Err(e) => {
                    tracing::warn!(error = %e, "job notification listener failed; reconnecting");
                    work.notify_waiters();
                    break;
                }
            }
        }
        drop(current);
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(RECONNECT_MAX);
    }
}

/// The URL without its password, for logs and errors.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) if rest[..at].contains(':') => {
            let user = rest[..at].split(':').next().unwrap_or("");
            format!("{scheme}://{user}:***@{}", &rest[at + 1..])
        }
        _ => url.to_owned(),
    }
}

/// A duration in milliseconds for the database, saturating at 100 years (beyond that PostgreSQL's timestamps
/// would overflow, and a lease or backoff that long is "never" anyway).
fn duration_ms(d: Duration) -> i64 {
    const HUNDRED_YEARS_MS: i64 = 100 * 366 * 24 * 3600 * 1000;
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX).min(HUNDRED_YEARS_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_hides_only_the_password() {
        assert_eq!(redact("postgres://u:secret@h:5432/db"), "postgres://u:***@h:5432/db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact("postgres://h/db"), "postgres://h/db");
        assert_eq!(redact("postgresql://u:p@ss@h/db?x=1"), "postgresql://u:***@h/db?x=1");
    }

    #[test]
    fn durations_saturate() {
        assert_eq!(duration_ms(Duration::from_millis(1500)), 1500);
        assert_eq!(duration_ms(Duration::MAX), 100 * 366 * 24 * 3600 * 1000);
    }

    #[tokio::test]
    async fn open_refuses_other_schemes() {
        for url in ["sqlite://x.db", "mysql://h/db", "postgres:/nope", ""] {
            assert!(matches!(PgDb::open(url).await, Err(OpenError::Url { .. })), "{url}");
        }
    }
}
