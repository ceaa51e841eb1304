//! An upload's write lock on PostgreSQL: a session-level advisory lock, held by a connection of [`PgDb`]'s lock pool
//! for as long as the guard lives. The server drops a session's locks when the session ends, so a process that dies
//! (or loses its connection) releases its locks; and a connection that may still hold one is closed, never pooled.

use flick_domain::VideoId;
use flick_domain::ports::{RepoError, UploadWriteLock};
use sqlx::pool::PoolConnection;
use sqlx::postgres::PgConnection;
use sqlx::{Connection, Postgres};
use tokio::runtime::Handle;

use super::PgDb;
use crate::sql::db_error;

/// Prefixed to an upload's id to name its lock, so that its key stays clear of other advisory locks on the
/// database (sqlx's migration lock, say).
const LOCK_NAMESPACE: &str = "flick-upload:";

/// The 64-bit advisory lock key of the lock named `$1`.
const LOCK_KEY: &str = "hashtextextended($1, 0)";

/// Takes the upload's write lock, or `None` when another session (of any process) holds it. Never waits.
pub(super) async fn try_lock_upload(db: &PgDb, id: VideoId) -> Result<Option<UploadWriteLock>, RepoError> {
    let name = format!("{LOCK_NAMESPACE}{id}");
    let mut session = LockSession(Some(db.parts.locks.acquire().await.map_err(db_error)?));
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
