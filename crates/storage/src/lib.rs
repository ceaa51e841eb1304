//! Flick's storage adapters, which implement the domain's ports:
//!
//! - [`database`]: the records, uploads in progress and job queue as one [`Database`], on SQLite ([`SqliteDb`], one
//!   file) or PostgreSQL ([`PgDb`], shared by many processes), chosen by URL with [`open_database`]. Both are the same
//!   adapter, `sql` ([`SqlDb`]), written once over the two databases' common SQL; `sqlite` and `postgres` hold only
//!   what differs (opening, a few words of dialect, notifications, upload locks). Migrations: `migrations/{sqlite,
//!   postgres}/`.
//! - Blobs: [`fs::FsStore`] (the local disk) and [`object::ObjectBlobStore`] (an S3-compatible bucket), chosen by
//!   `storage.blob_url` with [`BlobStore::open`]; [`spool`]: the bytes of unfinished uploads.

mod blobs;
pub mod database;
mod file_read;
pub mod fs;
pub mod object;
mod open;
pub mod postgres;
mod queue_settings;
mod random;
pub mod spool;
mod sql;
pub mod sqlite;

pub use blobs::{BlobStore, BlobStoreError};
pub use database::{Backend, Database, OpenError, redact};
pub use fs::FsStore;
pub use open::open_database;
pub use postgres::PgDb;
pub use queue_settings::QueueSettings;
pub use spool::{LocalSpool, StagedSpool};
pub use sql::SqlDb;
pub use sqlite::SqliteDb;
