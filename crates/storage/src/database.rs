//! What a database is to Flick: the [`Database`] trait (the three ports and what the binary needs besides), which
//! [`Backend`] a URL names, why opening fails, and how a URL is shown without its password. The rest of Flick holds
//! an `Arc<dyn Database>` and hands out the narrower ports by upcasting (`let repo: Arc<dyn Repo> = db.clone();`).

use std::path::PathBuf;

use async_trait::async_trait;
use flick_domain::ports::{JobQueue, QueueError, Repo, UploadRepo};

use crate::queue_settings::QueueSettings;

/// The database behind the records, the uploads in progress and the job queue, and what the binary needs of it
/// besides the ports.
#[async_trait]
pub trait Database: Repo + JobQueue + UploadRepo + std::fmt::Debug {
    /// Which kind of database this is.
    fn backend(&self) -> Backend;
    /// Closes every connection (waiting for those in use) and stops listening for other processes' notifications.
    async fn close(&self);
    /// The queue settings in force.
    fn queue_settings(&self) -> QueueSettings;
    /// The reason last recorded for a job's failure (`None` if it never failed or does not exist), for diagnostics.
    async fn last_error_of(&self, job_id: i64) -> Result<Option<String>, QueueError>;
}

/// Why the database could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("invalid database url {url:?}: {reason}")]
    Url { url: String, reason: String },
    #[error("cannot create the database directory {}: {source}", path.display())]
    CreateDir { path: PathBuf, source: std::io::Error },
    #[error("cannot open the database: {0}")]
    Connect(#[source] sqlx::Error),
    #[error("cannot migrate the database: {0}")]
    Migrate(#[source] sqlx::migrate::MigrateError),
}

/// Which kind of database a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The back end `url` names by its scheme, or why it names none.
    pub fn of_url(url: &str) -> Result<Backend, OpenError> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            let scheme = url.split_once(':').map_or("(none)", |(scheme, _)| scheme);
            Err(OpenError::Url {
                // Only the scheme: the rest may hold a password.
                url: format!("{scheme}:…"),
                reason: format!(
                    "unsupported database scheme {scheme:?}: use sqlite://PATH (the default) or \
                     postgres://USER:PASSWORD@HOST:PORT/DATABASE"
                ),
            })
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// A database URL fit for logs, errors and the terminal: its password replaced by `***`.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) if rest[..at].contains(':') => {
            let user = rest[..at].split(':').next().unwrap_or("");
            format!("{scheme}://{user}:***@{}", &rest[at + 1..])
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scheme_picks_the_back_end() {
        assert_eq!(Backend::of_url("sqlite://./data/flick.db").unwrap(), Backend::Sqlite);
        assert_eq!(Backend::of_url("sqlite::memory:").unwrap(), Backend::Sqlite);
        assert_eq!(Backend::of_url("postgres://u:p@h/db").unwrap(), Backend::Postgres);
        assert_eq!(Backend::of_url("postgresql://h/db").unwrap(), Backend::Postgres);
        for bad in ["mysql://u:secret@h/db", "./data/flick.db", "", "postgres:/h/db", "POSTGRES://h/db"] {
            let err = Backend::of_url(bad).unwrap_err().to_string();
            assert!(err.contains("unsupported database scheme"), "{bad}: {err}");
            assert!(!err.contains("secret"), "the password must not leak: {err}");
        }
    }

    #[test]
    fn redact_hides_only_the_password() {
        assert_eq!(redact("postgres://u:secret@h:5432/db"), "postgres://u:***@h:5432/db");
        assert_eq!(
            redact("postgres://flick:s3cret@db:5432/flick?sslmode=require"),
            "postgres://flick:***@db:5432/flick?sslmode=require"
        );
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact("postgres://h/db"), "postgres://h/db");
        assert_eq!(redact("postgresql://u:p@ss@h/db?x=1"), "postgresql://u:***@h/db?x=1");
        assert_eq!(redact("sqlite://./data/flick.db"), "sqlite://./data/flick.db");
    }
}
