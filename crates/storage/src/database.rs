//! Choosing the database by its URL, once at start-up: `sqlite:…` → [`SqliteDb`], `postgres://…` or
//! `postgresql://…` → [`PgDb`]. [`Database`] is either, and implements the same ports by delegation, so the rest of
//! Flick holds `Arc<dyn Repo>`, `Arc<dyn JobQueue>` and `Arc<dyn UploadRepo>` without knowing which.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use flick_domain::ports::{
    Job, JobKind, JobOutcome, JobQueue, QueueError, QueueStats, Repo, RepoError, UploadRecord, UploadRepo,
    UploadWriteLock,
};
use flick_domain::{NewVideo, Video, VideoId, VideoUpdate};

use crate::postgres::PgDb;
use crate::queue_settings::QueueSettings;
use crate::sqlite::{OpenError, SqliteDb};

/// The database behind the records, the uploads in progress and the job queue. Cheap to clone.
#[derive(Clone, Debug)]
pub enum Database {
    Sqlite(SqliteDb),
    Postgres(PgDb),
}

/// Which kind of database a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The back end `url` names by its scheme, or why it names none.
    pub fn of_url(url: &str) -> Result<Backend, OpenError> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            let scheme = url.split_once(':').map_or("(none)", |(scheme, _)| scheme);
            Err(OpenError::Url {
                // Only the scheme: the rest may hold a password.
                url: format!("{scheme}:…"),
                reason: format!(
                    "unsupported database scheme {scheme:?}: use sqlite://PATH (the default) or \
                     postgres://USER:PASSWORD@HOST:PORT/DATABASE"
                ),
            })
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// Opens the database `url` names (creating and migrating it as needed) with the job queue's retry settings.
pub async fn open_database(url: &str, settings: impl Into<QueueSettings>) -> Result<Database, OpenError> {
    let settings = settings.into();
    match Backend::of_url(url)? {
        Backend::Sqlite => SqliteDb::open_with(url, settings).await.map(Database::Sqlite),
        Backend::Postgres => PgDb::open_with(url, settings).await.map(Database::Postgres),
    }
}

impl Database {
    pub fn backend(&self) -> Backend {
        match self {
            Database::Sqlite(_) => Backend::Sqlite,
            Database::Postgres(_) => Backend::Postgres,
        }
    }

    /// The records as a shared port.
    pub fn repo(&self) -> Arc<dyn Repo> {
        match self {
            Database::Sqlite(db) => Arc::new(db.clone()),
            Database::Postgres(db) => Arc::new(db.clone()),
        }
    }

    /// The job queue as a shared port.
    pub fn queue(&self) -> Arc<dyn JobQueue> {
        match self {
            Database::Sqlite(db) => Arc::new(db.clone()),
            Database::Postgres(db) => Arc::new(db.clone()),
        }
    }

    /// The uploads in progress as a shared port.
    pub fn uploads(&self) -> Arc<dyn UploadRepo> {
        match self {
            Database::Sqlite(db) => Arc::new(db.clone()),
            Database::Postgres(db) => Arc::new(db.clone()),
        }
    }

    /// Closes every connection (waiting for those in use).
    pub async fn close(&self) {
        match self {
            Database::Sqlite(db) => db.close().await,
            Database::Postgres(db) => db.close().await,
        }
    }

    /// The queue settings in force.
    pub fn queue_settings(&self) -> QueueSettings {
        match self {
            Database::Sqlite(db) => db.queue_settings(),
            Database::Postgres(db) => db.queue_settings(),
        }
    }

    /// The reason last recorded for a job's failure, for diagnostics.
    pub async fn last_error_of(&self, job_id: i64) -> Result<Option<String>, QueueError> {
        match self {
            Database::Sqlite(db) => db.last_error_of(job_id).await,
            Database::Postgres(db) => db.last_error_of(job_id).await,
        }
    }
}

/// Calls the same method on whichever database this is.
macro_rules! delegate {
    ($self:ident . $method:ident ( $($arg:expr),* )) => {
        match $self {
            Database::Sqlite(db) => db.$method($($arg),*).await,
            Database::Postgres(db) => db.$method($($arg),*).await,
        }
    };
}

#[async_trait]
impl Repo for Database {
    async fn insert_video(&self, video: &NewVideo) -> Result<(), RepoError> {
        delegate!(self.insert_video(video))
    }
    async fn create_video(&self, video: &NewVideo) -> Result<(), RepoError> {
        delegate!(self.create_video(video))
    }
    async fn get_video(&self, id: VideoId) -> Result<Option<Video>, RepoError> {
        delegate!(self.get_video(id))
    }
    async fn update_video(&self, id: VideoId, update: &VideoUpdate) -> Result<bool, RepoError> {
        delegate!(self.update_video(id, update))
    }
    async fn delete_video(&self, id: VideoId) -> Result<bool, RepoError> {
        delegate!(self.delete_video(id))
    }
    async fn list_videos(&self, limit: u32, offset: u32) -> Result<Vec<Video>, RepoError> {
        delegate!(self.list_videos(limit, offset))
    }
    async fn processing_video_ids(&self) -> Result<Vec<VideoId>, RepoError> {
        delegate!(self.processing_video_ids())
    }
    async fn ready_without_thumbnail(&self) -> Result<Vec<VideoId>, RepoError> {
        delegate!(self.ready_without_thumbnail())
    }
    async fn import_video(&self, video: &Video) -> Result<bool, RepoError> {
        delegate!(self.import_video(video))
    }
    async fn exists(&self, id: VideoId) -> Result<bool, RepoError> {
        delegate!(self.exists(id))
    }
}

#[async_trait]
impl JobQueue for Database {
    async fn enqueue(&self, video_id: VideoId, kind: JobKind) -> Result<(), QueueError> {
        delegate!(self.enqueue(video_id, kind))
    }
    async fn claim(&self, worker: &str, lease: Duration) -> Result<Option<Job>, QueueError> {
        delegate!(self.claim(worker, lease))
    }
    async fn heartbeat(&self, job: &Job, lease: Duration) -> Result<bool, QueueError> {
        delegate!(self.heartbeat(job, lease))
    }
    async fn complete(&self, job: &Job) -> Result<(), QueueError> {
        delegate!(self.complete(job))
    }
    async fn fail(&self, job: &Job, reason: &str, retryable: bool) -> Result<JobOutcome, QueueError> {
        delegate!(self.fail(job, reason, retryable))
    }
    async fn release_leases_of(&self, worker_prefix: &str) -> Result<u64, QueueError> {
        delegate!(self.release_leases_of(worker_prefix))
    }
    async fn lease_owners(&self) -> Result<Vec<String>, QueueError> {
        delegate!(self.lease_owners())
    }
    async fn stats(&self) -> Result<QueueStats, QueueError> {
        delegate!(self.stats())
    }
    async fn cancel_video(&self, video_id: VideoId) -> Result<(), QueueError> {
        delegate!(self.cancel_video(video_id))
    }
    async fn wait_for_work(&self, max: Duration) {
        delegate!(self.wait_for_work(max))
    }
}

#[async_trait]
impl UploadRepo for Database {
    async fn create_upload(&self, upload: &UploadRecord) -> Result<(), RepoError> {
        delegate!(self.create_upload(upload))
    }
    async fn get_upload(&self, id: VideoId) -> Result<Option<UploadRecord>, RepoError> {
        delegate!(self.get_upload(id))
    }
    async fn set_upload_offset(&self, id: VideoId, offset: u64, expires_at: DateTime<Utc>) -> Result<bool, RepoError> {
        delegate!(self.set_upload_offset(id, offset, expires_at))
    }
    async fn delete_upload(&self, id: VideoId) -> Result<bool, RepoError> {
        delegate!(self.delete_upload(id))
    }
    async fn expired_uploads(&self, now: DateTime<Utc>) -> Result<Vec<VideoId>, RepoError> {
        delegate!(self.expired_uploads(now))
    }
    async fn try_lock_upload(&self, id: VideoId) -> Result<Option<UploadWriteLock>, RepoError> {
        delegate!(self.try_lock_upload(id))
    }
    async fn upload_exists(&self, id: VideoId) -> Result<bool, RepoError> {
        delegate!(self.upload_exists(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scheme_picks_the_back_end() {
        assert_eq!(Backend::of_url("sqlite://./data/flick.db").unwrap(), Backend::Sqlite);
        assert_eq!(Backend::of_url("sqlite::memory:").unwrap(), Backend::Sqlite);
        assert_eq!(Backend::of_url("postgres://u:p@h/db").unwrap(), Backend::Postgres);
        assert_eq!(Backend::of_url("postgresql://h/db").unwrap(), Backend::Postgres);
        for bad in ["mysql://u:secret@h/db", "./data/flick.db", "", "postgres:/h/db", "POSTGRES://h/db"] {
            let err = Backend::of_url(bad).unwrap_err().to_string();
            assert!(err.contains("unsupported database scheme"), "{bad}: {err}");
            assert!(!err.contains("secret"), "the password must not leak: {err}");
        }
    }

    #[tokio::test]
    async fn open_database_refuses_an_unknown_scheme() {
        assert!(matches!(open_database("mysql://h/db", 3u32).await, Err(OpenError::Url { .. })));
    }

    #[tokio::test]
    async fn open_database_opens_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let db = open_database(&format!("sqlite://{}/flick.db", dir.path().display()), 4u32).await.unwrap();
        assert_eq!(db.backend(), Backend::Sqlite);
        assert_eq!(db.queue_settings().max_attempts, 4);
        db.close().await;
    }
}
