//! The tus requests: `OPTIONS`, `POST` (creation, creation-with-upload), `HEAD`, `PATCH`, `DELETE`.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{Extensions, HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use flick_domain::ports::UploadRecord;
use flick_domain::upload::clean_file_name;
use flick_domain::{ManageToken, NewVideo, ShareId, UPLOAD_ABANDONED, VideoId, VideoStatus};

use super::concat::{self, Concat};
use super::headers::{self as h};
use super::lookup::{Found, Progress, expiry, find, lock, reconcile, share_links, share_links_of};
use super::{ABANDONED_MESSAGE, receive};
use crate::client::ClientIp;
use crate::error::ApiError;
use crate::intake::{check_declared_name, check_file_type, reserve_bytes};
use crate::state::AppState;

/// `OPTIONS /api/uploads[/{id}]`: what this server supports.
pub async fn options(State(state): State<AppState>) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(h::TUS_VERSION_H, HeaderValue::from_static(h::TUS_VERSION));
    headers.insert(h::TUS_EXTENSION, HeaderValue::from_static(h::TUS_EXTENSIONS));
    headers.insert(h::TUS_MAX_SIZE, h::number_value(state.config.upload.max_bytes));
    headers.insert(h::TUS_CHECKSUM_ALGORITHM, HeaderValue::from_static(h::TUS_CHECKSUMS));
    (StatusCode::NO_CONTENT, headers).into_response()
}

/// `POST /api/uploads`: creates an upload and its video (status `uploading`, share link valid at once), and stores
/// the first chunk when the body is one.
pub async fn create(
    State(state): State<AppState>,
    extensions: Extensions,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let max = state.config.upload.max_bytes;
    let client = ClientIp::of(&extensions);
    let concat = concat::parse(&headers)?;
    if let Some(Concat::Final(parts)) = concat {
        if headers.contains_key(h::UPLOAD_LENGTH) {
            return Err(ApiError::BadRequest("a final upload (Upload-Concat: final) has no Upload-Length".into()));
        }
        let uploader = state.gate.uploader_tag(client.key);
        return concat::create_final(&state, parts, h::metadata(&headers)?, uploader).await;
    }
    let partial = concat == Some(Concat::Partial);
    let length = h::upload_length(&headers)?;
    if length == 0 {
        return Err(ApiError::EmptyUpload);
    }
    if length > max {
        return Err(ApiError::TooLarge { limit: max });
    }
    // Everything the headers say is checked before a byte is stored.
    let meta = h::metadata(&headers)?;
    let file_name = meta.filename.as_deref().map(clean_file_name).filter(|n| !n.is_empty());
    check_declared_name(&state, file_name.as_deref())?;
    check_file_type(&state, meta.filetype.as_deref())?;
    let index_offset = h::index_offset(&headers, length, state.config.upload.max_index_bytes)?;
    if partial && index_offset.is_some() {
        return Err(ApiError::BadRequest("a partial upload cannot be sent index first".into()));
    }
    let with_upload = h::is_chunk(&headers);
    let checksum = if with_upload { h::checksum(&headers)? } else { None };
    if with_upload && h::content_length(&headers)?.is_some_and(|n| n > length) {
        return Err(ApiError::ExceedsUploadLength);
    }

    // Its whole announced length counts against the budgets now: unfinished, and for the day.
    let uploader = reserve_bytes(&state, &client, length, true).await?;

    // The upload URL names the storage id, the links a share id: a viewer of the link cannot touch the upload.
    let (id, share_id) = (VideoId::new(), ShareId::new());
    tracing::Span::current().record("video_id", tracing::field::display(id));
    let token = ManageToken::generate().map_err(|e| ApiError::Internal(e.to_string()))?;
    let now = Utc::now();
    let record = UploadRecord {
        id,
        length,
        offset: 0,
        index_offset,
        partial,
        file_name: file_name.clone(),
        metadata: meta.raw,
        manage_token_hash: token.hash(),
        created_at: now,
        expires_at: expiry(&state, now),
        uploader: Some(uploader.clone()),
    };
    let video = NewVideo {
        id,
        share_id,
        status: VideoStatus::Uploading,
        original_name: file_name.unwrap_or_else(|| "video".to_owned()),
        size_bytes: length,
        manage_token_hash: token.hash(),
        uploader: Some(uploader),
    };
    open(&state, &record, (!partial).then_some(&video)).await?;
    tracing::info!(video_id = %id, length, index_first = index_offset.is_some(), partial, "tus upload created");

    let mut out = HeaderMap::new();
    let location = format!("/api/uploads/{id}");
    out.insert(header::LOCATION, HeaderValue::from_str(&location).map_err(|e| ApiError::Internal(e.to_string()))?);
    if !partial {
        // A part is only bytes; the final upload that joins it becomes the video.
        out.insert(
            h::FLICK_MANAGE_TOKEN,
            HeaderValue::from_str(token.expose()).map_err(|e| ApiError::Internal(e.to_string()))?,
        );
        share_links(share_id, &mut out);
    }
    if with_upload {
        // A fresh id: nobody else can hold its lock, but PATCHes that guess it early must wait their turn.
        let _guard = lock(&state, id).await?;
        match receive::receive(&state, &record, 0, body, checksum).await {
            Ok(progress) => progress.describe(&mut out),
            Err(e) => {
                // The client never learnt the Location of an upload whose first chunk failed: forget it whole.
                let forgotten = if partial {
                    crate::lifecycle::remove_upload(&state, id).await
                } else {
                    crate::lifecycle::delete_video(&state, id).await
                };
                if let Err(cleanup) = forgotten {
                    tracing::warn!(video_id = %id, error = %cleanup, "cannot remove a failed upload");
                }
                return Err(e);
            }
        }
    } else {
        Progress { offset: 0, finished: false, expires_at: record.expires_at }.describe(&mut out);
    }
    Ok((StatusCode::CREATED, out).into_response())
}

/// Records a new upload: its bytes' room, its record, and its video (none for a part of a concatenation); all or
/// nothing.
async fn open(state: &AppState, record: &UploadRecord, video: Option<&NewVideo>) -> Result<(), ApiError> {
    state.spool.create(record).await.map_err(|e| ApiError::Internal(e.to_string()))?;
    if let Err(e) = state.uploads.create_upload(record).await {
        let _ = state.spool.remove(record.id).await;
        return Err(e.into());
    }
    if let Some(video) = video
        && let Err(e) = state.repo.create_video(video).await
    {
        let _ = crate::lifecycle::remove_upload(state, record.id).await;
        return Err(e.into());
    }
    Ok(())
}

/// `HEAD /api/uploads/{id}`: how many bytes the server has.
pub async fn head(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let id = VideoId::parse(&id).map_err(|_| ApiError::NotFound)?;
    // Without the lock (a PATCH is writing) nothing is touched and the recorded offset is the answer.
    let guard = state.upload_locks.try_lock(id);
    let mut out = HeaderMap::new();
    out.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    let found = find(&state, id, guard.is_some()).await?;
    let found = match found {
        Found::Unfinished(upload) if guard.is_some() => reconcile(&state, upload).await?,
        other => other,
    };
    match found {
        Found::Unfinished(upload) => {
            out.insert(h::UPLOAD_LENGTH, h::number_value(upload.length));
            if let Some(meta) = upload.metadata.as_deref().and_then(|m| HeaderValue::from_str(m).ok()) {
                out.insert(h::UPLOAD_METADATA, meta);
            }
            if let Some(m) = upload.index_offset {
                out.insert(h::FLICK_INDEX_OFFSET, h::number_value(m));
            }
            Progress { offset: upload.offset, finished: false, expires_at: upload.expires_at }.describe(&mut out);
            if upload.partial {
                out.insert(h::UPLOAD_CONCAT, HeaderValue::from_static("partial"));
            } else {
                share_links_of(&state, id, &mut out).await?;
            }
        }
        Found::Finished { size } => {
            out.insert(h::UPLOAD_LENGTH, h::number_value(size));
            Progress { offset: size, finished: true, expires_at: Utc::now() }.describe(&mut out);
            share_links_of(&state, id, &mut out).await?;
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
        Found::Unfinished(upload) => reconcile(&state, upload).await?,
        finished => finished,
    };
    let upload = match upload {
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
            Progress { offset: size, finished: true, expires_at: Utc::now() }.describe(&mut out);
            share_links_of(&state, id, &mut out).await?;
            return Ok((StatusCode::NO_CONTENT, out).into_response());
        }
    };
    if client_offset != upload.offset {
        return Err(ApiError::OffsetMismatch { expected: upload.offset });
    }
    if declared.is_some_and(|n| n > upload.length - upload.offset) {
        return Err(ApiError::ExceedsUploadLength);
    }
    let mut out = HeaderMap::new();
    let progress = receive::receive(&state, &upload, upload.offset, body, checksum).await?;
    progress.describe(&mut out);
    if progress.finished {
        share_links_of(&state, id, &mut out).await?;
    }
    Ok((StatusCode::NO_CONTENT, out).into_response())
}

/// `DELETE /api/uploads/{id}` (termination): cancels an unfinished upload; its video ends as `upload_abandoned`. A
/// finished one is a video, which only `DELETE /api/video/{id}` with its manage token removes.
pub async fn terminate(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let id = VideoId::parse(&id).map_err(|_| ApiError::NotFound)?;
    let _guard = lock(&state, id).await?;
    let upload = match find(&state, id, true).await? {
        Found::Unfinished(upload) => upload,
        Found::Finished { .. } => return Err(ApiError::UploadFinished),
    };
    if upload.partial {
        crate::lifecycle::remove_upload(&state, id).await?;
    } else {
        crate::lifecycle::end_upload(&state, id, UPLOAD_ABANDONED, ABANDONED_MESSAGE).await?;
    }
    tracing::info!(video_id = %id, "tus upload terminated");
    Ok(StatusCode::NO_CONTENT.into_response())
}
