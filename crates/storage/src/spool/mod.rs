//! The two [`UploadSpool`](flick_domain::ports::UploadSpool)s: [`LocalSpool`] keeps an unfinished upload in one file
//! on this machine (the single-machine default); [`StagedSpool`] keeps it as parts in the blob store, so that API
//! nodes sharing a bucket can each take the next chunk and workers anywhere can read it as it grows.

mod local;
mod staged;

pub use local::LocalSpool;
pub use staged::StagedSpool;

use std::time::Duration;

/// How often, at most, a writer makes what it received durable in the middle of a request: each commit is an fsync
/// (local) or a PUT (staged), and what is committed can be watched at once.
const LOCAL_COMMIT_EVERY: Duration = Duration::from_millis(250);
const STAGED_COMMIT_EVERY: Duration = Duration::from_secs(1);
/// ... and the least a commit in the middle of a request carries (a staged part smaller than this costs more in
/// requests than it gains in latency).
const LOCAL_COMMIT_MIN_BYTES: u64 = 64 * 1024;
const STAGED_COMMIT_MIN_BYTES: u64 = 1024 * 1024;
