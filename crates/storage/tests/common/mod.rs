//! Helpers shared by the integration tests: a database in a fresh temporary directory.

#![allow(dead_code)]

use flick_storage::{QueueSettings, SqliteDb};
use tempfile::TempDir;

/// The URL of `flick.db` in `dir`, in a subdirectory that does not exist yet (open must create it).
pub fn db_url(dir: &TempDir) -> String {
    format!("sqlite://{}/data/flick.db", dir.path().display())
}

/// A fresh database with default settings; keep the `TempDir` alive as long as the database.
pub async fn fresh_db() -> (TempDir, SqliteDb) {
    let dir = tempfile::tempdir().unwrap();
    let db = SqliteDb::open(&db_url(&dir)).await.unwrap();
    (dir, db)
}

/// A fresh database with the given queue settings.
pub async fn fresh_db_with(settings: QueueSettings) -> (TempDir, SqliteDb) {
    let dir = tempfile::tempdir().unwrap();
    let db = SqliteDb::open_with(&db_url(&dir), settings).await.unwrap();
    (dir, db)
}
