//! `flick migrate`: copies the installation the configuration describes (typically SQLite and the data folder) into
//! another database and blob store (typically PostgreSQL and an S3 bucket), then verifies the copy.
//!
//! Each video's blobs are copied before its record is written, so an interrupted run never leaves a destination
//! record without its files. A re-run skips the objects already there with the same length and the records already
//! there, so it resumes cheaply. Unfinished resumable (tus) uploads are not moved: their clients upload them again.

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

/// The destination, checked: its URLs are usable and name neither of the source's stores.
struct Destination {
    /// The source's storage settings with the destination's blob URL (its `s3` settings are the destination's too).
    storage: StorageConfig,
}

impl Destination {
    fn check(config: &Config, options: &Options, source_db_url: &str) -> Result<Destination, MigrateError> {
        Backend::of_url(&options.to_database).map_err(|e| MigrateError::DestinationDatabaseUrl(e.to_string()))?;
        if same_database(source_db_url, &options.to_database) {
            return Err(MigrateError::SameDatabase(redact(source_db_url)));
        }
        let to_blobs = options.to_blobs.trim();
        if to_blobs.is_empty() || (to_blobs.contains("://") && !to_blobs.starts_with("s3://")) {
            return Err(MigrateError::DestinationBlobUrl(options.to_blobs.clone()));
        }
        let source = BlobSpec::of(config.storage.blob_url.as_deref(), &config.storage.data_dir);
        if source == BlobSpec::of(Some(to_blobs), &config.storage.data_dir) {
            return Err(MigrateError::SameBlobs(source.to_string()));
        }
        Ok(Destination { storage: StorageConfig { blob_url: Some(to_blobs.to_owned()), ..config.storage.clone() } })
    }
}

/// Where blobs live, normalised so that two spellings of the same place compare equal.
#[derive(Debug, PartialEq)]
enum BlobSpec {
    Bucket(String),
    Folder(PathBuf),
}

impl BlobSpec {
    fn of(url: Option<&str>, data_dir: &Path) -> BlobSpec {
        match url.map(str::trim).filter(|u| !u.is_empty()) {
            Some(u) if u.starts_with("s3://") => BlobSpec::Bucket(u.trim_end_matches('/').to_owned()),
            Some(u) => BlobSpec::Folder(identity(Path::new(u))),
            None => BlobSpec::Folder(identity(data_dir)),
        }
    }
}

impl std::fmt::Display for BlobSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BlobSpec::Bucket(url) => f.write_str(url),
            BlobSpec::Folder(path) => write!(f, "{}", path.display()),
        }
    }
}

/// Whether two database URLs name the same database (SQLite files by their resolved path).
fn same_database(a: &str, b: &str) -> bool {
    match (sqlite_path(a), sqlite_path(b)) {
        (Some(a), Some(b)) => identity(&a) == identity(&b),
        (None, None) => a.trim().trim_end_matches('/') == b.trim().trim_end_matches('/'),
        _ => false,
    }
}

/// The file of a `sqlite:` URL.
fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    Some(PathBuf::from(rest.split('?').next().unwrap_or(rest)))
}

/// A path as the filesystem resolves it (symbolic links, `..`); what does not exist yet is resolved from the nearest
/// folder that does.
fn identity(path: &Path) -> PathBuf {
    if let Ok(resolved) = path.canonicalize() {
        return resolved;
    }
    match (path.parent(), path.file_name()) {
        (Some(parent), Some(name)) if !parent.as_os_str().is_empty() => identity(parent).join(name),
        _ => std::path::absolute(path).unwrap_or_else(|_| path.to_owned()),
    }
}

/// Takes the data folder's lock exclusively, which only succeeds while no Flick process uses the folder.
fn lock_source(data_dir: &Path) -> Result<File, MigrateError> {
    if !data_dir.is_dir() {
        return Err(MigrateError::NoDataDir(data_dir.to_owned()));
    }
    let path = data_dir.join("flick.lock");
    let lock_err = |source| MigrateError::Lock { path: path.clone(), source };
    let file = OpenOptions::new().create(true).truncate(false).read(true).write(true).open(&path).map_err(lock_err)?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(MigrateError::SourceInUse(data_dir.to_owned())),
        Err(TryLockError::Error(e)) => Err(lock_err(e)),
    }
}

/// Empties the folder blobs pass through (a crashed run's leftovers included).
async fn reset_scratch(scratch: &Path) -> Result<(), MigrateError> {
    let err = |source| MigrateError::Scratch { path: scratch.to_owned(), source };
    match tokio::fs::remove_dir_all(scratch).await {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(err(e)),
        _ => {}
    }
    tokio::fs::create_dir_all(scratch).await.map_err(err)
}

/// Every video of the source, oldest first (so that the destination's insertion order, its tie-break between videos
/// created in the same millisecond, matches the source's).
async fn all_videos(db: &dyn Database) -> Result<Vec<Video>, RepoError> {
    let mut all = Vec::new();
    loop {
        let offset = u32::try_from(all.len()).map_err(|_| RepoError::Unavailable("too many videos".into()))?;
        let page = db.list_videos(PAGE, offset).await?;
        let full = page.len() == PAGE as usize;
        all.extend(page);
        if !full {
            break;
        }
    }
    all.reverse();
    Ok(all)
}

/// What the copy did.
#[derive(Debug, Default)]
struct Tally {
    videos_copied: usize,
    videos_present: usize,
    videos_failed: usize,
    blobs_copied: usize,
    blobs_present: usize,
    bytes_copied: u64,
    jobs_queued: usize,
}

/// What verification found.
#[derive(Debug, Default)]
struct Verification {
    records: usize,
    blobs: usize,
    bytes_hashed: u64,
    problems: Vec<String>,
}

impl Verification {
    fn problem(&mut self, id: VideoId, text: impl std::fmt::Display) {
        tracing::error!(problem = %text, "verification");
        self.problems.push(format!("video {id}: {text}"));
    }
}

/// The stores a run copies between.
struct Migration {
    source: Arc<dyn Store>,
    dest: Arc<dyn Store>,
    dest_blobs: BlobStore,
    source_db: Arc<dyn Database>,
    dest_db: Arc<dyn Database>,
    scratch: PathBuf,
}

impl Migration {
    /// Copies a video's missing blobs, then its record, then queues what it still needs.
    async fn copy_video(&self, video: &Video, tally: &mut Tally) -> Result<(), MigrateError> {
        let blobs = source_blobs(&*self.source, video.id).await?;
        let present = self.dest_lengths(video.id, &blobs).await?;
        let missing: Vec<_> = blobs.iter().filter(|(key, len)| present.get(key.as_str()) != Some(len)).collect();
        tally.blobs_present += blobs.len() - missing.len();
        let copies = stream::iter(missing.iter().enumerate())
            .map(|(i, (key, len))| {
                let local = self.scratch.join(format!("{}-{i}", video.id));
                async move { self.copy_blob(key, &local).await.map(|()| *len) }
            })
            .buffer_unordered(COPIES_IN_FLIGHT)
            .collect::<Vec<_>>()
            .await;
        let mut first_error = None;
        for copy in copies {
            match copy {
                Ok(len) => {
                    tally.blobs_copied += 1;
                    tally.bytes_copied += len;
                }
                Err(e) => first_error = first_error.or(Some(e)),
            }
        }
        // No record without every one of its blobs.
        if let Some(e) = first_error {
            return Err(e);
        }

        let inserted = self.dest_db.import_video(video).await.map_err(MigrateError::Record)?;
        if inserted {
            tally.videos_copied += 1;
        } else {
            tally.videos_present += 1;
        }
        let stored = self.dest_db.get_video(video.id).await.map_err(MigrateError::Record)?;
        if stored.as_ref() != Some(video) {
            // Changed since an earlier run (on either side): never overwritten; verification reports it.
            tracing::warn!("the destination already holds a different record of this video; left as it is");
            return Ok(());
        }
        // Its caption tracks (their cues are blobs, copied above); adding one again only relabels it.
        for caption in self.source_db.captions(video.id).await.map_err(MigrateError::ReadSource)? {
            self.dest_db.put_caption(video.id, &caption, u32::MAX).await.map_err(MigrateError::Record)?;
        }
        // What a server's start-up would queue for this record; enqueueing is idempotent.
        let job = match video.status {
            VideoStatus::Processing => Some(JobKind::Process),
            VideoStatus::Ready if !video.has_thumbnail => Some(JobKind::Thumbnail),
            _ => None,
        };
        if let Some(kind) = job {
            self.dest_db.enqueue(video.id, kind).await.map_err(MigrateError::Queue)?;
            tally.jobs_queued += 1;
        }
        tracing::info!(
            blobs = blobs.len(),
            copied = missing.len(),
            record = if inserted { "copied" } else { "already there" },
            "video copied"
        );
        Ok(())
    }

    /// Copies one blob through a local file (a hard link when the source is on this disk).
    async fn copy_blob(&self, key: &BlobKey, local: &Path) -> Result<(), MigrateError> {
        let err = |source| MigrateError::Blob { key: key.to_string(), source };
        self.source.fetch_to(key, local).await.map_err(err)?;
        let result = self.dest.put_file(key, local).await.map_err(err);
        if result.is_err() {
            let _ = tokio::fs::remove_file(local).await;
        }
        tracing::debug!(%key, ok = result.is_ok(), "blob copied");
        result
    }

    /// Checks the destination's record and blobs of a video against the source's.
    async fn verify_video(&self, video: &Video, content: bool, check: &mut Verification) {
        check.records += 1;
        match self.dest_db.get_video(video.id).await {
            Ok(Some(stored)) if stored == *video => {}
            Ok(Some(stored)) => check.problem(video.id, format!("record differs in {}", differences(video, &stored))),
            Ok(None) => check.problem(video.id, "record missing"),
            Err(e) => check.problem(video.id, format!("cannot read the record: {e}")),
        }
        let blobs = match source_blobs(&*self.source, video.id).await {
            Ok(blobs) => blobs,
            Err(e) => return check.problem(video.id, e),
        };
        let present = match self.dest_lengths(video.id, &blobs).await {
            Ok(present) => present,
            Err(e) => return check.problem(video.id, e),
        };
        let mut same_length = Vec::new();
        for (key, len) in &blobs {
            check.blobs += 1;
            match present.get(key.as_str()) {
                None => check.problem(video.id, format!("blob {key} missing")),
                Some(found) if found != len => {
                    check.problem(video.id, format!("blob {key} is {found} bytes, the source's {len}"))
                }
                Some(_) => same_length.push(key),
            }
        }
        if !content {
            return;
        }
        let hashes = stream::iter(same_length)
            .map(|key| async move {
                let (source, dest) = tokio::join!(sha256(&*self.source, key), sha256(&*self.dest, key));
                (key, source, dest)
            })
            .buffer_unordered(HASHES_IN_FLIGHT)
            .collect::<Vec<_>>()
            .await;
        for (key, source, dest) in hashes {
            match (source, dest) {
                (Ok((a, len)), Ok((b, _))) if a == b => check.bytes_hashed += len,
                (Ok(_), Ok(_)) => check.problem(video.id, format!("blob {key} has other content (SHA-256)")),
                (Err(e), _) | (_, Err(e)) => check.problem(video.id, format!("cannot hash {key}: {e}")),
            }
        }
    }

    /// The lengths of those of `blobs` the destination has, by key.
    async fn dest_lengths(&self, id: VideoId, blobs: &[(BlobKey, u64)]) -> Result<HashMap<String, u64>, MigrateError> {
        let mut found = HashMap::new();
        let mut ask = Vec::new();
        match &self.dest_blobs {
            BlobStore::Object(bucket) => {
                // One listing answers for every HLS file (a HEAD each would be one request per segment).
                let prefix = BlobKey::hls_prefix(id);
                let listed = bucket
                    .keys_under(Some(&prefix))
                    .await
                    .map_err(|source| MigrateError::Blob { key: prefix.to_string(), source })?;
                found.extend(listed);
                ask.extend(blobs.iter().map(|(key, _)| key).filter(|key| !key.as_str().starts_with("hls/")));
            }
            BlobStore::Local(_) => ask.extend(blobs.iter().map(|(key, _)| key)),
        }
        for key in ask {
            let len = self.dest.len(key).await.map_err(|source| MigrateError::Blob { key: key.to_string(), source })?;
            if let Some(len) = len {
                found.insert(key.to_string(), len);
            }
        }
        Ok(found)
    }
}

/// A video's blobs in `store` with their lengths: `raw/{id}` and `thumbs/{id}.jpg` when present, every file under
/// `hls/{id}/`.
async fn source_blobs(store: &dyn Store, id: VideoId) -> Result<Vec<(BlobKey, u64)>, MigrateError> {
    let err = |key: &BlobKey| {
        let key = key.to_string();
        move |source| MigrateError::Blob { key, source }
    };
    let mut blobs = Vec::new();
    for key in [BlobKey::raw(id), BlobKey::thumbnail(id)] {
        if let Some(len) = store.len(&key).await.map_err(err(&key))? {
            blobs.push((key, len));
        }
    }
    let mut folders = vec![(BlobKey::hls_prefix(id), 0)];
    while let Some((folder, depth)) = folders.pop() {
        for name in store.list(&folder).await.map_err(err(&folder))? {
            let Ok(key) = BlobKey::new(format!("{folder}/{name}")) else {
                // No request can name it, so no viewer misses it.
                tracing::warn!(folder = %folder, name, "skipping a file whose name is not a blob key");
                continue;
            };
            match store.len(&key).await.map_err(err(&key))? {
                Some(len) => blobs.push((key, len)),
                None if depth < MAX_DEPTH => folders.push((key, depth + 1)),
                None => tracing::warn!(%key, "skipping a folder nested too deep"),
            }
        }
    }
    Ok(blobs)
}

/// SHA-256 and length of a blob, streamed.
async fn sha256(store: &dyn Store, key: &BlobKey) -> Result<([u8; 32], u64), StoreError> {
    let Some(mut blob) = store.get(key, None).await? else {
        return Err(StoreError::Io { key: key.to_string(), source: io::Error::new(io::ErrorKind::NotFound, "gone") });
    };
    let mut hasher = Sha256::new();
    let mut len = 0u64;
    while let Some(chunk) = blob.body.next().await {
        let chunk = chunk.map_err(|source| StoreError::Io { key: key.to_string(), source })?;
        len += chunk.len() as u64;
        hasher.update(&chunk);
    }
    Ok((hasher.finalize().into(), len))
}

/// The names of the fields in which two records of the same video differ.
fn differences(a: &Video, b: &Video) -> String {
    // Destructured: a field added to `Video` does not compile here until it is compared.
    let Video {
        id: _,
        share_id,
        original_name,
        title,
        size_bytes,
        status,
        playable,
        playable_seconds,
        delivery,
        progress,
        duration_seconds,
        width,
        height,
        has_thumbnail,
        has_storyboard,
        failure,
        manage_token_hash,
        access,
        deleted_at,
        created_at,
        updated_at,
    } = a;
    let fields = [
        ("share_id", *share_id == b.share_id),
        ("original_name", *original_name == b.original_name),
        ("title", *title == b.title),
        ("size_bytes", *size_bytes == b.size_bytes),
        ("status", *status == b.status),
        ("playable", *playable == b.playable),
        ("playable_seconds", *playable_seconds == b.playable_seconds),
        ("delivery", *delivery == b.delivery),
        ("progress", *progress == b.progress),
        ("duration_seconds", *duration_seconds == b.duration_seconds),
        ("width", *width == b.width),
        ("height", *height == b.height),
        ("has_thumbnail", *has_thumbnail == b.has_thumbnail),
        ("has_storyboard", *has_storyboard == b.has_storyboard),
        ("failure", *failure == b.failure),
        ("manage_token_hash", *manage_token_hash == b.manage_token_hash),
        ("access", *access == b.access),
        ("deleted_at", *deleted_at == b.deleted_at),
        ("created_at", *created_at == b.created_at),
        ("updated_at", *updated_at == b.updated_at),
    ];
    let differing: Vec<_> = fields.iter().filter(|(_, same)| !same).map(|(name, _)| *name).collect();
    differing.join(", ")
}

/// The outcome, printed on stdout.
struct Summary {
    source: String,
    destination: String,
    videos: usize,
    unfinished: usize,
    verify_content: bool,
    tally: Tally,
    check: Verification,
    elapsed: Duration,
}

impl Summary {
    fn print(&self) {
        let (t, c) = (&self.tally, &self.check);
        let mut out = String::new();
        out.push_str(&format!("source: {}\ndestination: {}\n", self.source, self.destination));
        out.push_str(&format!(
            "videos: {} copied, {} already there, {} failed (of {})\n",
            t.videos_copied, t.videos_present, t.videos_failed, self.videos
        ));
        out.push_str(&format!(
            "blobs: {} copied, {} already there ({} bytes copied, {:.1} MiB)\n",
            t.blobs_copied,
            t.blobs_present,
            t.bytes_copied,
            t.bytes_copied as f64 / 1_048_576.0
        ));
        out.push_str(&format!(
            "jobs queued: {} (videos still processing, ready videos without thumbnail)\n",
            t.jobs_queued
        ));
        out.push_str(&format!(
            "unfinished uploads not moved: {} (resumable uploads in progress are not copied: their clients upload \
             again)\n",
            self.unfinished
        ));
        let what = if self.verify_content { "the same length and SHA-256" } else { "the same length" };
        if c.problems.is_empty() {
            out.push_str(&format!(
                "verification: passed ({} records equal, {} blobs with {what})\n",
                c.records, c.blobs
            ));
        } else {
            out.push_str(&format!(
                "verification: FAILED ({} problem(s) in {} records and {} blobs checked)\n",
                c.problems.len(),
                c.records,
                c.blobs
            ));
            for problem in c.problems.iter().take(PROBLEMS_SHOWN) {
                out.push_str(&format!("  {problem}\n"));
            }
            if c.problems.len() > PROBLEMS_SHOWN {
                out.push_str(&format!("  … and {} more (in the log)\n", c.problems.len() - PROBLEMS_SHOWN));
            }
        }
        out.push_str(&format!("time: {:.1} s\n", self.elapsed.as_secs_f64()));
        let mut stdout = io::stdout().lock();
        let _ = stdout.write_all(out.as_bytes());
        let _ = stdout.flush();
    }
}

/// A bar counting videos, hidden until there is something to count (and on stderr only when it is a terminal).
fn progress_bar() -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::hidden());
    let style = ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} videos, {elapsed}")
        .map(|s| s.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar
}

/// Log lines on stderr, written above the progress bar rather than through it.
fn init_logging(config: &Config, bar: &ProgressBar) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&config.log.filter));
    let bar = bar.clone();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(move || BarWriter(bar.clone()))
        .with_ansi(io::stderr().is_terminal());
    let _ = if config.log.format == "json" { builder.json().try_init() } else { builder.try_init() };
}

/// Writes to stderr with the progress bar cleared meanwhile.
struct BarWriter(ProgressBar);

impl Write for BarWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.suspend(|| io::stderr().write(buf))
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_stores_are_recognised_however_spelled() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir_all(&data).unwrap();
        let db = format!("sqlite://{}/flick.db", data.display());
        let other_spelling = format!("sqlite://{}/../data/flick.db?mode=rwc", data.display());
        assert!(same_database(&db, &other_spelling));
        assert!(!same_database(&db, "postgres://u@h/flick"));
        assert!(same_database("postgres://u@h/flick", "postgres://u@h/flick/"));
        assert_eq!(BlobSpec::of(None, &data), BlobSpec::of(Some(&format!("{}/", data.display())), &data));
        assert_eq!(BlobSpec::of(Some("s3://b/p/"), &data), BlobSpec::of(Some("s3://b/p"), &data));
        assert_ne!(BlobSpec::of(Some("s3://b/p"), &data), BlobSpec::of(Some("s3://b/q"), &data));
    }
}
