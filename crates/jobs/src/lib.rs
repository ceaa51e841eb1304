//! Flick's workers: they claim jobs from the [`JobQueue`](flick_domain::ports::JobQueue), turn an upload
//! into HLS while publishing each finished segment at once, and put things right after a crash.

mod error;
mod pipeline;
mod publish;
mod recover;
mod worker;

use std::path::PathBuf;
use std::sync::Arc;

use flick_domain::config::ProcessingConfig;
use flick_domain::ports::{JobQueue, Repo, Store};
use flick_media::Tools;

pub use error::JobError;
pub use recover::recover;
pub use worker::spawn_workers;

/// Everything a worker needs: the ports, the media tools and the processing settings.
pub struct Context {
    pub repo: Arc<dyn Repo>,
    pub store: Arc<dyn Store>,
    pub queue: Arc<dyn JobQueue>,
    pub tools: Tools,
    pub settings: ProcessingConfig,
    /// Scratch space for jobs (`{data_dir}/work`): one folder per running job, emptied at start-up.
    pub work_dir: PathBuf,
    /// Prefix of this process's worker names; leases held under it are released at start-up and shutdown.
    pub node: String,
}
