//! Resumable uploads: the tus 1.0.0 protocol at `/api/uploads` (core, `creation`, `creation-with-upload`,
//! `termination`, `expiration`, `checksum`).
//!
//! An upload's id is its video's id. Bytes go to a partial file in the scratch folder, or, when API nodes share a
//! bucket, to one object per chunk (see [`staged`]); they are durable before the offset is recorded in the
//! [`UploadRepo`](flick_domain::ports::UploadRepo). When the last byte arrives the upload becomes a video exactly as
//! after `POST /api/upload`. One request writes to an upload at a time (on any node): a second one gets 423 Locked.

mod handlers;
mod headers;
mod partial;
mod staged;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{options, post};
use chrono::Utc;
use flick_domain::VideoId;

use crate::state::AppState;

/// The tus routes, with their `Tus-Resumable` check.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/uploads", post(handlers::create).options(handlers::options))
        .route(
            "/api/uploads/{id}",
            options(handlers::options).head(handlers::head).patch(handlers::patch).delete(handlers::terminate),
        )
        // The size rules are tus's own (Upload-Length, max_bytes), enforced on the bytes received.
        .layer(DefaultBodyLimit::disable())
        .layer(axum::middleware::from_fn(headers::tus_resumable))
}

/// The uploads some request is writing to (or deleting) right now.
#[derive(Clone, Default)]
pub struct UploadLocks(Arc<Mutex<HashSet<VideoId>>>);

/// Holds an upload's lock until dropped.
pub struct UploadGuard {
    locks: UploadLocks,
    id: VideoId,
}

impl UploadLocks {
    /// Takes the upload's lock, or `None` when another request holds it (it is never waited for: a client
    /// whose previous request is still being read would otherwise queue behind itself).
    pub fn try_lock(&self, id: VideoId) -> Option<UploadGuard> {
        let mut held = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        held.insert(id).then(|| UploadGuard { locks: self.clone(), id })
    }
}

impl Drop for UploadGuard {
    fn drop(&mut self) {
        let mut held = self.locks.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        held.remove(&self.id);
    }
}

/// Deletes unfinished uploads whose expiry has passed (record and bytes); returns how many.
/// Uploads being written to are left for the next sweep (their writer extends the expiry anyway).
pub async fn sweep_expired_uploads(state: &AppState) -> usize {
    let expired = match state.uploads.expired_uploads(Utc::now()).await {
        Ok(ids) => ids,
        Err(e) => {
            tracing::warn!(error = %e, "cannot list expired uploads");
            return 0;
        }
    };
    let mut removed = 0;
    for id in expired {
        let Ok(_guard) = handlers::lock(state, id).await else { continue };
        // Re-read under the lock: a PATCH may have extended it since the listing.
        match state.uploads.get_upload(id).await {
            Ok(Some(u)) if u.expires_at <= Utc::now() => {}
            _ => continue,
        }
        match handlers::remove_upload(state, id).await {
            Ok(()) => {
                tracing::info!(video_id = %id, "expired upload deleted");
                removed += 1;
            }
            Err(e) => tracing::warn!(video_id = %id, error = %e, "cannot delete an expired upload"),
        }
    }
    removed
}

/// Deletes partial upload files that no upload record owns (a crash between creating the file and the
/// record). Call at start-up, before requests are served.
pub async fn remove_orphan_partial_uploads(state: &AppState) -> usize {
    let Ok(mut entries) = tokio::fs::read_dir(&state.scratch_dir).await else { return 0 };
    let mut removed = 0;
    while let Ok(Some(entry)) = entries.next_entry().await {
        let Some(id) = entry.file_name().to_str().and_then(partial::id_of) else { continue };
        if matches!(state.uploads.upload_exists(id).await, Ok(false)) && partial::remove(&entry.path()).await.is_ok() {
            removed += 1;
        }
    }
    removed
}

/// How often the sweeper runs: half the time-to-live, between 1 s and 60 s, so an expired upload
/// lingers at most a little longer than its TTL.
pub fn sweep_interval(ttl_seconds: u64) -> Duration {
    Duration::from_millis(ttl_seconds.saturating_mul(500).clamp(1_000, 60_000))
}

/// Runs [`sweep_expired_uploads`] forever at [`sweep_interval`]; spawn it and abort it on shutdown.
pub async fn run_upload_sweeper(state: AppState) {
    let mut tick = tokio::time::interval(sweep_interval(state.config.upload.incomplete_ttl_seconds));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        sweep_expired_uploads(&state).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_writer_at_a_time() {
        let locks = UploadLocks::default();
        let id = VideoId::new();
        let guard = locks.try_lock(id);
        assert!(guard.is_some());
        assert!(locks.try_lock(id).is_none());
        assert!(locks.try_lock(VideoId::new()).is_some());
        drop(guard);
        assert!(locks.try_lock(id).is_some());
    }

    #[test]
    fn sweep_interval_follows_the_ttl() {
        assert_eq!(sweep_interval(1), Duration::from_secs(1));
        assert_eq!(sweep_interval(30), Duration::from_secs(15));
        assert_eq!(sweep_interval(86_400), Duration::from_secs(60));
    }
}
