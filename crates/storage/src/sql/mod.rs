//! The storage adapter, written once for both databases: [`SqlDb<DB>`] implements [`Repo`](flick_domain::ports::Repo),
//! [`UploadRepo`](flick_domain::ports::UploadRepo) and [`JobQueue`](flick_domain::ports::JobQueue) with statements
//! in the SQL that SQLite and PostgreSQL share. Where the two differ, the statement asks the database's [`Engine`]:
//! a few words of dialect, how a change is announced to other processes, how an upload is locked.
//!
//! - [`rows`]: the columns each table is read as, and how they become domain records.
//! - `repo`, `uploads`, `queue`: the three ports.
//! - [`wake`]: waking this process's idle workers and upload followers.
//! - here: [`SqlDb`], the [`Engine`] each database implements, [`Sql`] (what generic code needs of sqlx, stated once)
//!   and the conversions and error mappings every statement uses.
//!
//! Statements number their parameters `$1, $2, …`, which both PostgreSQL and SQLite (through sqlx) understand. A
//! statement whose count of changed rows matters ends in `RETURNING id` and is counted by its rows.

mod queue;
mod repo;
pub(crate) mod rows;
mod uploads;
pub(crate) mod wake;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use flick_domain::ports::{QueueError, RepoError, UploadWriteLock};
use flick_domain::{ShareId, VideoId};
use futures_util::future::BoxFuture;
use sqlx::query::Query;
use sqlx::{ColumnIndex, Decode, Encode, Executor, FromRow, IntoArguments, Pool, Row, Type};
use tokio::sync::{Semaphore, SemaphorePermit};

use self::rows::{JobRow, UploadRow, VideoRow};
use self::wake::Wakers;
use crate::database::{Backend, Database};
use crate::queue_settings::QueueSettings;

/// Flick's records, uploads in progress and job queue in one database. Cheap to clone: clones share the pool (and, on
/// PostgreSQL, the notification listener, which stops when the last clone is dropped or the database is closed).
pub struct SqlDb<DB: Engine> {
    pub(crate) pool: Pool<DB>,
    /// Woken by this process's own changes (and, on PostgreSQL, by other processes' notifications).
    pub(crate) wakers: Arc<Wakers>,
    pub(crate) settings: QueueSettings,
    /// What only this kind of database has (PostgreSQL: its lock keeper and listener).
    pub(crate) parts: Arc<DB::Parts>,
    /// Permits for the queries of uploads in progress ([`UploadRepo`](flick_domain::ports::UploadRepo)): half the
    /// pool, so that however many uploads write at once, the other half stays free for status, streaming and
    /// `/readyz`.
    pub(crate) upload_lane: Arc<Semaphore>,
}

impl<DB: Engine> Clone for SqlDb<DB> {
    fn clone(&self) -> Self {
        SqlDb {
            pool: self.pool.clone(),
            wakers: self.wakers.clone(),
            settings: self.settings,
            parts: self.parts.clone(),
            upload_lane: self.upload_lane.clone(),
        }
    }
}

impl<DB: Engine> std::fmt::Debug for SqlDb<DB> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlDb").field("backend", &DB::BACKEND).field("settings", &self.settings).finish_non_exhaustive()
    }
}

impl<DB: Engine> SqlDb<DB> {
    pub(crate) fn new(pool: Pool<DB>, wakers: Arc<Wakers>, settings: QueueSettings, parts: DB::Parts) -> Self {
        // Zero attempts would mean a job never runs; one is the least.
        let settings = QueueSettings { max_attempts: settings.max_attempts.max(1), ..settings };
        let lane = (pool.options().get_max_connections() / 2).max(1) as usize;
        SqlDb { pool, wakers, settings, parts: Arc::new(parts), upload_lane: Arc::new(Semaphore::new(lane)) }
    }

    /// Waits (as long as for a pooled connection) for a place in the upload lane; [`RepoError::Busy`] if none frees.
    pub(crate) async fn upload_lane(&self) -> Result<SemaphorePermit<'_>, RepoError> {
        let wait = self.pool.options().get_acquire_timeout();
        match tokio::time::timeout(wait, self.upload_lane.acquire()).await {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(_)) => Err(RepoError::Unavailable("the database is closed".into())),
            Err(_) => Err(RepoError::Busy(format!("no upload lane freed in {wait:?}"))),
        }
    }
}

/// The notification channels (PostgreSQL `NOTIFY`; SQLite serves one process and announces nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// A job may have become claimable.
    Jobs,
    /// An upload's offset may have moved, or an upload (or its video) ended.
    Uploads,
}

/// What differs between the databases: a few words of SQL, how an instant is stored, how a change is announced to
/// other processes, how an upload is locked. Implemented by sqlx's [`Sqlite`](sqlx::Sqlite) and
/// [`Postgres`](sqlx::Postgres).
pub trait Engine: sqlx::Database {
    const BACKEND: Backend;
    /// What only this database has, kept beside the pool.
    type Parts: Send + Sync + 'static;
    /// An instant as stored: unix milliseconds on SQLite, `timestamptz` on PostgreSQL.
    type Stamp: Stamp;
    /// The database's clock, one reading for the whole statement (an SQL expression).
    const NOW: &'static str;
    /// The same at millisecond precision (what records keep on both databases).
    const NOW_MS: &'static str;
    /// The function giving the larger of two values.
    const GREATEST: &'static str;
    /// The column that orders videos by insertion (the tie-break between videos created in the same millisecond).
    const INSERTION_ORDER: &'static str;
    /// Appended to a `SELECT … LIMIT 1` that picks a job to claim: skip rows other transactions hold, if need be.
    const SKIP_LOCKED: &'static str;

    /// Parameter `$n` (milliseconds, `i64`) as something [`Engine::NOW`] can be added to.
    fn ms(n: u8) -> String;
    /// The whole milliseconds from [`Engine::NOW`] until the instant `expr` (negative when past; rounded up), an
    /// `i64`; NULL when `expr` is.
    fn ms_until(expr: &str) -> String;
    /// `statement` (ending in `RETURNING id`) made to announce each row it returns on `channel` to every other
    /// process sharing the database (delivered at commit), still returning one row per changed row.
    fn announcing(parts: &Self::Parts, statement: &str, channel: Channel) -> String;
    /// Takes an upload's write lock, or `None` when another request holds it. Never waits.
    fn try_lock_upload(db: &SqlDb<Self>, id: VideoId) -> BoxFuture<'_, Result<Option<UploadWriteLock>, RepoError>>;
    /// Stops what [`Engine::Parts`] runs and closes what it holds.
    fn close(parts: &Self::Parts) -> BoxFuture<'_, ()>;
}

/// A query on database `DB` whose arguments are still being bound.
pub(crate) type Statement<'q, DB> = Query<'q, DB, <DB as sqlx::Database>::Arguments<'q>>;

/// What the generic adapter needs of sqlx on a database: binding Flick's value types, running a statement and decoding
/// its rows. The bounds that make this possible are stated once, on the blanket impl, instead of on every function.
pub trait Sql: Engine {
    fn bind_text(q: Statement<'_, Self>, v: Option<String>) -> Statement<'_, Self>;
    fn bind_int(q: Statement<'_, Self>, v: Option<i64>) -> Statement<'_, Self>;
    fn bind_real(q: Statement<'_, Self>, v: Option<f64>) -> Statement<'_, Self>;
    fn bind_flag(q: Statement<'_, Self>, v: Option<bool>) -> Statement<'_, Self>;
    fn bind_stamp(q: Statement<'_, Self>, v: Option<Self::Stamp>) -> Statement<'_, Self>;
    /// Runs the statement on `conn`; its rows.
    fn rows<'c, 'q: 'c>(
        conn: &'c mut Self::Connection,
        q: Statement<'q, Self>,
    ) -> BoxFuture<'c, Result<Vec<Self::Row>, sqlx::Error>>;
    fn video_row(row: &Self::Row) -> Result<VideoRow<Self::Stamp>, sqlx::Error>;
    fn upload_row(row: &Self::Row) -> Result<UploadRow<Self::Stamp>, sqlx::Error>;
    fn job_row(row: &Self::Row) -> Result<JobRow, sqlx::Error>;
    /// Column `i` as text (`None` for NULL).
    fn text_at(row: &Self::Row, i: usize) -> Result<Option<String>, sqlx::Error>;
    /// Column `i` as an integer (`None` for NULL).
    fn int_at(row: &Self::Row, i: usize) -> Result<Option<i64>, sqlx::Error>;
    /// Column `i` as an instant (`None` for NULL).
    fn stamp_at(row: &Self::Row, i: usize) -> Result<Option<Self::Stamp>, sqlx::Error>;
}

impl<DB> Sql for DB
where
    DB: Engine,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> Option<String>: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> Option<i64>: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> Option<f64>: Encode<'q, DB> + Type<DB>,
    for<'q> Option<bool>: Encode<'q, DB> + Type<DB>,
    for<'q> Option<DB::Stamp>: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'r> VideoRow<DB::Stamp>: FromRow<'r, DB::Row>,
    for<'r> UploadRow<DB::Stamp>: FromRow<'r, DB::Row>,
    for<'r> JobRow: FromRow<'r, DB::Row>,
    usize: ColumnIndex<DB::Row>,
{
    fn bind_text(q: Statement<'_, Self>, v: Option<String>) -> Statement<'_, Self> {
        q.bind(v)
    }
    fn bind_int(q: Statement<'_, Self>, v: Option<i64>) -> Statement<'_, Self> {
        q.bind(v)
    }
    fn bind_real(q: Statement<'_, Self>, v: Option<f64>) -> Statement<'_, Self> {
        q.bind(v)
    }
    fn bind_flag(q: Statement<'_, Self>, v: Option<bool>) -> Statement<'_, Self> {
        q.bind(v)
    }
    fn bind_stamp(q: Statement<'_, Self>, v: Option<Self::Stamp>) -> Statement<'_, Self> {
        q.bind(v)
    }
    fn rows<'c, 'q: 'c>(
        conn: &'c mut Self::Connection,
        q: Statement<'q, Self>,
    ) -> BoxFuture<'c, Result<Vec<Self::Row>, sqlx::Error>> {
        Box::pin(q.fetch_all(conn))
    }
    fn video_row(row: &Self::Row) -> Result<VideoRow<Self::Stamp>, sqlx::Error> {
        VideoRow::from_row(row)
    }
    fn upload_row(row: &Self::Row) -> Result<UploadRow<Self::Stamp>, sqlx::Error> {
        UploadRow::from_row(row)
    }
    fn job_row(row: &Self::Row) -> Result<JobRow, sqlx::Error> {
        JobRow::from_row(row)
    }
    fn text_at(row: &Self::Row, i: usize) -> Result<Option<String>, sqlx::Error> {
        row.try_get(i)
    }
    fn int_at(row: &Self::Row, i: usize) -> Result<Option<i64>, sqlx::Error> {
        row.try_get(i)
    }
    fn stamp_at(row: &Self::Row, i: usize) -> Result<Option<Self::Stamp>, sqlx::Error> {
        row.try_get(i)
    }
}

/// Binding values in order: `sqlx::query(sql).text(id).int(n)…`, on either database.
pub(crate) trait Bind: Sized {
    fn text(self, v: impl Into<Option<String>>) -> Self;
    fn int(self, v: impl Into<Option<i64>>) -> Self;
    fn real(self, v: Option<f64>) -> Self;
    fn flag(self, v: Option<bool>) -> Self;
    fn stamp(self, t: impl Into<Option<DateTime<Utc>>>) -> Self;
    fn id(self, id: VideoId) -> Self {
        self.text(id.to_string())
    }
    fn share(self, share: ShareId) -> Self {
        self.text(share.to_string())
    }
}

impl<DB: Sql> Bind for Statement<'_, DB> {
    fn text(self, v: impl Into<Option<String>>) -> Self {
        DB::bind_text(self, v.into())
    }
    fn int(self, v: impl Into<Option<i64>>) -> Self {
        DB::bind_int(self, v.into())
    }
    fn real(self, v: Option<f64>) -> Self {
        DB::bind_real(self, v)
    }
    fn flag(self, v: Option<bool>) -> Self {
        DB::bind_flag(self, v)
    }
    fn stamp(self, t: impl Into<Option<DateTime<Utc>>>) -> Self {
        DB::bind_stamp(self, t.into().map(DB::Stamp::of))
    }
}

impl<DB: Sql> SqlDb<DB> {
    /// Runs a statement on a connection of the pool; its rows.
    pub(crate) async fn rows(&self, q: Statement<'_, DB>) -> Result<Vec<DB::Row>, sqlx::Error> {
        let mut conn = self.pool.acquire().await?;
        DB::rows(&mut conn, q).await
    }
}

/// An instant as a database stores it.
pub trait Stamp: std::fmt::Debug + Send + Sync + Sized + 'static {
    fn of(t: DateTime<Utc>) -> Self;
    /// The instant, or `None` when the stored value names none (corruption).
    fn instant(&self) -> Option<DateTime<Utc>>;
}

impl Stamp for i64 {
    fn of(t: DateTime<Utc>) -> Self {
        t.timestamp_millis()
    }
    fn instant(&self) -> Option<DateTime<Utc>> {
        DateTime::from_timestamp_millis(*self)
    }
}

impl Stamp for DateTime<Utc> {
    fn of(t: DateTime<Utc>) -> Self {
        t
    }
    fn instant(&self) -> Option<DateTime<Utc>> {
        Some(*self)
    }
}

/// A count or size as the databases' signed 64-bit integer.
pub(crate) fn to_db(n: u64) -> Result<i64, RepoError> {
    i64::try_from(n).map_err(|_| RepoError::Unavailable(format!("{n} does not fit the database")))
}

/// A stored count or size of the record `what` names; negative is corruption.
pub(crate) fn from_db(what: &str, column: &str, n: i64) -> Result<u64, RepoError> {
    u64::try_from(n).map_err(|_| RepoError::Corrupt(format!("{what}: {column} is {n}")))
}

/// A stored id; anything but a well-formed one is corruption.
pub(crate) fn parse_id(text: &str) -> Result<VideoId, RepoError> {
    VideoId::parse(text).map_err(|_| RepoError::Corrupt(format!("malformed video id {text:?}")))
}

/// An instant at the precision records keep on both databases (milliseconds), so that a record reads back, and moves
/// between databases, unchanged.
pub(crate) fn to_ms(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(t.timestamp_millis()).unwrap_or(t)
}

/// A duration in milliseconds for the database, saturating at 100 years (beyond that PostgreSQL's timestamps would
/// overflow, and a lease or backoff that long is "never" anyway).
pub(crate) fn duration_ms(d: Duration) -> i64 {
    const HUNDRED_YEARS_MS: i64 = 100 * 366 * 24 * 3600 * 1000;
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX).min(HUNDRED_YEARS_MS)
}

/// A database failure: decoding trouble means a bad row, anything else an unavailable store.
pub(crate) fn db_error(e: sqlx::Error) -> RepoError {
    match e {
        sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) | sqlx::Error::ColumnNotFound(_) => {
            RepoError::Corrupt(e.to_string())
        }
        sqlx::Error::PoolTimedOut => RepoError::Busy(e.to_string()),
        other => RepoError::Unavailable(other.to_string()),
    }
}

/// A failed INSERT: a taken id is [`RepoError::Duplicate`].
pub(crate) fn insert_error(e: sqlx::Error) -> RepoError {
    if e.as_database_error().is_some_and(|d| d.is_unique_violation()) { RepoError::Duplicate } else { db_error(e) }
}

/// A database failure of the job queue.
pub(crate) fn queue_error(e: sqlx::Error) -> QueueError {
    QueueError::Unavailable(e.to_string())
}

#[async_trait]
impl<DB: Sql> Database for SqlDb<DB> {
    fn backend(&self) -> Backend {
        DB::BACKEND
    }

    async fn close(&self) {
        DB::close(&self.parts).await;
        self.pool.close().await;
    }

    fn queue_settings(&self) -> QueueSettings {
        self.settings
    }

    async fn last_error_of(&self, job_id: i64) -> Result<Option<String>, QueueError> {
        self.last_error(job_id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_saturate() {
        assert_eq!(duration_ms(Duration::from_millis(1500)), 1500);
        assert_eq!(duration_ms(Duration::MAX), 100 * 366 * 24 * 3600 * 1000);
    }
}
