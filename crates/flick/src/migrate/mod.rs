//! `flick migrate`: copies the installation the configuration describes (typically SQLite and the data folder) into
//! another database and blob store (typically PostgreSQL and an S3 bucket), then verifies the copy.
//!
//! Each video's blobs are copied before its record is written, so an interrupted run never leaves a destination
//! record without its files. A re-run skips the objects already there with the same length and the records already
//! there, so it resumes cheaply. Unfinished resumable (tus) uploads are not moved: their clients upload them again.
//!
//! The steps, in order: [`preflight`] (the destination names neither source store; the source is locked; a clean
//! scratch folder), [`copy`] (blobs, then the record and its captions, then the jobs it still needs), [`verify`]
//! (records compared field by field, blobs by length or content), [`report`] (progress, logs, the summary).

mod copy;
mod preflight;
mod report;
mod verify;

use copy::{Migration, Tally, all_videos};
use preflight::{Destination, lock_source, reset_scratch, sqlite_path};
use report::{Summary, init_logging, progress_bar};
use verify::Verification;

use std::collections::HashMap;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use flick_domain::config::{Config, StorageConfig};
use flick_domain::ports::{BlobKey, JobKind, QueueError, RepoError, Store, StoreError};
use flick_domain::{Video, VideoId, VideoStatus};
use flick_storage::{Backend, BlobStore, Database, open_database, redact};
use futures_util::{StreamExt, stream};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sha2::{Digest, Sha256};
use tracing::Instrument;
use tracing_subscriber::EnvFilter;

/// Records read from the source per query.
const PAGE: u32 = 500;
/// Blobs of one video copied at once (each a download or hard link, then an upload).
const COPIES_IN_FLIGHT: usize = 4;
/// Blobs of one video hashed at once with `--verify-content`.
const HASHES_IN_FLIGHT: usize = 4;
/// How deep under `hls/{id}/` files are looked for (Flick writes them flat; deeper means something is wrong).
const MAX_DEPTH: usize = 4;
/// Verification problems printed in the summary (all of them are logged).
const PROBLEMS_SHOWN: usize = 20;

/// What `flick migrate` was asked to do.
pub struct Options {
    /// The destination database URL.
    pub to_database: String,
    /// The destination blob store: `s3://BUCKET/PREFIX` or a local folder.
    pub to_blobs: String,
    /// Also compare every blob's SHA-256, not only its length.
    pub verify_content: bool,
}

/// Why `flick migrate` refused to start, could not finish, or found the copy wrong.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("--to-database: {0}")]
    DestinationDatabaseUrl(String),
    #[error("--to-blobs {0:?} is neither s3://BUCKET/PREFIX nor a local folder")]
    DestinationBlobUrl(String),
    #[error("the destination database is the source's own ({0}): migrate copies an installation into another one")]
    SameDatabase(String),
    #[error("the destination blob store is the source's own ({0}): migrate copies an installation into another one")]
    SameBlobs(String),
    #[error(
        "the data folder {0} does not exist: set storage.data_dir (or FLICK_STORAGE__DATA_DIR) to the installation \
         to move"
    )]
    NoDataDir(PathBuf),
    #[error(
        "the source database {0} does not exist: is storage.data_dir (or storage.database_url) the installation to move?"
    )]
    NoSourceDatabase(PathBuf),
    #[error(
        "a Flick process (flick serve or flick worker) is running on {0}: stop it, then run migrate again (the copy \
         must see an installation that does not change)"
    )]
    SourceInUse(PathBuf),
    #[error("cannot lock the data folder {path}: {source}")]
    Lock { path: PathBuf, source: io::Error },
    #[error("cannot open the {which} database: {message}")]
    Database { which: &'static str, message: String },
    #[error("cannot use the {which} blob store: {message}")]
    Blobs { which: &'static str, message: String },
    #[error("cannot use the scratch folder {path}: {source}")]
    Scratch { path: PathBuf, source: io::Error },
    #[error("cannot read the source's records: {0}")]
    ReadSource(RepoError),
    #[error("blob {key}: {source}")]
    Blob { key: String, source: StoreError },
    #[error("cannot write the record: {0}")]
    Record(RepoError),
    #[error("cannot queue its job: {0}")]
    Queue(QueueError),
    #[error("{0} video(s) could not be copied (see above); run the same command again to resume")]
    Incomplete(usize),
    #[error("verification failed: {0} problem(s), listed above")]
    VerificationFailed(usize),
}

/// Runs the whole migration: checks, copy, verification, summary on stdout.
pub async fn run(config: Config, options: Options) -> Result<(), MigrateError> {
    let bar = progress_bar();
    init_logging(&config, &bar);
    let started = Instant::now();

    let source_db_url = config.database_url();
    let destination = Destination::check(&config, &options, &source_db_url)?;
    let data_dir = config.storage.data_dir.clone();
    // Held until the end: a `flick serve` or `flick worker` starting meanwhile waits for it.
    let _lock = lock_source(&data_dir)?;

    if let Some(path) = sqlite_path(&source_db_url)
        && !path.exists()
    {
        return Err(MigrateError::NoSourceDatabase(path));
    }
    let open_err = |which| move |e: flick_storage::OpenError| MigrateError::Database { which, message: e.to_string() };
    let source_db = open_database(&source_db_url, config.processing.max_attempts).await.map_err(open_err("source"))?;
    let dest_db =
        open_database(&options.to_database, config.processing.max_attempts).await.map_err(open_err("destination"))?;
    let blobs_err = |which| move |e: String| MigrateError::Blobs { which, message: e };
    let source_blobs = BlobStore::open(&config.storage).map_err(|e| blobs_err("source")(e.to_string()))?;
    let dest_blobs = BlobStore::open(&destination.storage).map_err(|e| blobs_err("destination")(e.to_string()))?;
    for (which, blobs) in [("source", &source_blobs), ("destination", &dest_blobs)] {
        blobs.check().await.map_err(|e| blobs_err(which)(format!("{} does not answer: {e}", blobs.describe())))?;
    }
    let scratch = source_blobs.scratch_dir(&data_dir).join("migrate");
    reset_scratch(&scratch).await?;

    let source_label = format!("{} + {}", redact(&source_db_url), source_blobs.describe());
    let dest_label = format!("{} + {}", redact(&options.to_database), dest_blobs.describe());
    tracing::info!(source = %source_label, destination = %dest_label, "migrating");

    let videos = all_videos(&*source_db).await.map_err(MigrateError::ReadSource)?;
    // Far enough ahead that every unfinished upload has expired by then: this lists them all.
    let far = chrono::Utc::now() + chrono::TimeDelta::days(365 * 100);
    let unfinished = source_db.expired_uploads(far).await.map_err(MigrateError::ReadSource)?.len();

    let migration = Migration {
        source: source_blobs.store(),
        dest: dest_blobs.store(),
        dest_blobs,
        source_db: source_db.clone(),
        dest_db: dest_db.clone(),
        scratch: scratch.clone(),
    };
    bar.set_length(videos.len() as u64);
    bar.set_message("copying");
    if io::stderr().is_terminal() {
        bar.set_draw_target(ProgressDrawTarget::stderr());
    }
    let mut tally = Tally::default();
    for video in &videos {
        let span = tracing::info_span!("video", id = %video.id);
        if let Err(e) = migration.copy_video(video, &mut tally).instrument(span.clone()).await {
            span.in_scope(|| tracing::error!(error = %e, "not copied"));
            tally.videos_failed += 1;
        }
        bar.inc(1);
    }
    bar.reset();
    bar.set_message("verifying");
    let mut check = Verification::default();
    for video in &videos {
        let span = tracing::info_span!("video", id = %video.id);
        migration.verify_video(video, options.verify_content, &mut check).instrument(span).await;
        bar.inc(1);
    }
    bar.finish_and_clear();
    let _ = tokio::fs::remove_dir_all(&scratch).await;
    source_db.close().await;
    dest_db.close().await;

    let summary = Summary {
        source: source_label,
        destination: dest_label,
        videos: videos.len(),
        unfinished,
        verify_content: options.verify_content,
        tally,
        check,
        elapsed: started.elapsed(),
    };
    summary.print();
    if summary.tally.videos_failed > 0 {
        Err(MigrateError::Incomplete(summary.tally.videos_failed))
    } else if !summary.check.problems.is_empty() {
        Err(MigrateError::VerificationFailed(summary.check.problems.len()))
    } else {
        Ok(())
    }
}
