//! SQLite: one database file holds the video records, the uploads in progress and the job queue, behind one
//! connection pool, for one Flick process. [`SqliteDb`] is the shared adapter ([`SqlDb`]) on SQLite's `Engine`.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use flick_domain::VideoId;
use flick_domain::ports::{RepoError, UploadWriteLock};
use futures_util::future::BoxFuture;
use sqlx::Sqlite;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::database::{Backend, OpenError};
pub use crate::queue_settings::QueueSettings;
use crate::sql::wake::Wakers;
use crate::sql::{Channel, Engine, SqlDb};

/// The SQLite database behind Flick's records and job queue. Cheap to clone: clones share the pool.
pub type SqliteDb = SqlDb<Sqlite>;

/// Migrations embedded at build time from `migrations/sqlite/`.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// Connections in the pool: WAL lets readers run beside the one writer; more would only queue on the write lock.
const MAX_CONNECTIONS: u32 = 4;

/// How long a statement waits for another connection's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The statement's clock reading in unix milliseconds ('subsec', SQLite 3.42+, keeps its milliseconds).
const NOW_MS: &str = "CAST(round(unixepoch('subsec') * 1000) AS INTEGER)";

/// Where the processes sharing one SQLite file take their upload write locks: `{file}.locks/upload-XYZ.lock`, a
/// file lock (`flock`) on one of 4096 files chosen by the upload's id. Striping bounds the files (never deleted, so
/// no process can hold a lock on a file another has replaced); two uploads on one stripe only wait for each other.
pub struct UploadLockFiles {
    dir: std::path::PathBuf,
}

impl UploadLockFiles {
    fn try_lock(&self, id: VideoId) -> Result<Option<UploadWriteLock>, RepoError> {
        let path = self.dir.join(format!("upload-{}.lock", &id.to_string()[..3]));
        let unavailable = |e: std::io::Error| RepoError::Unavailable(format!("{}: {e}", path.display()));
        std::fs::create_dir_all(&self.dir).map_err(unavailable)?;
        let file =
            std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path).map_err(unavailable)?;
        match file.try_lock() {
            // Closing the file (dropping the lock) releases it.
            Ok(()) => Ok(Some(UploadWriteLock::new(file))),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(unavailable(e)),
        }
    }
}

impl Engine for Sqlite {
    const BACKEND: Backend = Backend::Sqlite;
    type Parts = UploadLockFiles;
    type Stamp = i64;
    const NOW: &'static str = NOW_MS;
    const NOW_MS: &'static str = NOW_MS;
    const GREATEST: &'static str = "max";
    const INSERTION_ORDER: &'static str = "rowid";
    // One writer at a time: a claim never meets a row another claim holds.
    const SKIP_LOCKED: &'static str = "";

    fn ms(n: u8) -> String {
        format!("${n}")
    }

    fn ms_until(expr: &str) -> String {
        format!("({expr} - {NOW_MS})")
    }

    /// Nothing to announce: a SQLite database serves one process, whose own waiters are woken directly.
    fn announcing(_: &UploadLockFiles, statement: &str, _: Channel) -> String {
        statement.to_owned()
    }

    fn try_lock_upload(db: &SqliteDb, id: VideoId) -> BoxFuture<'_, Result<Option<UploadWriteLock>, RepoError>> {
        // API processes may share one SQLite file (and data folder): a lock between processes, not only requests.
        let locks = db.parts.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || locks.try_lock(id))
                .await
                .map_err(|e| RepoError::Unavailable(e.to_string()))?
        })
    }

    fn close(_: &UploadLockFiles) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }
}

impl SqlDb<Sqlite> {
    /// Opens (creating if missing) the database at `url`, e.g. `sqlite://./data/flick.db`,
    /// with the default [`QueueSettings`], and applies pending migrations.
    pub async fn open(url: &str) -> Result<SqliteDb, OpenError> {
        Self::open_with(url, QueueSettings::default()).await
    }

    /// Like [`SqliteDb::open`], with the job queue's retry settings: a [`QueueSettings`], or just
    /// `max_attempts` as a `u32` (default backoff).
    pub async fn open_with(url: &str, settings: impl Into<QueueSettings>) -> Result<SqliteDb, OpenError> {
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
        let mut locks = file.clone().into_os_string();
        locks.push(".locks");
        let parts = UploadLockFiles { dir: locks.into() };
        Ok(SqlDb::new(pool, Arc::new(Wakers::default()), settings.into(), parts))
    }
}

#[cfg(test)]
mod tests {
    use sqlx::Row;

    use super::*;
    use crate::Database;

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

    #[tokio::test]
    async fn the_clock_reads_milliseconds() {
        let dir = tempfile::tempdir().unwrap();
        let db = SqliteDb::open(&format!("sqlite://{}/f.db", dir.path().display())).await.unwrap();
        let before = chrono::Utc::now().timestamp_millis();
        let now: i64 = sqlx::query_scalar(&format!("SELECT {NOW_MS}")).fetch_one(&db.pool).await.unwrap();
        let after = chrono::Utc::now().timestamp_millis();
        assert!(before <= now && now <= after, "{before} <= {now} <= {after}");
    }

    #[test]
    fn backoff_grows_fourfold_up_to_the_cap() {
        let s = QueueSettings::default();
        let secs = |a| s.backoff(a).as_secs();
        assert_eq!([secs(1), secs(2), secs(3), secs(4), secs(5), secs(100)], [2, 8, 32, 128, 300, 300]);
        assert_eq!(s.backoff(0), Duration::from_secs(2));
    }
}
