//! Readiness (`/readyz`): the database answers and the blob store takes, returns and deletes a small blob; the
//! answer is kept a few seconds, since anyone may ask as often as they like.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use flick_domain::ports::{Repo, Store};

use crate::error::ApiError;

/// A `/readyz` answer is reused for this long: the check writes to the store, and anyone may ask as often as they like.
const READY_FOR: std::time::Duration = std::time::Duration::from_secs(5);

/// The last readiness check of this process; concurrent askers wait for one check.
#[derive(Clone, Default)]
pub struct ReadyCache {
    last: std::sync::Arc<tokio::sync::Mutex<Option<ReadyCheck>>>,
}

/// When a readiness check ran, and what failed, if anything.
type ReadyCheck = (std::time::Instant, Result<(), String>);

impl ReadyCache {
    /// The answer of a check at most [`READY_FOR`] old.
    pub(crate) async fn answer(&self, repo: &dyn Repo, store: &dyn Store) -> Response {
        let mut last = self.last.lock().await;
        let outcome = match &*last {
            Some((at, outcome)) if at.elapsed() < READY_FOR => outcome.clone(),
            _ => {
                let outcome = readiness(repo, store).await;
                *last = Some((std::time::Instant::now(), outcome.clone()));
                outcome
            }
        };
        drop(last);
        match outcome {
            Ok(()) => ([(header::CACHE_CONTROL, "no-store")], "ready").into_response(),
            Err(why) => ApiError::NotReady(why).into_response(),
        }
    }
}

/// Checks the database and the blob store; what failed, if anything.
async fn readiness(repo: &dyn Repo, store: &dyn Store) -> Result<(), String> {
    const LIMIT: std::time::Duration = std::time::Duration::from_secs(5);
    match tokio::time::timeout(LIMIT, repo.exists(flick_domain::VideoId::new())).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readyz: the database does not answer");
            return Err("the database does not answer".into());
        }
        Err(_) => return Err("the database did not answer within 5 s".into()),
    }
    match tokio::time::timeout(LIMIT, store_round_trip(store)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readyz: the blob store is not usable");
            Err("the blob store cannot be written or read".into())
        }
        Err(_) => Err("the blob store did not answer within 5 s".into()),
    }
}

/// Writes, reads back and deletes a tiny blob under `health/` (a key of its own per request).
async fn store_round_trip(store: &dyn Store) -> Result<(), String> {
    use flick_domain::ports::BlobKey;
    let key = BlobKey::new(format!("health/readyz-{}", flick_domain::VideoId::new())).map_err(|e| e.to_string())?;
    let probe = bytes::Bytes::from_static(b"flick");
    let result = async {
        store.put_bytes(&key, probe.clone()).await.map_err(|e| e.to_string())?;
        match store.len(&key).await.map_err(|e| e.to_string())? {
            Some(n) if n == probe.len() as u64 => Ok(()),
            other => Err(format!("read back {other:?} bytes")),
        }
    }
    .await;
    let _ = store.delete(&key).await;
    result
}
