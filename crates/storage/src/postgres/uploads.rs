//! [`UploadRepo`] on PostgreSQL: the `uploads` table (tus uploads in progress), visible to every API node.
//!
//! An upload's write lock is a session-level advisory lock, held by a connection of [`PgDb`]'s lock pool for as long
//! as the guard lives. The server drops a session's locks when the session ends, so a process that dies (or loses
//! its connection) releases its locks; and a connection that may still hold one is closed, never pooled.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use flick_domain::VideoId;
use flick_domain::ports::{RepoError, UploadRecord, UploadRepo, UploadWriteLock};
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnection, PgRow};
use sqlx::{Connection, Postgres};
use tokio::runtime::Handle;

use super::PgDb;
use super::repo::{db_error, get};

const UPLOAD_COLUMNS: &str =
    "id, length, upload_offset, file_name, metadata, manage_token_hash, created_at, expires_at";

/// Prefixed to an upload's id to name its lock, so that its key stays clear of other advisory locks on the
/// database (sqlx's migration lock, say).
const LOCK_NAMESPACE: &str = "flick-upload:";

/// The 64-bit advisory lock key of the lock named `$1`.
const LOCK_KEY: &str = "hashtextextended($1, 0)";

#[async_trait]
impl UploadRepo for PgDb {
    async fn create_upload(&self, upload: &UploadRecord) -> Result<(), RepoError> {
        let result =
            sqlx::query(&format!("INSERT INTO uploads ({UPLOAD_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"))
                .bind(upload.id.to_string())
                .bind(to_db(upload.length)?)
                .bind(to_db(upload.offset)?)
                .bind(&upload.file_name)
                .bind(&upload.metadata)
                .bind(&upload.manage_token_hash)
                .bind(upload.created_at)
                .bind(upload.expires_at)
                .execute(&self.pool)
                .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if e.as_database_error().is_some_and(|d| d.is_unique_violation()) => Err(RepoError::Duplicate),
            Err(e) => Err(db_error(e)),
        }
    }

    async fn get_upload(&self, id: VideoId) -> Result<Option<UploadRecord>, RepoError> {
        let row = sqlx::query(&format!("SELECT {UPLOAD_COLUMNS} FROM uploads WHERE id = $1"))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        row.as_ref().map(upload_from_row).transpose()
    }

    async fn set_upload_offset(&self, id: VideoId, offset: u64, expires_at: DateTime<Utc>) -> Result<bool, RepoError> {
        let result = sqlx::query("UPDATE uploads SET upload_offset = $1, expires_at = $2 WHERE id = $3")
            .bind(to_db(offset)?)
            .bind(expires_at)
            .bind(id.to_string())
            .execute(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(result.rows_affected() > 0)
    }

    async fn delete_upload(&self, id: VideoId) -> Result<bool, RepoError> {
        let result = sqlx::query("DELETE FROM uploads WHERE id = $1")
            .bind(id.to_string())
            .execute(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(result.rows_affected() > 0)
    }

    async fn expired_uploads(&self, now: DateTime<Utc>) -> Result<Vec<VideoId>, RepoError> {
        let rows = sqlx::query("SELECT id FROM uploads WHERE expires_at <= $1 ORDER BY expires_at")
            .bind(now)
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        rows.iter().map(|row| parse_id(&get::<String>(row, "id")?)).collect()
    }

    async fn try_lock_upload(&self, id: VideoId) -> Result<Option<UploadWriteLock>, RepoError> {
        let name = format!("{LOCK_NAMESPACE}{id}");
        let mut session = LockSession(Some(self.locks.acquire().await.map_err(db_error)?));
        // Should this fail, or the caller give up while it runs, the lock may have been taken all the same: the
        // session is then dropped, which closes it.
        let locked: bool = sqlx::query_scalar(&format!("SELECT pg_try_advisory_lock({LOCK_KEY})"))
            .bind(&name)
            .fetch_one(session.conn())
            .await
            .map_err(db_error)?;
        if !locked {
            session.into_pool();
            return Ok(None);
        }
        Ok(Some(UploadWriteLock::new(AdvisoryLock { session: Some(session), name })))
    }

    async fn upload_exists(&self, id: VideoId) -> Result<bool, RepoError> {
        let row = sqlx::query("SELECT 1 FROM uploads WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(row.is_some())
    }
}

/// A pooled connection whose session may hold an advisory lock. Dropped, it is detached from the pool and closed
/// (ending the session releases its locks); only [`LockSession::into_pool`] gives it back, once it is known to hold
/// none.
struct LockSession(Option<PoolConnection<Postgres>>);

impl LockSession {
    fn conn(&mut self) -> &mut PgConnection {
        self.0.as_mut().expect("a session has its connection until consumed")
    }

    /// Returns the connection to the pool: call only when its session holds no lock.
    fn into_pool(mut self) {
        drop(self.0.take());
    }
}

impl Drop for LockSession {
    fn drop(&mut self) {
        let Some(conn) = self.0.take() else { return };
        // Detached before anything else, so that it cannot find its way back to the pool whatever happens next.
        let conn = conn.detach();
        match Handle::try_current() {
            Ok(runtime) => {
                // A polite goodbye; should the task never run (runtime shutting down), dropping it closes the socket.
                runtime.spawn(async move {
                    let _ = conn.close().await;
                });
            }
            Err(_) => drop(conn),
        }
    }
}

/// An upload's write lock: its session holds the advisory lock until this is dropped.
struct AdvisoryLock {
    session: Option<LockSession>,
    name: String,
}

impl Drop for AdvisoryLock {
    fn drop(&mut self) {
        let Some(session) = self.session.take() else { return };
        match Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(unlock(session, std::mem::take(&mut self.name)));
            }
            // Nothing to run the unlock on: closing the session releases the lock.
            Err(_) => drop(session),
        }
    }
}

/// Releases the lock named `name` and pools its session; if that fails, the session is closed instead (which
/// releases the lock just the same).
async fn unlock(mut session: LockSession, name: String) {
    let unlocked = sqlx::query_scalar::<_, bool>(&format!("SELECT pg_advisory_unlock({LOCK_KEY})"))
        .bind(&name)
        .fetch_one(session.conn())
        .await;
    match unlocked {
        Ok(true) => session.into_pool(),
        // Not held by this session after all (unexpected): not pooled either, to stay on the safe side.
        Ok(false) => tracing::warn!(lock = name, "upload lock was not held at release; closing its connection"),
        Err(e) => tracing::warn!(lock = name, error = %e, "cannot release an upload lock; closing its connection"),
    }
}

fn upload_from_row(row: &PgRow) -> Result<UploadRecord, RepoError> {
    let id = parse_id(&get::<String>(row, "id")?)?;
    let count = |column: &str| -> Result<u64, RepoError> {
        let v: i64 = get(row, column)?;
        u64::try_from(v).map_err(|_| RepoError::Corrupt(format!("upload {id}: {column} is {v}")))
    };
    Ok(UploadRecord {
        id,
        length: count("length")?,
        offset: count("upload_offset")?,
        file_name: get(row, "file_name")?,
        metadata: get(row, "metadata")?,
        manage_token_hash: get(row, "manage_token_hash")?,
        created_at: get(row, "created_at")?,
        expires_at: get(row, "expires_at")?,
    })
}

fn parse_id(text: &str) -> Result<VideoId, RepoError> {
    VideoId::parse(text).map_err(|_| RepoError::Corrupt(format!("malformed upload id {text:?}")))
}

fn to_db(n: u64) -> Result<i64, RepoError> {
    i64::try_from(n).map_err(|_| RepoError::Unavailable(format!("{n} does not fit the database")))
}
