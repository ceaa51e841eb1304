//! The video API: status, deletion, the admin listing, and the public limits the web app reads.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use flick_domain::ids::constant_time_eq;
use flick_domain::upload::title_of;
use flick_domain::{Delivery, ManageToken, UPLOAD_ABANDONED, Video, VideoId, VideoStatus};
use flick_stream::{Arrived, Original};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::links::Links;
use crate::state::AppState;

/// The JSON shape of a video, as the API shows it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VideoView {
    id: String,
    title: String,
    status: &'static str,
    playable: bool,
    /// Seconds playable from 0:00 right now.
    playable_seconds: f64,
    progress: f64,
    /// Bytes of the upload the server holds (`size_bytes` once complete).
    received_bytes: u64,
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

/// What is playable of a video now: (playable, seconds from 0:00).
#[derive(Debug, Clone, Copy, Default)]
pub struct Playable {
    pub playable: bool,
    pub seconds: f64,
    /// Bytes of the upload received, when it is still running.
    pub received: Option<u64>,
}

impl Playable {
    /// From the record (stored delivery), or from the package and what has arrived (delivery from the original).
    pub async fn of(state: &AppState, v: &Video) -> Result<Playable, ApiError> {
        let arrived =
            if v.status == VideoStatus::Uploading { Some(original_of(state, v).arrived().await?) } else { None };
        let received = arrived.as_ref().map(|a| a.received_bytes().unwrap_or(v.size_bytes));
        if v.delivery == Delivery::Stored {
            return Ok(Playable { playable: v.playable, seconds: v.playable_seconds, received });
        }
        let Some(package) = state.packages.get(v.id).await? else {
            return Ok(Playable { received, ..Playable::default() });
        };
        let count = flick_stream::cut::servable(&package, arrived.as_ref().unwrap_or(&Arrived::Whole));
        Ok(Playable { playable: count > 0, seconds: flick_stream::cut::playable_seconds(&package, count), received })
    }
}

/// The original of a video, as it arrives or whole.
pub fn original_of(state: &AppState, v: &Video) -> Original {
    Original::new(v.id, v.size_bytes, state.uploads.clone(), state.spool.clone(), state.store.clone())
}

impl VideoView {
    pub fn of(v: &Video, now: Playable) -> Self {
        let links = Links::of(v.id);
        VideoView {
            id: v.id.to_string(),
            title: title_of(&v.original_name),
            status: v.status.as_str(),
            playable: now.playable,
            playable_seconds: (now.seconds * 1000.0).round() / 1000.0,
            progress: v.progress,
            // An abandoned upload's bytes are gone: none is held any more.
            received_bytes: if is_abandoned(v) { 0 } else { now.received.unwrap_or(v.size_bytes).min(v.size_bytes) },
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

/// Loads a video as viewers may see it, or answers 404: an abandoned upload is as gone as a deleted video.
pub async fn load(state: &AppState, raw_id: &str) -> Result<Video, ApiError> {
    let video = load_any(state, raw_id).await?;
    if is_abandoned(&video) {
        return Err(ApiError::NotFound);
    }
    Ok(video)
}

/// Loads a video whatever became of it, or answers 404.
async fn load_any(state: &AppState, raw_id: &str) -> Result<Video, ApiError> {
    let id = parse_id(raw_id)?;
    state.repo.get_video(id).await?.ok_or(ApiError::NotFound)
}

fn is_abandoned(v: &Video) -> bool {
    v.status == VideoStatus::Error && v.failure.as_ref().is_some_and(|f| f.code == UPLOAD_ABANDONED)
}

/// `GET /api/video/{id}`. The owner (manage token as a Bearer) also sees what became of an abandoned upload.
pub async fn get_video(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<impl IntoResponse, ApiError> {
    let video = load_any(&state, &id).await?;
    if is_abandoned(&video)
        && !bearer(&headers).is_some_and(|t| ManageToken::from_presented(t).matches(&video.manage_token_hash))
    {
        return Err(ApiError::NotFound);
    }
    let now = Playable::of(&state, &video).await?;
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(VideoView::of(&video, now))))
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}

/// `DELETE /api/video/{id}` with the manage token, at any moment (mid-upload too): removes the record first (every
/// URL then answers 404), then its jobs, its unfinished upload and its blobs.
pub async fn delete_video(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let video = load_any(&state, &id).await?;
    let token = bearer(&headers).ok_or(ApiError::Unauthorized)?;
    if !ManageToken::from_presented(token).matches(&video.manage_token_hash) {
        return Err(ApiError::Forbidden);
    }
    crate::lifecycle::delete_video(&state, video.id).await?;
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
    let mut views: Vec<VideoView> = Vec::with_capacity(videos.len());
    for v in &videos {
        views.push(VideoView::of(v, Playable::of(&state, v).await?));
    }
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(serde_json::json!({ "videos": views }))))
}

/// `GET /api/config`: the limits a client checks before it sends a byte.
pub async fn public_config(State(state): State<AppState>) -> impl IntoResponse {
    Json(serde_json::json!({
        "maxUploadBytes": state.config.upload.max_bytes,
        "allowedExtensions": state.config.upload.allowed_extensions,
        "maxIndexBytes": state.config.upload.max_index_bytes,
        "adminEnabled": state.config.admin.token.is_some(),
    }))
}
