//! Ending a video: deleted by its owner, or its upload abandoned (cancelled, expired, or refused as not a video).
//! Either way the record goes (or turns `error`) first, so every URL answers 404 at once, then its jobs, its
//! unfinished upload and its blobs.

use flick_domain::ports::BlobKey;
use flick_domain::{VideoId, VideoUpdate};

use crate::error::ApiError;
use crate::state::AppState;

/// Deletes a video and everything it has, at any moment (mid-upload included: the upload's next request gets 404).
pub(crate) async fn delete_video(state: &AppState, id: VideoId) -> Result<(), ApiError> {
    state.queue.cancel_video(id).await?;
    state.repo.delete_video(id).await?;
    remove_upload_and_blobs(state, id).await
}

/// Ends a video whose upload will never complete: it turns `error` with `code` (viewers get 404 for
/// `upload_abandoned`, as for a deleted video), and its jobs, upload and blobs go.
pub(crate) async fn end_upload(state: &AppState, id: VideoId, code: &str, message: &str) -> Result<(), ApiError> {
    state.repo.update_video(id, &VideoUpdate::failed(code, message)).await?;
    state.queue.cancel_video(id).await?;
    remove_upload_and_blobs(state, id).await
}

/// Removes an unfinished upload's record and bytes (a partial upload's, say) without a video to end.
pub(crate) async fn remove_upload(state: &AppState, id: VideoId) -> Result<(), ApiError> {
    // The record first: bytes without one are swept at start-up.
    state.uploads.delete_upload(id).await?;
    state.spool.remove(id).await.map_err(|e| ApiError::Internal(e.to_string()))
}

async fn remove_upload_and_blobs(state: &AppState, id: VideoId) -> Result<(), ApiError> {
    remove_upload(state, id).await?;
    state.store.delete_prefix(&BlobKey::hls_prefix(id)).await?;
    state.store.delete(&BlobKey::thumbnail(id)).await?;
    state.store.delete(&BlobKey::raw(id)).await?;
    state.packages.forget(id);
    Ok(())
}
