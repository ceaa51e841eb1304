//! The last byte of an upload (not a part of a concatenation: those wait for the final upload): its file becomes
//! `raw/{id}` and its video moves on to `processing` (the worker that followed the upload, or a new job, finishes it).

use flick_domain::ports::{BlobKey, ByteRange, UploadRecord};
use flick_domain::upload::{SNIFF_LEN, sniff};
use futures_util::StreamExt;

use crate::error::ApiError;
use crate::state::AppState;

/// Completes an upload whose every byte is durable in the spool. The caller holds the lock.
pub(super) async fn finish(state: &AppState, upload: &UploadRecord) -> Result<(), ApiError> {
    let id = upload.id;
    // The whole file's head decides, as for a plain upload (each request checked the bytes it carried).
    let head = head_of(state, upload).await?;
    if sniff(&head).is_none() {
        crate::lifecycle::end_upload(state, id, "unsupported_media_type", "This file is not a video.").await?;
        return Err(crate::intake::not_a_video());
    }
    state
        .spool
        .finish(upload, state.store.as_ref(), &BlobKey::raw(id))
        .await
        .map_err(|e| if e.is_gone() { ApiError::NotFound } else { ApiError::Internal(e.to_string()) })?;
    stored(state, upload).await
}

/// After a crash while an upload was being completed: if its whole file already reached the store, completes it
/// and says so.
pub(super) async fn already_stored(state: &AppState, upload: &UploadRecord) -> Result<bool, ApiError> {
    if state.store.len(&BlobKey::raw(upload.id)).await? != Some(upload.length) {
        return Ok(false);
    }
    tracing::info!(video_id = %upload.id, "completing an upload whose file was stored before a crash");
    stored(state, upload).await?;
    Ok(true)
}

/// The file is `raw/{id}`: the upload record goes and the video is handed to processing.
async fn stored(state: &AppState, upload: &UploadRecord) -> Result<(), ApiError> {
    let id = upload.id;
    state.uploads.delete_upload(id).await?;
    if !state.repo.upload_finished(id).await? {
        // Deleted or ended while its last bytes arrived: nothing of it may stay behind.
        state.store.delete(&BlobKey::raw(id)).await?;
        return Err(ApiError::NotFound);
    }
    flick_telemetry::metrics().upload_completed(flick_telemetry::UploadKind::Tus);
    tracing::info!(video_id = %id, bytes = upload.length, "tus upload complete");
    Ok(())
}

/// The file's first bytes.
async fn head_of(state: &AppState, upload: &UploadRecord) -> Result<Vec<u8>, ApiError> {
    let len = (SNIFF_LEN as u64).min(upload.length);
    let range = ByteRange { start: 0, end: len - 1 };
    let mut body = state.spool.read(upload, range).await.map_err(|e| ApiError::Internal(e.to_string()))?;
    let mut head = Vec::with_capacity(len as usize);
    while let Some(chunk) = body.next().await {
        head.extend_from_slice(&chunk?);
    }
    Ok(head)
}
