//! Upload write locks on PostgreSQL: session-level advisory locks, all held by one connection of this process (the
//! keeper's), whatever the number of uploads being written. A connection per lock would let a few dozen slow uploads
//! take every connection the server allows. The server drops a session's locks when the session ends, so a process
//! that dies (or loses its connection) releases its locks; the keeper then reconnects and takes back the locks its
//! guards still hold.

use std::collections::HashSet;
use std::time::Duration;

use flick_domain::VideoId;
use flick_domain::ports::{RepoError, UploadWriteLock};
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions, Connection};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::PgDb;
use crate::sql::db_error;

/// Prefixed to an upload's id to name its lock, so that its key stays clear of other advisory locks on the
/// database (sqlx's migration lock, say).
const LOCK_NAMESPACE: &str = "flick-upload:";

/// Takes the lock named `$1` (its 64-bit key a hash of the name) if no session holds it.
const TRY_LOCK: &str = "SELECT pg_try_advisory_lock(hashtextextended($1, 0))";
/// Releases the lock named `$1`.
const UNLOCK: &str = "SELECT pg_advisory_unlock(hashtextextended($1, 0))";

/// Longest wait for the keeper's connection or one of its queries before the connection is given up.
const QUERY_TIMEOUT: Duration = Duration::from_secs(10);

/// How often the keeper checks its connection while it holds locks: a dead session has lost them, and the sooner
/// they are taken back the shorter the window in which another process could take one.
const HEARTBEAT: Duration = Duration::from_secs(5);

/// What the keeper is asked.
enum Request {
    /// Take the lock named `name` if no session (this process's included) holds it; answers whether it was taken.
    Lock { name: String, reply: oneshot::Sender<Result<bool, RepoError>> },
    /// Release the lock named `name`.
    Unlock { name: String },
}

/// The task holding this process's upload locks, and the way to ask it. Dropped, the task ends and its connection
/// closes, which releases every lock it held.
pub(super) struct LockKeeper {
    requests: mpsc::UnboundedSender<Request>,
    task: JoinHandle<()>,
}

impl LockKeeper {
    /// Starts the keeper; it connects when first asked.
    pub(super) fn start(options: PgConnectOptions) -> LockKeeper {
        let (requests, inbox) = mpsc::unbounded_channel();
        let task = tokio::spawn(keep(options, inbox));
        LockKeeper { requests, task }
    }

    /// Ends the keeper: its connection closes and every lock it held is released.
    pub(super) fn stop(&self) {
        self.task.abort();
    }
}

impl Drop for LockKeeper {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Takes the upload's write lock, or `None` when another request (of any process) holds it. Never waits for the
/// lock, only for the keeper's answer.
pub(super) async fn try_lock_upload(db: &PgDb, id: VideoId) -> Result<Option<UploadWriteLock>, RepoError> {
    let name = format!("{LOCK_NAMESPACE}{id}");
    let (reply, answer) = oneshot::channel();
    let keeper = &db.parts.locks.requests;
    keeper.send(Request::Lock { name: name.clone(), reply }).map_err(|_| stopped())?;
    // Should the caller give up while it waits, the keeper finds the reply channel closed and releases the lock.
    match answer.await.map_err(|_| stopped())? {
        Ok(true) => Ok(Some(UploadWriteLock::new(AdvisoryLock { keeper: keeper.clone(), name }))),
        Ok(false) => Ok(None),
        Err(e) => Err(e),
    }
}

fn stopped() -> RepoError {
    RepoError::Unavailable("the upload lock keeper has stopped".into())
}

/// An upload's write lock: held by the keeper's session until this is dropped.
struct AdvisoryLock {
    keeper: mpsc::UnboundedSender<Request>,
    name: String,
}

impl Drop for AdvisoryLock {
    fn drop(&mut self) {
        // A keeper that is gone has closed its connection, which released the lock.
        let _ = self.keeper.send(Request::Unlock { name: std::mem::take(&mut self.name) });
    }
}

/// The keeper's state: its session (when connected) and the locks its guards hold.
struct Keeper {
    options: PgConnectOptions,
    conn: Option<PgConnection>,
    held: HashSet<String>,
}

/// Serves lock requests one at a time, in order, until every sender is gone.
async fn keep(options: PgConnectOptions, mut inbox: mpsc::UnboundedReceiver<Request>) {
    let mut keeper = Keeper { options, conn: None, held: HashSet::new() };
    let mut heartbeat = tokio::time::interval(HEARTBEAT);
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            request = inbox.recv() => match request {
                Some(Request::Lock { name, reply }) => {
                    let taken = keeper.lock(&name).await;
                    let took = matches!(taken, Ok(true));
                    // The requester gave up: nobody will drop a guard for this lock, so it is released now.
                    if reply.send(taken).is_err() && took {
                        keeper.unlock(&name).await;
                    }
                }
                Some(Request::Unlock { name }) => keeper.unlock(&name).await,
                None => break,
            },
            _ = heartbeat.tick(), if !keeper.held.is_empty() => keeper.check().await,
        }
    }
    if let Some(conn) = keeper.conn.take() {
        let _ = conn.close().await;
    }
}

impl Keeper {
    async fn lock(&mut self, name: &str) -> Result<bool, RepoError> {
        // Advisory locks are re-entrant within a session: one this process holds must be refused here.
        if self.held.contains(name) {
            return Ok(false);
        }
        let conn = self.session().await?;
        let query = sqlx::query_scalar::<_, bool>(TRY_LOCK).bind(name);
        match tokio::time::timeout(QUERY_TIMEOUT, query.fetch_one(conn)).await {
            Ok(Ok(true)) => {
                self.held.insert(name.to_owned());
                Ok(true)
            }
            Ok(Ok(false)) => Ok(false),
            // The session's state is unknown (it may hold the lock after all): it is closed, which settles it.
            Ok(Err(e)) => {
                self.drop_session();
                Err(db_error(e))
            }
            Err(_) => {
                self.drop_session();
                Err(RepoError::Busy(format!("taking an upload lock took over {QUERY_TIMEOUT:?}")))
            }
        }
    }

    async fn unlock(&mut self, name: &str) {
        if !self.held.remove(name) {
            return;
        }
        let Some(conn) = self.conn.as_mut() else { return };
        let query = sqlx::query_scalar::<_, bool>(UNLOCK).bind(name);
        match tokio::time::timeout(QUERY_TIMEOUT, query.fetch_one(conn)).await {
            Ok(Ok(true)) => {}
            Ok(Ok(false)) => tracing::warn!(lock = name, "upload lock was not held at release"),
            // Closing the session releases this lock too; the others are taken back on the next connection.
            Ok(Err(e)) => {
                tracing::warn!(lock = name, error = %e, "cannot release an upload lock; reconnecting");
                self.drop_session();
            }
            Err(_) => {
                tracing::warn!(lock = name, "releasing an upload lock timed out; reconnecting");
                self.drop_session();
            }
        }
    }

    /// Makes sure the session is alive; a dead one is replaced (and its locks taken back).
    async fn check(&mut self) {
        if let Some(conn) = self.conn.as_mut()
            && matches!(tokio::time::timeout(QUERY_TIMEOUT, conn.ping()).await, Ok(Ok(())))
        {
            return;
        }
        self.drop_session();
        if let Err(e) = self.session().await {
            tracing::warn!(error = %e, held = self.held.len(), "upload lock keeper cannot reconnect");
        }
    }

    /// The keeper's connection, opened when there is none. A new session takes back the locks the guards still
    /// hold; one another process took meanwhile is lost (its guard's writer and the other process may then both
    /// write, which the upload's offset check detects), and said so in the log.
    async fn session(&mut self) -> Result<&mut PgConnection, RepoError> {
        if self.conn.is_none() {
            let mut conn = match tokio::time::timeout(QUERY_TIMEOUT, self.options.connect()).await {
                Ok(connected) => connected.map_err(db_error)?,
                Err(_) => return Err(RepoError::Busy(format!("no database connection in {QUERY_TIMEOUT:?}"))),
            };
            let mut lost = Vec::new();
            for name in &self.held {
                let query = sqlx::query_scalar::<_, bool>(TRY_LOCK).bind(name);
                match tokio::time::timeout(QUERY_TIMEOUT, query.fetch_one(&mut conn)).await {
                    Ok(Ok(true)) => {}
                    Ok(Ok(false)) => lost.push(name.clone()),
                    Ok(Err(e)) => return Err(db_error(e)),
                    Err(_) => return Err(RepoError::Busy("taking back upload locks timed out".into())),
                }
            }
            for name in lost {
                tracing::error!(lock = name, "an upload lock was lost with its session and is now held elsewhere");
                self.held.remove(&name);
            }
            self.conn = Some(conn);
        }
        self.conn.as_mut().ok_or_else(|| RepoError::Unavailable("no lock session".into()))
    }

    /// Forgets the session; closing its socket releases its locks on the server.
    fn drop_session(&mut self) {
        self.conn = None;
    }
}
