//! Ending a video: deleted by its owner, ended by its expiry or view limit, or its upload abandoned (cancelled,
//! expired, or refused as not a video).
//!
//! A deleted video first becomes a tombstone: its record stays, marked deleted, so every URL answers 404 at once and
//! a delete that fails half-way is never lost. The purge then removes its jobs, its unfinished upload and every blob;
//! the sweeper repeats it until it succeeds, and once more after a worker that was still writing must have stopped
//! (its lease ran out), before the record itself goes.

use std::time::Duration;

use chrono::{DateTime, Utc};
use flick_domain::VideoId;
use flick_domain::VideoUpdate;
use flick_domain::ports::BlobKey;

use crate::error::ApiError;
use crate::state::AppState;

/// How long a tombstone outlives its first purge: a worker on another machine learns that its job was cancelled at
/// its next heartbeat and stops, well within two leases (30 s each); what it wrote meanwhile goes in the last purge.
pub const TOMBSTONE_GRACE: chrono::TimeDelta = chrono::TimeDelta::seconds(90);
/// How often every API process sweeps ended videos and tombstones.
const SWEEP_EVERY: Duration = Duration::from_secs(10);

/// Deletes a video at any moment (mid-upload included: the upload's next request gets 404). Succeeds once the
/// tombstone is written; a purge that fails now is finished by the sweeper.
pub(crate) async fn delete_video(state: &AppState, id: VideoId) -> Result<(), ApiError> {
    state.repo.mark_deleted(id, Utc::now()).await?;
    if let Err(e) = purge(state, id).await {
        tracing::warn!(video_id = %id, error = %e, "purge failed; the sweeper will finish it");
    }
    Ok(())
}

/// Ends a video whose upload will never complete: it turns `error` with `code` (viewers get 404 for
/// `upload_abandoned`, as for a deleted video), and its jobs, upload and blobs go.
pub(crate) async fn end_upload(state: &AppState, id: VideoId, code: &str, message: &str) -> Result<(), ApiError> {
    state.repo.update_video(id, &VideoUpdate::failed(code, message)).await?;
    purge(state, id).await
}

/// Removes an unfinished upload's record and bytes (a partial upload's, say) without a video to end.
pub(crate) async fn remove_upload(state: &AppState, id: VideoId) -> Result<(), ApiError> {
    // The record first: bytes without one are swept at start-up.
    state.uploads.delete_upload(id).await?;
    state.spool.remove(id).await.map_err(|e| ApiError::Internal(e.to_string()))
}

/// Removes everything a video has but its record: its jobs (a worker running one stops at its next heartbeat), its
/// unfinished upload, its HLS files, thumbnail and original. Idempotent.
async fn purge(state: &AppState, id: VideoId) -> Result<(), ApiError> {
    state.queue.cancel_video(id).await?;
    remove_upload(state, id).await?;
    state.store.delete_prefix(&BlobKey::hls_prefix(id)).await?;
    state.store.delete(&BlobKey::thumbnail(id)).await?;
    state.store.delete(&BlobKey::raw(id)).await?;
    state.packages.forget(id);
    Ok(())
}

/// One sweep: videos past their expiry or view limit, or unwatched past `storage.retention_days`, become tombstones;
/// every tombstone is purged, and those older than [`TOMBSTONE_GRACE`] lose their record after a last purge; upload
/// grants older than a day are forgotten. Returns how many records went.
pub async fn sweep(state: &AppState, now: DateTime<Utc>) -> Result<usize, ApiError> {
    for id in state.repo.mark_ended(now).await? {
        tracing::info!(video_id = %id, "video ended (expiry or view limit)");
    }
    let retention = state.config.storage.retention_days;
    if retention > 0 {
        let before = now - chrono::TimeDelta::days(i64::from(retention));
        for id in state.repo.mark_unwatched(before, now).await? {
            tracing::info!(video_id = %id, retention_days = retention, "video deleted: not watched for too long");
            flick_telemetry::metrics().video_retired();
        }
    }
    state.repo.prune_grants(now - chrono::TimeDelta::hours(24)).await?;
    let mut removed = 0;
    for (id, deleted_at) in state.repo.tombstones().await? {
        if let Err(e) = purge(state, id).await {
            tracing::warn!(video_id = %id, error = %e, "purge failed; retried at the next sweep");
            continue;
        }
        if deleted_at + TOMBSTONE_GRACE <= now && state.repo.delete_video(id).await? {
            removed += 1;
        }
    }
    Ok(removed)
}

/// Sweeps every [`SWEEP_EVERY`] until the process stops.
pub async fn run_sweeper(state: AppState) {
    loop {
        tokio::time::sleep(SWEEP_EVERY).await;
        match sweep(&state, Utc::now()).await {
            Ok(0) => {}
            Ok(removed) => tracing::info!(removed, "deleted videos purged"),
            Err(e) => tracing::warn!(error = %e, "sweep failed"),
        }
    }
}
