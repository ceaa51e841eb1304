//! Resumable uploads: the tus 1.0.0 protocol at `/api/uploads` (core, `creation`, `creation-with-upload`,
//! `termination`, `expiration`, `checksum`, `concatenation`), plus Flick's index-first extension
//! (`Flick-Index-Offset`).
//!
//! An upload's id is its video's id, and the video exists from the upload's creation (status `uploading`): its share
//! link works at once, and it plays as soon as enough of it has arrived. The protocol is written once here, over the
//! [`UploadSpool`](flick_domain::ports::UploadSpool) that keeps the bytes (this machine's disk, or parts staged in the
//! bucket). Bytes are durable before the offset that counts them is recorded, during a request as well as at its
//! end, so whoever follows the upload sees them early. One request writes to an upload at a time (on any node): a
//! second one gets 423 Locked.
//!
//! - [`handlers`]: the requests; [`lookup`]: locks, finding an upload, where it stands; [`receive`]: a request body into the spool, with the first-bytes checks;
//!   [`complete`]: the last byte (the file becomes `raw/{id}` and the video is processed); [`concat`]: parts joined.

mod complete;
mod concat;
mod handlers;
mod headers;
mod lookup;
mod receive;

use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{options, post};
use chrono::Utc;
use flick_domain::UPLOAD_ABANDONED;

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

/// Ends unfinished uploads whose expiry has passed (their videos turn `upload_abandoned`, their bytes go); returns
/// how many. Uploads being written to are left for the next sweep (their writer extends the expiry anyway).
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
        let Ok(_guard) = lookup::lock(state, id).await else { continue };
        // Re-read under the lock: a PATCH may have extended it since the listing.
        let upload = match state.uploads.get_upload(id).await {
            Ok(Some(u)) if u.expires_at <= Utc::now() => u,
            _ => continue,
        };
        let ended = if upload.partial {
            crate::lifecycle::remove_upload(state, id).await
        } else {
            crate::lifecycle::end_upload(state, id, UPLOAD_ABANDONED, ABANDONED_MESSAGE).await
        };
        match ended {
            Ok(()) => {
                tracing::info!(video_id = %id, "expired upload ended");
                removed += 1;
            }
            Err(e) => tracing::warn!(video_id = %id, error = %e, "cannot end an expired upload"),
        }
    }
    removed
}

/// What the uploader reads about an upload that ended before its last byte.
const ABANDONED_MESSAGE: &str = "The upload was cancelled or abandoned before it was complete.";

/// Deletes spooled upload bytes that no upload record owns (a crash between creating the bytes and the record).
/// Call at start-up, before requests are served, and only when no other process shares the spool.
pub async fn remove_orphan_partial_uploads(state: &AppState) -> usize {
    let Ok(ids) = state.spool.list().await else { return 0 };
    let mut removed = 0;
    for id in ids {
        if matches!(state.uploads.upload_exists(id).await, Ok(false)) && state.spool.remove(id).await.is_ok() {
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
    fn sweep_interval_follows_the_ttl() {
        assert_eq!(sweep_interval(1), Duration::from_secs(1));
        assert_eq!(sweep_interval(30), Duration::from_secs(15));
        assert_eq!(sweep_interval(86_400), Duration::from_secs(60));
    }
}
