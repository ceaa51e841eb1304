//! The tus request handlers: `OPTIONS`, `POST` (creation, creation-with-upload), `HEAD`, `PATCH`, `DELETE`.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use flick_domain::ports::{UploadRecord, UploadWriteLock};
use flick_domain::upload::clean_file_name;
use flick_domain::{ManageToken, VideoId};

use super::headers::{self as h, Checksum};
use super::partial::{self, AppendError, ChunkStart};
use super::{UploadGuard, staged};
use crate::error::ApiError;
use crate::state::AppState;
use crate::upload::{FinishedUpload, TempFile, accept_finished, check_declared_name, name_for, not_a_video};
use crate::videos::Links;

/// `OPTIONS /api/uploads[/{id}]`: what this server supports.
pub async fn options(State(state): State<AppState>) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(h::TUS_VERSION_H, HeaderValue::from_static(h::TUS_VERSION));
    headers.insert(h::TUS_EXTENSION, HeaderValue::from_static(h::TUS_EXTENSIONS));
    headers.insert(h::TUS_MAX_SIZE, h::number_value(state.config.upload.max_bytes));
    headers.insert(h::TUS_CHECKSUM_ALGORITHM, HeaderValue::from_static(h::TUS_CHECKSUMS));
    (StatusCode::NO_CONTENT, headers).into_response()
}

/// `POST /api/uploads`: creates an upload (and stores its first chunk when the body is one).
pub async fn create(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Result<Response, ApiError> {
    let max = state.config.upload.max_bytes;
    let length = h::upload_length(&headers)?;
    if length == 0 {
        return Err(ApiError::EmptyUpload);
    }
    if length > max {
        return Err(ApiError::TooLarge { limit: max });
    }
    // Everything the metadata says is checked before a byte is stored.
    let meta = h::metadata(&headers)?;
    let file_name = meta.filename.as_deref().map(clean_file_name).filter(|n| !n.is_empty());
    check_declared_name(&state, file_name.as_deref())?;
    check_file_type(&state, meta.filetype.as_deref())?;
    let with_upload = h::is_chunk(&headers);
    let checksum = if with_upload { h::checksum(&headers)? } else { None };
    if with_upload && h::content_length(&headers)?.is_some_and(|n| n > length) {
        return Err(ApiError::ExceedsUploadLength);
    }

    let id = VideoId::new();
    let token = ManageToken::generate().map_err(|e| ApiError::Internal(e.to_string()))?;
    let now = Utc::now();
    let record = UploadRecord {
        id,
        length,
        offset: 0,
        file_name,
        metadata: meta.raw,
        manage_token_hash: token.hash(),
        created_at: now,
        expires_at: expiry(&state, now),
    };
    // Staged uploads keep nothing on this node between requests.
    let path = (!state.shared_uploads).then(|| partial::path_of(&state.scratch_dir, id));
    if let Some(path) = &path {
        partial::create(path).await?;
    }
    if let Err(e) = state.uploads.create_upload(&record).await {
        if let Some(path) = &path {
            let _ = partial::remove(path).await;
        }
        return Err(e.into());
    }
    tracing::info!(video_id = %id, length, "tus upload created");

    let mut out = HeaderMap::new();
    let location = format!("/api/uploads/{id}");
    out.insert(header::LOCATION, HeaderValue::from_str(&location).map_err(|e| ApiError::Internal(e.to_string()))?);
    out.insert(
        h::FLICK_MANAGE_TOKEN,
        HeaderValue::from_str(token.expose()).map_err(|e| ApiError::Internal(e.to_string()))?,
    );
    if with_upload {
        // A fresh id: nobody else can hold its lock, but PATCHes that guess it early must wait their turn.
        let _guard = lock(&state, id).await?;
        match write_chunk(&state, &record, 0, body, checksum).await {
            Ok(progress) => progress.describe(&mut out),
            Err(e) => {
                // The client never learnt the Location of an upload whose first chunk failed: forget it.
                if let Err(cleanup) = remove_upload(&state, id).await {
                    tracing::warn!(video_id = %id, error = %cleanup, "cannot remove a failed upload");
                }
                return Err(e);
            }
        }
    } else {
        Progress { offset: 0, finished: None, expires_at: record.expires_at }.describe(&mut out);
    }
    Ok((StatusCode::CREATED, out).into_response())
}

/// `HEAD /api/uploads/{id}`: how many bytes the server has.
pub async fn head(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let id = VideoId::parse(&id).map_err(|_| ApiError::NotFound)?;
    // Without the lock (a PATCH is writing) the file is not touched and the recorded offset is the answer.
    let guard = state.upload_locks.try_lock(id);
    let mut out = HeaderMap::new();
    out.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    match find(&state, id, guard.is_some()).await? {
        Found::Unfinished(upload) => {
            let offset = if guard.is_some() && !state.shared_uploads {
                reconcile(&state, &upload).await?
            } else {
                upload.offset
            };
            out.insert(h::UPLOAD_LENGTH, h::number_value(upload.length));
            if let Some(meta) = upload.metadata.as_deref().and_then(|m| HeaderValue::from_str(m).ok()) {
                out.insert(h::UPLOAD_METADATA, meta);
            }
            Progress { offset, finished: None, expires_at: upload.expires_at }.describe(&mut out);
        }
        Found::Finished { size } => {
            out.insert(h::UPLOAD_LENGTH, h::number_value(size));
            Progress { offset: size, finished: Some(id), expires_at: Utc::now() }.describe(&mut out);
        }
    }
    Ok((StatusCode::OK, out).into_response())
}

/// `PATCH /api/uploads/{id}`: appends a chunk at the current offset.
pub async fn patch(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let id = VideoId::parse(&id).map_err(|_| ApiError::NotFound)?;
    if !h::is_chunk(&headers) {
        return Err(ApiError::UnsupportedMedia(format!("a PATCH body must be sent as {}", h::OFFSET_OCTET_STREAM)));
    }
    let client_offset = h::upload_offset(&headers)?;
    let checksum = h::checksum(&headers)?;
    let declared = h::content_length(&headers)?;
    let _guard = lock(&state, id).await?;
    let upload = match find(&state, id, true).await? {
        Found::Unfinished(upload) => upload,
        Found::Finished { size } => {
            // A client whose last response was lost may ask again; it has nothing left to send.
            if client_offset != size {
                return Err(ApiError::OffsetMismatch { expected: size });
            }
            if declared.unwrap_or(0) > 0 {
                return Err(ApiError::ExceedsUploadLength);
            }
            let mut out = HeaderMap::new();
            Progress { offset: size, finished: Some(id), expires_at: Utc::now() }.describe(&mut out);
            return Ok((StatusCode::NO_CONTENT, out).into_response());
        }
    };
    let offset = if state.shared_uploads { upload.offset } else { reconcile(&state, &upload).await? };
    if client_offset != offset {
        return Err(ApiError::OffsetMismatch { expected: offset });
    }
    if declared.is_some_and(|n| n > upload.length - offset) {
        return Err(ApiError::ExceedsUploadLength);
    }
    let mut out = HeaderMap::new();
    write_chunk(&state, &upload, offset, body, checksum).await?.describe(&mut out);
    Ok((StatusCode::NO_CONTENT, out).into_response())
}

/// `DELETE /api/uploads/{id}` (termination): removes an unfinished upload. A finished one is a video,
/// which only `DELETE /api/video/{id}` with its manage token removes.
pub async fn terminate(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let id = VideoId::parse(&id).map_err(|_| ApiError::NotFound)?;
    let _guard = lock(&state, id).await?;
    if state.repo.exists(id).await? {
        return Err(ApiError::UploadFinished);
    }
    if state.uploads.get_upload(id).await?.is_none() {
        return Err(ApiError::NotFound);
    }
    remove_upload(&state, id).await?;
    tracing::info!(video_id = %id, "tus upload terminated");
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Deletes an upload's record and its bytes (the record first: a file without one is swept at start-up).
pub(super) async fn remove_upload(state: &AppState, id: VideoId) -> Result<(), ApiError> {
    state.uploads.delete_upload(id).await?;
    if state.shared_uploads {
        state.store.delete_prefix(&staged::folder(id)).await?;
    } else {
        partial::remove(&partial::path_of(&state.scratch_dir, id)).await?;
    }
    Ok(())
}

/// How often and how long [`lock`] tries the database's lock of an upload before answering 423 (about a second).
const LOCK_ATTEMPTS: u32 = 20;
const LOCK_RETRY: std::time::Duration = std::time::Duration::from_millis(50);

/// Both locks a request that writes to (or deletes) an upload holds: this process's, then the database's (which
/// keeps out requests on other API nodes sharing the database). Either held elsewhere: 423.
pub(super) async fn lock(state: &AppState, id: VideoId) -> Result<(UploadGuard, Option<UploadWriteLock>), ApiError> {
    let local = state.upload_locks.try_lock(id).ok_or(ApiError::UploadLocked)?;
    if !state.shared_uploads {
        return Ok((local, None));
    }
    // A request that just finished on another node may still be handing its lock back (the release is
    // asynchronous), and clients send their next chunk at once: give it a moment before answering 423.
    for _ in 0..LOCK_ATTEMPTS {
        if let Some(shared) = state.uploads.try_lock_upload(id).await? {
            return Ok((local, Some(shared)));
        }
        tokio::time::sleep(LOCK_RETRY).await;
    }
    Err(ApiError::UploadLocked)
}

/// What an id names right now.
enum Found {
    Unfinished(UploadRecord),
    /// The upload completed: its video exists.
    Finished {
        size: u64,
    },
}

/// Looks an upload up: unknown → 404, expired → 410 (and deleted when `locked`).
async fn find(state: &AppState, id: VideoId, locked: bool) -> Result<Found, ApiError> {
    if let Some(video) = state.repo.get_video(id).await? {
        // A crash between creating the video and deleting the upload record leaves the record behind.
        if locked && state.uploads.delete_upload(id).await? {
            tracing::info!(video_id = %id, "removed the record of a finished upload");
            if state.shared_uploads {
                state.store.delete_prefix(&staged::folder(id)).await?;
            }
        }
        return Ok(Found::Finished { size: video.size_bytes });
    }
    match state.uploads.get_upload(id).await? {
        None => Err(ApiError::NotFound),
        Some(upload) if upload.expires_at <= Utc::now() => {
            if locked {
                remove_upload(state, id).await?;
            }
            Err(ApiError::UploadExpired)
        }
        Some(upload) => Ok(Found::Unfinished(upload)),
    }
}

/// Makes the partial file agree with the recorded offset (see [`partial::reconcile`]); records a lowered one.
async fn reconcile(state: &AppState, upload: &UploadRecord) -> Result<u64, ApiError> {
    let offset = partial::reconcile(&partial::path_of(&state.scratch_dir, upload.id), upload.offset).await?;
    if offset != upload.offset {
        state.uploads.set_upload_offset(upload.id, offset, upload.expires_at).await?;
    }
    Ok(offset)
}

/// Where an upload stands after a request, as response headers.
struct Progress {
    offset: u64,
    /// The video's id once the upload completed.
    finished: Option<VideoId>,
    expires_at: DateTime<Utc>,
}

impl Progress {
    fn describe(&self, out: &mut HeaderMap) {
        out.insert(h::UPLOAD_OFFSET, h::number_value(self.offset));
        match self.finished {
            Some(id) => {
                let links = Links::of(id);
                for (name, value) in [(h::FLICK_SHARE_URL, links.share), (h::FLICK_STATUS_URL, links.status)] {
                    if let Ok(v) = HeaderValue::from_str(&value) {
                        out.insert(name, v);
                    }
                }
            }
            None => {
                out.insert(h::UPLOAD_EXPIRES, h::http_date(self.expires_at));
            }
        }
    }
}

/// Appends a chunk at `offset` and records the new offset; at the last byte the upload becomes a video.
/// The caller holds the upload's lock and has checked `offset` against the file.
async fn write_chunk(
    state: &AppState,
    upload: &UploadRecord,
    offset: u64,
    body: Body,
    checksum: Option<Checksum>,
) -> Result<Progress, ApiError> {
    let id = upload.id;
    if state.shared_uploads {
        return write_staged_chunk(state, upload, offset, body, checksum).await;
    }
    let path = partial::path_of(&state.scratch_dir, id);
    let start = ChunkStart::in_partial_file(&path, offset, upload.length).await?;
    let stored = partial::append(&path, start, upload.length, body.into_data_stream(), checksum).await;
    let (new_offset, error) = chunk_outcome(state, id, stored).await?;
    if new_offset == upload.length {
        finish(state, upload, &path).await?;
        return Ok(Progress { offset: new_offset, finished: Some(id), expires_at: upload.expires_at });
    }
    record_offset(state, upload, offset, new_offset, error).await
}

/// A chunk of an upload staged in the blob store: received into a local chunk file, stored as the part at `offset`,
/// then the new offset recorded. The last chunk assembles the parts into the raw upload instead.
async fn write_staged_chunk(
    state: &AppState,
    upload: &UploadRecord,
    offset: u64,
    body: Body,
    checksum: Option<Checksum>,
) -> Result<Progress, ApiError> {
    let id = upload.id;
    let head = if offset > 0 && (offset as usize) < partial::sniff_len(upload.length) {
        staged::read_head(state.store.as_ref(), id, offset).await?
    } else {
        Vec::new()
    };
    tokio::fs::create_dir_all(&state.scratch_dir).await?;
    // `upload-` files are swept at start-up, should this process die with one open.
    let chunk = TempFile::new(state.scratch_dir.join(format!("upload-{id}-{}.chunk", VideoId::new())));
    let start = ChunkStart { offset, file_pos: 0, head };
    let stored = partial::append(chunk.path(), start, upload.length, body.into_data_stream(), checksum).await;
    let (new_offset, error) = chunk_outcome(state, id, stored).await?;
    if new_offset == upload.length {
        if offset == 0 {
            // One request carried the whole upload: the chunk file is the upload.
            finish(state, upload, chunk.path()).await?;
        } else {
            let whole = TempFile::new(state.scratch_dir.join(format!("upload-{id}-{}.part", VideoId::new())));
            staged::assemble(state.store.as_ref(), id, offset, chunk.path(), whole.path()).await?;
            drop(chunk);
            finish(state, upload, whole.path()).await?;
        }
        // The raw upload is whole in the store now; a crash before this is cleaned up on the next request.
        if let Err(e) = state.store.delete_prefix(&staged::folder(id)).await {
            tracing::warn!(video_id = %id, error = %e, "cannot delete the staged parts of a finished upload");
        }
        return Ok(Progress { offset: new_offset, finished: Some(id), expires_at: upload.expires_at });
    }
    if new_offset > offset {
        // The part is durable in the store before the offset that makes it count is recorded.
        state.store.put_file(&staged::part(id, offset), chunk.path()).await?;
    }
    record_offset(state, upload, offset, new_offset, error).await
}

/// The new offset after a chunk (and the error to answer with if it was cut short), or the error that refused it.
async fn chunk_outcome(
    state: &AppState,
    id: VideoId,
    stored: Result<u64, AppendError>,
) -> Result<(u64, Option<ApiError>), ApiError> {
    match stored {
        Ok(n) => Ok((n, None)),
        Err(AppendError::Interrupted { kept }) => Ok((kept, Some(ApiError::UploadAborted))),
        Err(AppendError::NotAVideo) => {
            remove_upload(state, id).await?;
            tracing::info!(video_id = %id, "tus upload is not a video; removed");
            Err(not_a_video())
        }
        Err(AppendError::BeyondLength) => Err(ApiError::ExceedsUploadLength),
        Err(AppendError::ChecksumMismatch) => Err(ApiError::ChecksumMismatch),
        Err(AppendError::Io(e)) => Err(e.into()),
    }
}

/// Records a chunk's new offset (and a later expiry); answers with the progress, or with `error` for a cut chunk.
async fn record_offset(
    state: &AppState,
    upload: &UploadRecord,
    offset: u64,
    new_offset: u64,
    error: Option<ApiError>,
) -> Result<Progress, ApiError> {
    let id = upload.id;
    let expires_at = expiry(state, Utc::now());
    if new_offset != offset {
        state.uploads.set_upload_offset(id, new_offset, expires_at).await?;
    }
    tracing::debug!(video_id = %id, offset = new_offset, "tus chunk stored");
    match error {
        Some(e) => Err(e),
        None => Ok(Progress { offset: new_offset, finished: None, expires_at }),
    }
}

/// The last byte is in (and fsynced): the file becomes `raw/{id}` and the video is created and queued,
/// exactly as after `POST /api/upload`.
async fn finish(state: &AppState, upload: &UploadRecord, path: &std::path::Path) -> Result<(), ApiError> {
    let id = upload.id;
    let head = partial::read_head(path, upload.length).await?;
    let named = partial::container_of(&head)
        .map_err(|_| not_a_video())
        .and_then(|container| name_for(state, upload.file_name.clone(), container));
    let name = match named {
        Ok(name) => name,
        Err(e) => {
            remove_upload(state, id).await?;
            return Err(e);
        }
    };
    let finished = FinishedUpload {
        id,
        local: path,
        size: upload.length,
        original_name: name,
        manage_token_hash: upload.manage_token_hash.clone(),
    };
    accept_finished(state, finished).await?;
    flick_telemetry::metrics().upload_completed(flick_telemetry::UploadKind::Tus);
    // The video exists now; a record left by a failure here is removed on the next request or by the sweep.
    if let Err(e) = state.uploads.delete_upload(id).await {
        tracing::warn!(video_id = %id, error = %e, "cannot delete the record of a finished upload");
    }
    Ok(())
}

/// When an upload last touched at `now` expires.
fn expiry(state: &AppState, now: DateTime<Utc>) -> DateTime<Utc> {
    let ttl = i64::try_from(state.config.upload.incomplete_ttl_seconds).unwrap_or(i64::MAX);
    now.checked_add_signed(chrono::Duration::seconds(ttl.min(100 * 365 * 86_400))).unwrap_or(now)
}

/// Refuses a declared `filetype` that is not a video type Flick accepts (absent or generic is fine: the
/// content is sniffed anyway).
fn check_file_type(state: &AppState, file_type: Option<&str>) -> Result<(), ApiError> {
    let Some(mime) = file_type.map(|t| t.split(';').next().unwrap_or("").trim().to_ascii_lowercase()) else {
        return Ok(());
    };
    if mime.is_empty() || mime == "application/octet-stream" {
        return Ok(());
    }
    let allowed = &state.config.upload.allowed_extensions;
    let known = mime_guess::get_mime_extensions_str(&mime).unwrap_or(&[]);
    if mime.starts_with("video/") && known.iter().any(|e| allowed.iter().any(|a| a.eq_ignore_ascii_case(e))) {
        return Ok(());
    }
    Err(ApiError::UnsupportedMedia(format!("{mime} files are not accepted; upload a video")))
}
