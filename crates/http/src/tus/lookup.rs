//! What the tus requests share: taking an upload's locks, finding what an id names (and ending what expired),
//! reconciling the spool after a crash, and the headers that say where an upload stands.

use axum::http::{HeaderMap, HeaderValue};
use chrono::{DateTime, Utc};
use flick_domain::ports::{UploadRecord, UploadWriteLock};
use flick_domain::{ShareId, UPLOAD_ABANDONED, VideoId, VideoStatus};

use super::headers::{self as h};
use super::{ABANDONED_MESSAGE, complete};
use crate::error::ApiError;
use crate::links::Links;
use crate::state::AppState;
use crate::upload_locks::UploadGuard;

/// How often and how long [`lock`] tries the database's lock of an upload before answering 423 (about a second).
const LOCK_ATTEMPTS: u32 = 20;
const LOCK_RETRY: std::time::Duration = std::time::Duration::from_millis(50);

/// Both locks a request that writes to (or ends) an upload holds: this process's, then the database's (which keeps
/// out requests on other API nodes sharing the database). Either held elsewhere: 423.
pub(super) async fn lock(state: &AppState, id: VideoId) -> Result<(UploadGuard, UploadWriteLock), ApiError> {
    let local = state.upload_locks.try_lock(id).ok_or(ApiError::UploadLocked)?;
    // A request that just finished on another node may still be handing its lock back (the release is
    // asynchronous), and clients send their next chunk at once: give it a moment before answering 423.
    for _ in 0..LOCK_ATTEMPTS {
        if let Some(shared) = state.uploads.try_lock_upload(id).await? {
            return Ok((local, shared));
        }
        tokio::time::sleep(LOCK_RETRY).await;
    }
    Err(ApiError::UploadLocked)
}

/// What an id names right now.
pub(super) enum Found {
    Unfinished(UploadRecord),
    /// The upload completed: its video exists and is past `uploading`.
    Finished {
        size: u64,
    },
}

/// Looks an upload up: unknown, deleted or abandoned → 404; expired → 410 (and ended when `locked`).
pub(super) async fn find(state: &AppState, id: VideoId, locked: bool) -> Result<Found, ApiError> {
    let Some(upload) = state.uploads.get_upload(id).await? else {
        return match state.repo.get_video(id).await? {
            Some(v) if v.deleted_at.is_none() && matches!(v.status, VideoStatus::Processing | VideoStatus::Ready) => {
                Ok(Found::Finished { size: v.size_bytes })
            }
            _ => Err(ApiError::NotFound),
        };
    };
    if upload.expires_at <= Utc::now() {
        if locked {
            let ended = if upload.partial {
                crate::lifecycle::remove_upload(state, id).await
            } else {
                crate::lifecycle::end_upload(state, id, UPLOAD_ABANDONED, ABANDONED_MESSAGE).await
            };
            ended?;
        }
        return Err(ApiError::UploadExpired);
    }
    if !upload.partial {
        let uploading = state
            .repo
            .get_video(id)
            .await?
            .is_some_and(|v| v.status == VideoStatus::Uploading && v.deleted_at.is_none());
        if !uploading {
            // The video was deleted or ended while its upload record stayed behind: nothing of it may remain.
            if locked {
                crate::lifecycle::remove_upload(state, id).await?;
            }
            return Err(ApiError::NotFound);
        }
    }
    Ok(Found::Unfinished(upload))
}

/// Brings the spool and the record into agreement after a crash (see
/// [`UploadSpool::reconcile`](flick_domain::ports::UploadSpool::reconcile)): a lower offset is recorded, and an
/// upload whose file already reached the store (a crash while it was being completed) is completed now.
pub(super) async fn reconcile(state: &AppState, upload: UploadRecord) -> Result<Found, ApiError> {
    let offset = state.spool.reconcile(&upload).await.map_err(|e| ApiError::Internal(e.to_string()))?;
    if offset >= upload.offset {
        return Ok(Found::Unfinished(upload));
    }
    if complete::already_stored(state, &upload).await? {
        return Ok(Found::Finished { size: upload.length });
    }
    state.uploads.set_upload_offset(upload.id, offset, upload.expires_at).await?;
    Ok(Found::Unfinished(UploadRecord { offset, ..upload }))
}

/// Where an upload stands after a request, as response headers.
pub(super) struct Progress {
    pub offset: u64,
    pub finished: bool,
    pub expires_at: DateTime<Utc>,
}

impl Progress {
    pub(super) fn describe(&self, out: &mut HeaderMap) {
        out.insert(h::UPLOAD_OFFSET, h::number_value(self.offset));
        if !self.finished {
            out.insert(h::UPLOAD_EXPIRES, h::http_date(self.expires_at));
        }
    }
}

/// The video's share and status links: the share link works from the upload's creation.
pub(super) fn share_links(id: ShareId, out: &mut HeaderMap) {
    let links = Links::of(id);
    for (name, value) in [(h::FLICK_SHARE_URL, links.share), (h::FLICK_STATUS_URL, links.status)] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            out.insert(name, v);
        }
    }
}

/// The share links of the video an upload makes, if it still exists.
pub(super) async fn share_links_of(state: &AppState, id: VideoId, out: &mut HeaderMap) -> Result<(), ApiError> {
    if let Some(video) = state.repo.get_video(id).await?.filter(|v| v.deleted_at.is_none()) {
        share_links(video.share_id, out);
    }
    Ok(())
}

/// When an upload last touched at `now` expires.
pub(super) fn expiry(state: &AppState, now: DateTime<Utc>) -> DateTime<Utc> {
    let ttl = i64::try_from(state.config.upload.incomplete_ttl_seconds).unwrap_or(i64::MAX);
    now.checked_add_signed(chrono::Duration::seconds(ttl.min(100 * 365 * 86_400))).unwrap_or(now)
}
