//! The SQLite adapter: one database file holds the video records ([`Repo`](flick_domain::ports::Repo)),
//! the uploads in progress ([`UploadRepo`](flick_domain::ports::UploadRepo)) and the job queue
//! ([`JobQueue`](flick_domain::ports::JobQueue)), behind one connection pool.

mod queue;
mod repo;
mod uploads;

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use tokio::sync::Notify;

pub use crate::queue_settings::QueueSettings;

/// Migrations embedded at build time from `migrations/sqlite/`.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// Connections in the pool: WAL lets readers run beside the one writer; more would only queue on the write lock.
const MAX_CONNECTIONS: u32 = 4;

/// How long a statement waits for another connection's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Why the database could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("invalid database url {url:?}: {reason}")]
    Url { url: String, reason: String },
    #[error("cannot create the database directory {}: {source}", path.display())]
    CreateDir { path: PathBuf, source: std::io::Error },
    #[error("cannot open the database: {0}")]
    Connect(#[source] sqlx::Error),
    #[error("cannot migrate the database: {0}")]
    Migrate(#[source] sqlx::migrate::MigrateError),
}

/// The SQLite database behind Flick's records and job queue. Cheap to clone: clones share the pool.
#[derive(Clone)]
pub struct SqliteDb {
    pool: SqlitePool,
    /// Woken when a job may have become claimable, so in-process workers claim at once.
    work: Arc<Notify>,
    settings: QueueSettings,
}

impl std::fmt::Debug for SqliteDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteDb").field("settings", &self.settings).finish_non_exhaustive()
    }
}

impl SqliteDb {
    /// Opens (creating if missing) the database at `url`, e.g. `sqlite://./data/flick.db`,
    /// with the default [`QueueSettings`], and applies pending migrations.
    pub async fn open(url: &str) -> Result<SqliteDb, OpenError> {
        Self::open_with(url, QueueSettings::default()).await
    }

    /// Like [`SqliteDb::open`], with the job queue's retry settings: a [`QueueSettings`], or just
    /// `max_attempts` as a `u32` (default backoff).
    pub async fn open_with(url: &str, settings: impl Into<QueueSettings>) -> Result<SqliteDb, OpenError> {
        let settings = settings.into();
        // sqlx would take any other string for a file name ("postgres://x" makes a "postgres:" directory).
        if !url.starts_with("sqlite:") {
            return Err(OpenError::Url { url: url.to_owned(), reason: "not a sqlite: URL".into() });
        }
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| OpenError::Url { url: url.to_owned(), reason: e.to_string() })?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a transaction reported committed survives power loss, which is what Flick
            // promises once it has acknowledged an upload.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);

        let file = options.get_filename().to_path_buf();
        if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
            tokio::fs::create_dir_all(dir)
                .await
                .map_err(|source| OpenError::CreateDir { path: dir.to_path_buf(), source })?;
        }

        let pool = SqlitePoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .connect_with(options)
            .await
            .map_err(OpenError::Connect)?;
        MIGRATOR.run(&pool).await.map_err(OpenError::Migrate)?;
        tracing::info!(file = %file.display(), "metadata database open");

        let settings = QueueSettings { max_attempts: settings.max_attempts.max(1), ..settings };
        Ok(SqliteDb { pool, work: Arc::new(Notify::new()), settings })
    }

    /// Closes every connection (waiting for those in use); the database file stays consistent.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// The queue settings in force.
    pub fn queue_settings(&self) -> QueueSettings {
        self.settings
    }
}

/// Now, as stored: unix milliseconds.
fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

/// A duration in milliseconds, saturating (a lease or backoff of ~292 million years is plenty).
fn duration_ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use sqlx::Row;

    use super::*;

    #[tokio::test]
    async fn open_creates_the_directory_and_sets_durable_pragmas() {
        let dir = tempfile::tempdir().unwrap();
        let db = SqliteDb::open(&format!("sqlite://{}/a/b/flick.db", dir.path().display())).await.unwrap();
        assert!(dir.path().join("a/b/flick.db").is_file());
        let mut conn = db.pool.acquire().await.unwrap();
        let pragma = |name: &'static str| format!("PRAGMA {name}");
        let mut read = async |name| -> String {
            let row = sqlx::query(&pragma(name)).fetch_one(&mut *conn).await.unwrap();
            // journal_mode answers text, the others integers.
            row.try_get::<String, _>(0).or_else(|_| row.try_get::<i64, _>(0).map(|v| v.to_string())).unwrap()
        };
        assert_eq!(read("journal_mode").await, "wal");
        assert_eq!(read("synchronous").await, "2", "FULL");
        assert_eq!(read("foreign_keys").await, "1");
        assert_eq!(read("busy_timeout").await, "5000");
    }

    #[tokio::test]
    async fn open_with_takes_max_attempts_alone() {
        let dir = tempfile::tempdir().unwrap();
        let db = SqliteDb::open_with(&format!("sqlite://{}/f.db", dir.path().display()), 5u32).await.unwrap();
        assert_eq!(db.queue_settings(), QueueSettings { max_attempts: 5, ..QueueSettings::default() });
        // Zero attempts would mean a job never runs; one is the least.
        let db = SqliteDb::open_with(&format!("sqlite://{}/g.db", dir.path().display()), 0u32).await.unwrap();
        assert_eq!(db.queue_settings().max_attempts, 1);
    }

    #[test]
    fn backoff_grows_fourfold_up_to_the_cap() {
        let s = QueueSettings::default();
        let secs = |a| s.backoff(a).as_secs();
        assert_eq!([secs(1), secs(2), secs(3), secs(4), secs(5), secs(100)], [2, 8, 32, 128, 300, 300]);
        assert_eq!(s.backoff(0), Duration::from_secs(2));
    }
}
