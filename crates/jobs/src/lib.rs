//! Flick's workers: they claim jobs from the [`JobQueue`](flick_domain::ports::JobQueue), follow an upload as it
//! arrives, and make it playable the cheapest way: served from the original itself (MP4/MOV that browsers play), or
//! encoded to HLS while the segments are published one by one; and they put things right after a crash.
//!
//! - [`worker`]: claim, run with a kept-alive lease, report; [`pipeline`]: what a job does, by kind and container;
//! - `original`: delivery from the original (package its index, thumbnail from its segments);
//! - `encode`: ffmpeg to HLS from a file or from the upload as it arrives, with [`publish`]ing as it goes;
//! - `storyboard`: seek-bar previews of a ready video, then its original handed on;
//! - `download`: the MP4 viewers download of a video whose original is gone;
//! - `ladder`: the lower renditions of a ready video, at the lowest priority;
//! - `thumbs`: thumbnails, and healing a missing one; `steps`: what every path shares; [`recover`]: start-up reconciliation; [`node`]: who we are.

mod download;
mod encode;
mod error;
mod ladder;
mod node;
mod original;
mod pipeline;
mod publish;
mod recover;
mod steps;
mod storyboard;
mod thumbs;
mod worker;

use std::path::PathBuf;
use std::sync::Arc;

use flick_domain::config::ProcessingConfig;
use flick_domain::ports::{JobQueue, Repo, Store, UploadRepo, UploadSpool};
use flick_media::Tools;
use flick_stream::Packages;

pub use error::JobError;
pub use node::Node;
pub use recover::recover;
pub use worker::spawn_workers;

/// Everything a worker needs: the ports, the media tools and the processing settings.
pub struct Context {
    pub repo: Arc<dyn Repo>,
    pub store: Arc<dyn Store>,
    pub queue: Arc<dyn JobQueue>,
    /// Uploads in progress (their offsets), and the spool their bytes wait in: jobs follow uploads as they arrive.
    pub uploads: Arc<dyn UploadRepo>,
    pub spool: Arc<dyn UploadSpool>,
    /// Where packages of videos served from their original are written (and cached for this process).
    pub packages: Packages,
    pub tools: Tools,
    pub settings: ProcessingConfig,
    /// The largest MP4 index read to serve a video from its original (`upload.max_index_bytes`).
    pub max_index_bytes: u64,
    /// Root of the scratch space (`{data_dir}/work`). This process's jobs run in `{work_dir}/{host}/{pid}-{tag}/`,
    /// one folder per claim; start-up removes only the folders of this host's dead processes (see [`recover`]).
    pub work_dir: PathBuf,
    /// This process's identity: its workers are `{node.name()}w{N}`; their leases are released at shutdown.
    pub node: Node,
}
