//! Choosing the database by its URL, once at start-up: `sqlite:…` → [`SqliteDb`], `postgres://…` or
//! `postgresql://…` → [`PgDb`].

use std::sync::Arc;

use crate::database::{Backend, Database, OpenError};
use crate::postgres::PgDb;
use crate::queue_settings::QueueSettings;
use crate::sqlite::SqliteDb;

/// Opens the database `url` names (creating and migrating it as needed) with the job queue's retry settings.
pub async fn open_database(url: &str, settings: impl Into<QueueSettings>) -> Result<Arc<dyn Database>, OpenError> {
    let settings = settings.into();
    Ok(match Backend::of_url(url)? {
        Backend::Sqlite => Arc::new(SqliteDb::open_with(url, settings).await?),
        Backend::Postgres => Arc::new(PgDb::open_with(url, settings).await?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn open_database_refuses_an_unknown_scheme() {
        assert!(matches!(open_database("mysql://h/db", 3u32).await, Err(OpenError::Url { .. })));
    }

    #[tokio::test]
    async fn open_database_opens_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let db = open_database(&format!("sqlite://{}/flick.db", dir.path().display()), 4u32).await.unwrap();
        assert_eq!(db.backend(), Backend::Sqlite);
        assert_eq!(db.queue_settings().max_attempts, 4);
        db.close().await;
    }
}
