use std::path::PathBuf;
use std::sync::Arc;

use flick_domain::config::Config;
use flick_domain::ports::{JobQueue, Repo, Store, UploadRepo};

/// What every handler can reach: the three ports and the configuration.
#[derive(Clone)]
pub struct AppState {
    pub repo: Arc<dyn Repo>,
    pub store: Arc<dyn Store>,
    pub queue: Arc<dyn JobQueue>,
    /// Resumable (tus) uploads in progress.
    pub uploads: Arc<dyn UploadRepo>,
    /// Which tus uploads have a request writing to them right now (one writer per upload).
    pub upload_locks: crate::tus::UploadLocks,
    pub config: Arc<Config>,
    /// Where upload bodies are streamed before they are handed to the store (same filesystem as the store on local disk).
    pub scratch_dir: PathBuf,
    /// True when API nodes share the uploads in progress (the blob store is a bucket): their bytes are staged in the
    /// store, chunk by chunk, instead of on this node's disk.
    pub shared_uploads: bool,
    /// Base of absolute links (share links, Open Graph images), without a trailing slash.
    pub base_url: String,
    /// Where the web app's files come from.
    pub web: crate::web::WebUi,
}
