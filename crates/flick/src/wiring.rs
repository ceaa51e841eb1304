//! What `flick serve` and `flick worker` share: logging, the data folder and its lock, the database chosen by URL,
//! the blob store, the media tools, this process's identity ([`Node`]) and start-up recovery.
//!
//! Several processes may share one database and one data folder (API-only nodes, worker processes). Each has its own
//! node name `{host}/{pid}-{tag}/`, so none touches another's leases or work folder. The data folder's lock file
//! (`flick.lock`) tells a starting process whether it is alone: every process holds it shared while it runs; a
//! process that can take it exclusively at start-up (start-ups are serialised by `startup.lock`) is the only one, and
//! only then are the destructive sweeps run (orphan blobs, partial uploads, old work folders).

use std::fs::{File, OpenOptions};
use std::path::Path;
use std::sync::Arc;

use flick_domain::config::Config;
use flick_domain::ports::{Store, UploadSpool};
use flick_jobs::{Context, Node};
use flick_media::Tools;
use flick_storage::{Backend, BlobStore, Database, LocalSpool, StagedSpool, open_database};
use flick_stream::Packages;
use tracing_subscriber::EnvFilter;

/// Why a process could not start or stopped abnormally.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot use the data folder {path}: {source}")]
    DataDir { path: String, source: std::io::Error },
    #[error("cannot open the database: {0}")]
    Database(String),
    #[error("cannot use the blob store: {0}")]
    Blobs(String),
    #[error("{0}")]
    Tools(String),
    #[error("start-up recovery failed: {0}")]
    Recovery(String),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: String, source: std::io::Error },
    #[error("server error: {0}")]
    Server(std::io::Error),
    #[error("{0}")]
    Config(String),
}

/// Memory for the packages of videos served from their original (a 10-minute 1080p video's is about 1 MB).
const PACKAGE_CACHE_BYTES: usize = 256 << 20;

/// A started process's shared parts.
pub struct Wiring {
    pub config: Config,
    pub db: Arc<dyn Database>,
    pub store: Arc<dyn Store>,
    /// Where upload bodies are written before they go to the store.
    pub scratch_dir: std::path::PathBuf,
    /// Where unfinished uploads wait: this machine's scratch folder, or parts staged in the bucket when API nodes
    /// share one.
    pub spool: Arc<dyn UploadSpool>,
    /// Packages of videos served from their original, shared by the HTTP layer and the workers of this process.
    pub packages: Packages,
    pub ctx: Arc<Context>,
    /// True when no other process used the data folder at start-up (the single-machine default).
    pub alone: bool,
    /// The key viewers' cookies are signed with, the same for every process on this database.
    pub signing_key: Vec<u8>,
    data_lock: File,
    startup_lock: Option<File>,
}

impl Wiring {
    /// Opens everything and recovers from a previous crash. Other processes' start-ups wait until
    /// [`Wiring::started`] (so a sweep of this one never races a newcomer's first writes).
    pub async fn open(config: Config) -> Result<Wiring, ServeError> {
        init_logging(&config);
        let data_dir = config.storage.data_dir.clone();
        let dir_err = |source| ServeError::DataDir { path: data_dir.display().to_string(), source };
        std::fs::create_dir_all(&data_dir).map_err(dir_err)?;
        let (startup_lock, data_lock, alone) = {
            let dir = data_dir.clone();
            tokio::task::spawn_blocking(move || lock_data_dir(&dir))
                .await
                .map_err(|e| dir_err(std::io::Error::other(e)))?
                .map_err(dir_err)?
        };

        let db = open_database(&config.database_url(), config.processing.max_attempts)
            .await
            .map_err(|e| ServeError::Database(e.to_string()))?;
        let blobs = BlobStore::open(&config.storage).map_err(|e| ServeError::Blobs(e.to_string()))?;
        blobs.check().await.map_err(|e| ServeError::Blobs(format!("{} does not answer: {e}", blobs.describe())))?;
        let store = blobs.store();
        let scratch_dir = blobs.scratch_dir(&data_dir);
        std::fs::create_dir_all(&scratch_dir).map_err(dir_err)?;
        // Records or blobs that other machines see too (PostgreSQL, a bucket) are never swept as if alone.
        let shared = db.backend() == Backend::Postgres || blobs.is_shared();
        if alone {
            sweep_partial_uploads(&scratch_dir).await;
        }
        tracing::info!(database = db.backend().as_str(), blobs = %blobs.describe(), "storage opened");

        let tools = Tools::from_config(&config.processing);
        if config.processing.workers > 0 {
            tools.check().await.map_err(|e| {
                ServeError::Tools(format!(
                    "{}. Install ffmpeg (e.g. `apt-get install -y ffmpeg`) or set processing.ffmpeg_path.",
                    e.user_message()
                ))
            })?;
        }
        let spool: Arc<dyn UploadSpool> = if blobs.is_shared() {
            Arc::new(StagedSpool::new(store.clone(), scratch_dir.clone()))
        } else {
            Arc::new(LocalSpool::new(scratch_dir.clone()))
        };
        let packages = Packages::new(store.clone(), PACKAGE_CACHE_BYTES);
        let mut fresh = [0u8; 32];
        getrandom::fill(&mut fresh).map_err(|e| ServeError::Database(format!("no random source: {e}")))?;
        let signing_key = db.secret("cookie_key", &fresh).await.map_err(|e| ServeError::Database(e.to_string()))?;
        let node = Node::this_process(&hostname());
        let ctx = Arc::new(Context {
            repo: db.clone(),
            store: store.clone(),
            queue: db.clone(),
            uploads: db.clone(),
            spool: spool.clone(),
            packages: packages.clone(),
            tools,
            settings: config.processing.clone(),
            max_index_bytes: config.upload.max_index_bytes,
            work_dir: data_dir.join("work"),
            node,
        });
        // Orphan sweeps only when nothing else can be writing: a blob in a shared bucket may belong to another
        // node's upload whose record is not written yet.
        flick_jobs::recover(&ctx, alone && !shared).await.map_err(|e| ServeError::Recovery(e.to_string()))?;
        Ok(Wiring {
            config,
            db,
            store,
            scratch_dir,
            spool,
            packages,
            ctx,
            alone,
            signing_key,
            data_lock,
            startup_lock: Some(startup_lock),
        })
    }

    /// Start-up is over: this process now shares the data folder, and the next process may start.
    pub fn started(&mut self) {
        if let Err(e) = self.data_lock.lock_shared() {
            tracing::warn!(error = %e, "could not downgrade the data folder's lock");
        }
        if let Some(lock) = self.startup_lock.take()
            && let Err(e) = lock.unlock()
        {
            tracing::warn!(error = %e, "could not release the start-up lock");
        }
    }

    /// Graceful stop: releases this process's leases (its interrupted jobs are claimable at once) and closes the
    /// database.
    pub async fn stop(&self) {
        if let Err(e) = self.ctx.queue.release_leases_of(&self.ctx.node.name()).await {
            tracing::warn!(error = %e, "could not release job leases");
        }
        let _ = tokio::fs::remove_dir_all(self.ctx.node.work_dir(&self.ctx.work_dir)).await;
        self.db.close().await;
    }
}

/// Takes `startup.lock` (waiting for other start-ups), then tries `flick.lock` exclusively: success means no other
/// process uses the data folder. Returns (start-up lock, data lock, alone); the data lock is held exclusively when
/// alone, shared otherwise.
fn lock_data_dir(dir: &Path) -> std::io::Result<(File, File, bool)> {
    let open = |name: &str| OpenOptions::new().create(true).truncate(false).read(true).write(true).open(dir.join(name));
    let startup = open("startup.lock")?;
    startup.lock()?;
    let data = open("flick.lock")?;
    let alone = match data.try_lock() {
        Ok(()) => true,
        Err(std::fs::TryLockError::WouldBlock) => {
            data.lock_shared()?;
            false
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(e),
    };
    Ok((startup, data, alone))
}

/// Waits for SIGTERM or Ctrl-C.
pub async fn wait_for_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

/// Uploads interrupted by a crash leave `*.part` files in the scratch folder; nobody owns them any more.
async fn sweep_partial_uploads(dir: &Path) {
    let Ok(mut entries) = tokio::fs::read_dir(dir).await else { return };
    while let Ok(Some(entry)) = entries.next_entry().await {
        let name = entry.file_name();
        if name.to_string_lossy().starts_with("upload-") {
            let _ = tokio::fs::remove_file(entry.path()).await;
        }
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_owned())
        .ok()
        .filter(|s| !s.is_empty() && !s.contains('/'))
        .unwrap_or_else(|| "localhost".to_owned())
}

fn init_logging(config: &Config) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&config.log.filter));
    use std::io::IsTerminal;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let _ = if config.log.format == "json" { builder.json().try_init() } else { builder.try_init() };
}
