//! Flick's storage adapters: [`sqlite::SqliteDb`] (video records and the job queue, one SQLite
//! file), [`postgres::PgDb`] (the same in PostgreSQL, shared by many processes), chosen by URL with
//! [`open_database`], and [`fs::FsStore`] (blobs on the local disk). They implement the domain's ports.

mod database;
pub mod fs;
pub mod postgres;
mod queue_settings;
mod random;
pub mod sqlite;

pub use database::{Backend, Database, open_database};
pub use fs::FsStore;
pub use postgres::PgDb;
pub use queue_settings::QueueSettings;
pub use sqlite::{OpenError, SqliteDb};
