//! Helpers shared by the integration tests: a fresh database for each test, on the back end the environment picks.
//!
//! By default SQLite in a temporary directory. When `FLICK_TEST_DATABASE_URL` is a `postgres://` URL (a server the
//! tests may create databases on, e.g. from `scripts/postgres.sh start`), each test gets a database of its own on
//! that server (`CREATE DATABASE flick_test_<random>`), so tests run in parallel without seeing each other.

#![allow(dead_code)]

use std::sync::Arc;

use flick_storage::{Backend, Database, QueueSettings, open_database};
use sqlx::Connection;
use tempfile::TempDir;

/// The environment variable naming the PostgreSQL server to test against.
pub const ENV: &str = "FLICK_TEST_DATABASE_URL";

/// The back end under test.
pub fn backend() -> Backend {
    match server_url() {
        Some(_) => Backend::Postgres,
        None => Backend::Sqlite,
    }
}

/// The PostgreSQL server URL, when the tests run against PostgreSQL.
fn server_url() -> Option<String> {
    let url = std::env::var(ENV).ok().filter(|u| !u.trim().is_empty())?;
    match Backend::of_url(&url) {
        Ok(Backend::Postgres) => Some(url),
        Ok(Backend::Sqlite) => None,
        Err(e) => panic!("{ENV}: {e}"),
    }
}

/// A fresh, empty database (not open yet): its URL, and what must live as long as it (the SQLite file's directory).
pub struct Fresh {
    pub url: String,
    _dir: Option<TempDir>,
}

/// The URL of `flick.db` in `dir`, in a subdirectory that does not exist yet (open must create it).
pub fn db_url(dir: &TempDir) -> String {
    format!("sqlite://{}/data/flick.db", dir.path().display())
}

/// A new empty database on the back end under test.
pub async fn fresh_url() -> Fresh {
    match server_url() {
        None => {
            let dir = tempfile::tempdir().unwrap();
            Fresh { url: db_url(&dir), _dir: Some(dir) }
        }
        Some(server) => {
            let mut bytes = [0u8; 8];
            getrandom::fill(&mut bytes).unwrap();
            let name = format!("flick_test_{}", hex::encode(bytes));
            let mut conn = sqlx::PgConnection::connect(&server).await.unwrap_or_else(|e| panic!("{ENV}: {e}"));
            sqlx::raw_sql(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.unwrap();
            conn.close().await.unwrap();
            Fresh { url: with_database(&server, &name), _dir: None }
        }
    }
}

/// `url` naming database `name` instead of its own.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let after_scheme = base.find("://").map_or(0, |i| i + 3);
    let authority_end = base[after_scheme..].find('/').map_or(base.len(), |i| after_scheme + i);
    let mut out = format!("{}/{name}", &base[..authority_end]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// An open database of either kind.
pub type Db = Arc<dyn Database>;

/// A fresh database with default settings; keep the guard alive as long as the database.
pub async fn fresh_db() -> (Fresh, Db) {
    fresh_db_with(QueueSettings::default()).await
}

/// A fresh database with the given queue settings.
pub async fn fresh_db_with(settings: QueueSettings) -> (Fresh, Db) {
    let fresh = fresh_url().await;
    let db = open_database(&fresh.url, settings).await.unwrap();
    assert_eq!(db.backend(), backend());
    (fresh, db)
}

/// Runs SQL on the database behind the back of the adapter, with its CHECK constraints off, as a damaged or
/// hand-edited database could be: `sqlite` on SQLite, `postgres` on PostgreSQL (literal values only).
pub async fn force_sql(fresh: &Fresh, sqlite: &str, postgres: &str) {
    match backend() {
        Backend::Sqlite => {
            let mut conn = sqlx::SqliteConnection::connect(&fresh.url).await.unwrap();
            sqlx::raw_sql(&format!(
                "PRAGMA ignore_check_constraints = ON; {sqlite}; PRAGMA ignore_check_constraints = OFF;"
            ))
            .execute(&mut conn)
            .await
            .unwrap();
            conn.close().await.unwrap();
        }
        Backend::Postgres => {
            let mut conn = sqlx::PgConnection::connect(&fresh.url).await.unwrap();
            // PostgreSQL cannot switch CHECKs off: drop them (the database is thrown away after the test).
            sqlx::raw_sql(&format!(
                "DO $$ DECLARE c record; BEGIN \
                   FOR c IN SELECT conrelid::regclass AS tab, conname FROM pg_constraint \
                            WHERE contype = 'c' AND connamespace = 'public'::regnamespace LOOP \
                     EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', c.tab, c.conname); \
                   END LOOP; END $$; {postgres};"
            ))
            .execute(&mut conn)
            .await
            .unwrap();
            conn.close().await.unwrap();
        }
    }
}
