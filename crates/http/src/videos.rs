//! The video API: status, deletion, the admin listing, and the public limits the web app reads.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use flick_domain::ids::constant_time_eq;
use flick_domain::ports::BlobKey;
use flick_domain::upload::title_of;
use flick_domain::{ManageToken, Video, VideoId};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::state::AppState;

/// The JSON shape of a video, as the API shows it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VideoView {
    id: String,
    title: String,
    status: &'static str,
    playable: bool,
    progress: f64,
    url: String,
    stream_url: String,
    thumbnail_url: Option<String>,
    duration_seconds: Option<f64>,
    width: Option<u32>,
    height: Option<u32>,
    size_bytes: u64,
    created_at: String,
    error: Option<ErrorView>,
}

#[derive(Serialize)]
struct ErrorView {
    code: String,
    message: String,
}

/// The links of a video, relative to the site root.
pub struct Links {
    pub share: String,
    pub status: String,
    pub stream: String,
    pub thumbnail: String,
}

impl Links {
    pub fn of(id: VideoId) -> Self {
        Links {
            share: format!("/v/{id}"),
            status: format!("/api/video/{id}"),
            stream: format!("/streams/{id}/master.m3u8"),
            thumbnail: format!("/thumbnails/{id}.jpg"),
        }
    }
}

impl VideoView {
    pub fn of(v: &Video) -> Self {
        let links = Links::of(v.id);
        VideoView {
            id: v.id.to_string(),
            title: title_of(&v.original_name),
            status: v.status.as_str(),
            playable: v.playable,
            progress: v.progress,
            url: links.share,
            stream_url: links.stream,
            thumbnail_url: v.has_thumbnail.then_some(links.thumbnail),
            duration_seconds: v.duration_seconds,
            width: v.width,
            height: v.height,
            size_bytes: v.size_bytes,
            created_at: v.created_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            error: v.failure.as_ref().map(|f| ErrorView { code: f.code.clone(), message: f.message.clone() }),
        }
    }
}

/// Parses an id from a path; malformed ids get the same 404 as unknown ones.
pub fn parse_id(raw: &str) -> Result<VideoId, ApiError> {
    VideoId::parse(raw).map_err(|_| ApiError::NotFound)
}

/// Loads a video or answers 404.
pub async fn load(state: &AppState, raw_id: &str) -> Result<Video, ApiError> {
    let id = parse_id(raw_id)?;
    state.repo.get_video(id).await?.ok_or(ApiError::NotFound)
}

/// `GET /api/video/{id}`
pub async fn get_video(State(state): State<AppState>, Path(id): Path<String>) -> Result<impl IntoResponse, ApiError> {
    let video = load(&state, &id).await?;
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(VideoView::of(&video))))
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}

/// `DELETE /api/video/{id}` with the manage token: removes the record first (every URL then
/// answers 404), then its jobs and blobs.
pub async fn delete_video(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let video = load(&state, &id).await?;
    let token = bearer(&headers).ok_or(ApiError::Unauthorized)?;
    if !ManageToken::from_presented(token).matches(&video.manage_token_hash) {
        return Err(ApiError::Forbidden);
    }
    state.queue.cancel_video(video.id).await?;
    state.repo.delete_video(video.id).await?;
    state.store.delete_prefix(&BlobKey::hls_prefix(video.id)).await?;
    state.store.delete(&BlobKey::thumbnail(video.id)).await?;
    state.store.delete(&BlobKey::raw(video.id)).await?;
    tracing::info!(video_id = %video.id, "video deleted");
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
pub struct ListQuery {
    limit: Option<u32>,
    offset: Option<u32>,
}

/// `GET /api/videos`: only with the admin token; without it (or with no admin configured), 404.
pub async fn list_videos(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let configured = state.config.admin.token.as_deref().ok_or(ApiError::NotFound)?;
    let presented = bearer(&headers).ok_or(ApiError::NotFound)?;
    if !constant_time_eq(presented.as_bytes(), configured.as_bytes()) {
        return Err(ApiError::NotFound);
    }
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let videos = state.repo.list_videos(limit, q.offset.unwrap_or(0)).await?;
    let views: Vec<VideoView> = videos.iter().map(VideoView::of).collect();
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(serde_json::json!({ "videos": views }))))
}

/// `GET /api/config`: the limits a client checks before it sends a byte.
pub async fn public_config(State(state): State<AppState>) -> impl IntoResponse {
    Json(serde_json::json!({
        "maxUploadBytes": state.config.upload.max_bytes,
        "allowedExtensions": state.config.upload.allowed_extensions,
        "adminEnabled": state.config.admin.token.is_some(),
    }))
}
