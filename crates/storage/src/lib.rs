//! Flick's storage adapters: [`sqlite::SqliteDb`] (video records and the job queue, one SQLite
//! file) and [`fs::FsStore`] (blobs on the local disk). They implement the domain's ports.

pub mod fs;
mod random;
pub mod sqlite;

pub use fs::FsStore;
pub use sqlite::{OpenError, QueueSettings, SqliteDb};
