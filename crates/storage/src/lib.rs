//! Flick's storage adapters: [`sqlite::SqliteDb`] (video records and the job queue, one SQLite
//! file), [`postgres::PgDb`] (the same in PostgreSQL, shared by many processes), chosen by URL with
//! [`open_database`], [`fs::FsStore`] (blobs on the local disk) and [`object::ObjectBlobStore`] (blobs in an S3-compatible
//! bucket), chosen by `storage.blob_url` with [`BlobStore::open`]. They implement the domain's ports.

mod blobs;
mod database;
pub mod fs;
pub mod object;
pub mod postgres;
mod queue_settings;
mod random;
pub mod sqlite;

pub use blobs::{BlobStore, BlobStoreError};
pub use database::{Backend, Database, open_database};
pub use fs::FsStore;
pub use postgres::PgDb;
pub use queue_settings::QueueSettings;
pub use sqlite::{OpenError, SqliteDb};
