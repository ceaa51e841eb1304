//! Flick's workers: they claim jobs from the [`JobQueue`](flick_domain::ports::JobQueue), turn an upload
//! into HLS while publishing each finished segment at once, and put things right after a crash.

mod error;
mod node;
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
pub use node::Node;
pub use recover::recover;
pub use worker::spawn_workers;

/// Everything a worker needs: the ports, the media tools and the processing settings.
pub struct Context {
    pub repo: Arc<dyn Repo>,
    pub store: Arc<dyn Store>,
    pub queue: Arc<dyn JobQueue>,
    pub tools: Tools,
    pub settings: ProcessingConfig,
    /// Root of the scratch space (`{data_dir}/work`). This process's jobs run in `{work_dir}/{host}/{pid}-{tag}/`,
    /// one folder per claim; start-up removes only the folders of this host's dead processes (see [`recover`]).
    pub work_dir: PathBuf,
    /// This process's identity: its workers are `{node.name()}w{N}`; their leases are released at shutdown.
    pub node: Node,
}
