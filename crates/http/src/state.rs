use std::path::PathBuf;
use std::sync::Arc;

use flick_domain::config::Config;
use flick_domain::ports::{JobQueue, Repo, Store, UploadRepo, UploadSpool};
use flick_stream::Packages;

use crate::upload_locks::UploadLocks;

/// What every handler can reach: the ports, the configuration, and this process's caches.
#[derive(Clone)]
pub struct AppState {
    pub repo: Arc<dyn Repo>,
    pub store: Arc<dyn Store>,
    pub queue: Arc<dyn JobQueue>,
    /// Resumable (tus) uploads in progress.
    pub uploads: Arc<dyn UploadRepo>,
    /// Where the bytes of unfinished uploads wait (this machine's disk, or parts staged in the bucket).
    pub spool: Arc<dyn UploadSpool>,
    /// Which tus uploads have a request writing to them right now in this process (one writer per upload).
    pub upload_locks: UploadLocks,
    /// The packages of videos served from their original, cached.
    pub packages: Packages,
    pub config: Arc<Config>,
    /// Where plain upload bodies are streamed before they are handed to the store (same filesystem as the store on
    /// local disk).
    pub scratch_dir: PathBuf,
    /// Base of absolute links (share links, Open Graph images), without a trailing slash.
    pub base_url: String,
    /// Where the web app's files come from.
    pub web: crate::web::WebUi,
    /// Checks owners' tokens and viewers' password and view cookies.
    pub gate: crate::gate::Gate,
    /// This process's last `/readyz` check, reused for a few seconds.
    pub ready: crate::ready::ReadyCache,
}
