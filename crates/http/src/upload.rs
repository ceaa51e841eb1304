//! Upload intake: `POST`/`PUT /api/upload`, multipart or raw body, streamed to disk in constant memory.
//!
//! The size limit is enforced on the bytes actually received; the container is sniffed from the first
//! bytes, so a non-video is refused without being stored whole. Nothing is acknowledged before it is on
//! disk (fsync) and recorded.

use axum::Json;
use axum::extract::{FromRequest, Multipart, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use bytes::Bytes;
use flick_domain::upload::{Container, SNIFF_LEN, clean_file_name, content_disposition_file_name, sniff};
use flick_domain::{ManageToken, ShareId, VideoId};
use futures_util::{Stream, StreamExt};
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;

use crate::client::ClientIp;
use crate::error::ApiError;
use crate::intake::{
    FinishedUpload, TempFile, accept_finished, check_declared_name, name_for, not_a_video, reserve_bytes,
};
use crate::links::Links;
use crate::state::AppState;

/// Room for multipart boundaries and part headers on top of the file itself.
const MULTIPART_OVERHEAD: u64 = 64 * 1024;

#[derive(Deserialize)]
pub struct UploadQuery {
    filename: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadResponse {
    id: String,
    url: String,
    status_url: String,
    stream_url: String,
    thumbnail_url: String,
    manage_token: String,
}

/// `POST /api/upload` and `PUT /api/upload`.
pub async fn upload(
    State(state): State<AppState>,
    Query(query): Query<UploadQuery>,
    request: Request,
) -> Result<impl IntoResponse, ApiError> {
    let client = ClientIp::of(request.extensions());
    let max = state.config.upload.max_bytes;
    let content_type =
        request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase();
    let is_multipart = content_type.starts_with("multipart/form-data");
    let declared =
        request.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    // A declared length over the limit is refused before reading; the limit is still enforced on what arrives.
    if let Some(len) = declared
        && len > max.saturating_add(if is_multipart { MULTIPART_OVERHEAD } else { 0 })
    {
        return Err(ApiError::TooLarge { limit: max });
    }
    // Counted on what the client declares (a body without a length may be as large as the limit), before a byte is
    // read.
    let uploader = reserve_bytes(&state, &client, declared.unwrap_or(max).min(max), false).await?;

    let received = if is_multipart {
        let mut multipart = Multipart::from_request(request, &state)
            .await
            .map_err(|e| ApiError::BadRequest(format!("malformed multipart body: {}", e.body_text())))?;
        loop {
            let field = multipart
                .next_field()
                .await
                .map_err(|e| ApiError::BadRequest(format!("malformed multipart body: {}", e.body_text())))?
                .ok_or_else(|| ApiError::BadRequest("the form has no field named \"file\"".into()))?;
            if field.name() == Some("file") {
                let name = field.file_name().map(clean_file_name);
                check_declared_name(&state, name.as_deref())?;
                break receive(&state, field, name).await?;
            }
        }
    } else {
        // `?filename=`, else the name a `Content-Disposition` header gives (`curl -T` sends neither).
        let disposition = request.headers().get(header::CONTENT_DISPOSITION).and_then(|v| v.to_str().ok());
        let name = match query.filename.as_deref() {
            Some(f) => Some(clean_file_name(f)),
            None => disposition.and_then(content_disposition_file_name),
        };
        check_declared_name(&state, name.as_deref())?;
        receive(&state, request.into_body().into_data_stream(), name).await?
    };

    let (id, share) = (VideoId::new(), ShareId::new());
    tracing::Span::current().record("video_id", tracing::field::display(id));
    let token = ManageToken::generate().map_err(|e| ApiError::Internal(e.to_string()))?;
    let mut received = received;
    let finished = FinishedUpload {
        id,
        share_id: share,
        local: received.file.path(),
        size: received.size,
        original_name: received.name.clone(),
        manage_token_hash: token.hash(),
        uploader,
    };
    accept_finished(&state, finished).await?;
    received.file.disarm();
    flick_telemetry::metrics().upload_completed(flick_telemetry::UploadKind::Post);

    let links = Links::of(share);
    let body = UploadResponse {
        id: share.to_string(),
        url: links.share.clone(),
        status_url: links.status,
        stream_url: links.stream,
        thumbnail_url: links.thumbnail,
        manage_token: token.expose().to_owned(),
    };
    Ok((StatusCode::CREATED, [(header::LOCATION, links.share)], Json(body)))
}

/// A received upload, on disk and synced, not yet handed to the store.
struct Received {
    file: TempFile,
    size: u64,
    name: String,
}

/// Streams `body` into a scratch file, enforcing the limit and sniffing the container on the way.
async fn receive<S, E>(state: &AppState, body: S, name: Option<String>) -> Result<Received, ApiError>
where
    S: Stream<Item = Result<Bytes, E>>,
    E: std::fmt::Display,
{
    let max = state.config.upload.max_bytes;
    tokio::fs::create_dir_all(&state.scratch_dir).await?;
    let file = TempFile::new(state.scratch_dir.join(format!("upload-{}.part", VideoId::new())));
    let mut out = tokio::io::BufWriter::with_capacity(256 * 1024, tokio::fs::File::create(file.path()).await?);
    let mut head: Vec<u8> = Vec::with_capacity(SNIFF_LEN);
    let mut container: Option<Container> = None;
    let mut size: u64 = 0;
    let mut body = std::pin::pin!(body);
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| {
            tracing::info!(error = %e, "upload body ended early");
            ApiError::UploadAborted
        })?;
        size += chunk.len() as u64;
        if size > max {
            return Err(ApiError::TooLarge { limit: max });
        }
        if container.is_none() {
            let need = SNIFF_LEN - head.len();
            head.extend_from_slice(&chunk[..chunk.len().min(need)]);
            if head.len() >= SNIFF_LEN {
                container = Some(sniff(&head).ok_or_else(not_a_video)?);
            }
        }
        out.write_all(&chunk).await?;
    }
    if size == 0 {
        return Err(ApiError::EmptyUpload);
    }
    let container = match container {
        Some(c) => c,
        None => sniff(&head).ok_or_else(not_a_video)?,
    };
    let name = name_for(state, name, container)?;
    out.flush().await?;
    out.get_ref().sync_all().await?;
    Ok(Received { file, size, name })
}
