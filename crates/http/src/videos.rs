//! The video API as viewers see it: status (and who may see it), the admin listing, and the public limits the web
//! app reads.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use flick_domain::ids::constant_time_eq;
use flick_domain::ports::BlobKey;
use flick_domain::upload::title_of;
use flick_domain::{Caption, Delivery, ManageToken, ShareId, UPLOAD_ABANDONED, Video, VideoStatus};
use flick_stream::{Arrived, Original};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::gate::{Gate, bearer};
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
    /// The original file as uploaded, where viewers may download it.
    download_url: Option<String>,
    /// The seek bar's previews, once made.
    storyboard_url: Option<String>,
    /// The player page for an `<iframe>`.
    embed_url: String,
    /// Caption tracks (left out of listings).
    #[serde(skip_serializing_if = "Option::is_none")]
    captions: Option<Vec<CaptionView>>,
    duration_seconds: Option<f64>,
    width: Option<u32>,
    height: Option<u32>,
    size_bytes: u64,
    created_at: String,
    error: Option<ErrorView>,
}

/// A caption track as the API shows it.
#[derive(Serialize)]
pub struct CaptionView {
    lang: String,
    label: String,
    url: String,
}

impl CaptionView {
    pub fn of(v: &Video, caption: &Caption) -> Self {
        CaptionView {
            lang: caption.lang.clone(),
            label: caption.label.clone(),
            url: Links::caption(v.share_id, &caption.lang),
        }
    }
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

/// The title viewers see: the one its owner gave, or the file name without its extension.
pub fn display_title(v: &Video) -> String {
    v.title.clone().filter(|t| !t.is_empty()).unwrap_or_else(|| title_of(&v.original_name))
}

/// Whether the owner lets viewers download `v` (its own switch, else the site's default).
pub fn download_allowed(state: &AppState, v: &Video) -> bool {
    v.access.allow_download.unwrap_or(state.config.share.allow_download)
}

/// What a download of a video hands out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DownloadFile {
    /// The file as uploaded.
    Original,
    /// The original is gone: an MP4 of its first rendition (made once the owner allowed downloads).
    Remuxed,
}

/// What viewers may download of `v` now, if anything: downloads are allowed, the video is ready and has no view limit
/// (a download would outlive it), and its original, or the MP4 made instead, is stored.
pub async fn download_file(state: &AppState, v: &Video) -> Result<Option<DownloadFile>, ApiError> {
    if !download_allowed(state, v) || v.status != VideoStatus::Ready || v.access.max_views.is_some() {
        return Ok(None);
    }
    if state.store.len(&BlobKey::raw(v.id)).await?.is_some() {
        return Ok(Some(DownloadFile::Original));
    }
    let remuxed = v.delivery == Delivery::Stored && state.store.len(&BlobKey::download(v.id)).await?.is_some();
    Ok(remuxed.then_some(DownloadFile::Remuxed))
}

/// Whether viewers may download something of `v` now (see [`download_file`]).
pub async fn downloadable(state: &AppState, v: &Video) -> Result<bool, ApiError> {
    Ok(download_file(state, v).await?.is_some())
}

impl VideoView {
    /// What the API says of `v`; `download` when [`downloadable`].
    pub fn of(v: &Video, now: Playable, download: bool) -> Self {
        let links = Links::of(v.share_id);
        let download_url = download.then(|| format!("{}/download", links.share));
        VideoView {
            id: v.share_id.to_string(),
            title: display_title(v),
            status: v.status.as_str(),
            playable: now.playable,
            playable_seconds: (now.seconds * 1000.0).round() / 1000.0,
            progress: v.progress,
            // An abandoned upload's bytes are gone: none is held any more.
            received_bytes: if is_abandoned(v) { 0 } else { now.received.unwrap_or(v.size_bytes).min(v.size_bytes) },
            url: links.share,
            stream_url: links.stream,
            thumbnail_url: v.has_thumbnail.then_some(links.thumbnail),
            download_url,
            storyboard_url: v.has_storyboard.then_some(links.storyboard),
            embed_url: links.embed,
            captions: None,
            duration_seconds: v.duration_seconds,
            width: v.width,
            height: v.height,
            size_bytes: v.size_bytes,
            created_at: v.created_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            error: v.failure.as_ref().map(|f| ErrorView { code: f.code.clone(), message: f.message.clone() }),
        }
    }
}

impl VideoView {
    /// The view with the video's caption tracks.
    pub async fn with_captions(mut self, state: &AppState, v: &Video) -> Result<Self, ApiError> {
        let captions = state.repo.captions(v.id).await?;
        self.captions = Some(captions.iter().map(|c| CaptionView::of(v, c)).collect());
        Ok(self)
    }
}

/// A video as one request may see it.
pub struct Seen {
    pub video: Video,
    /// The request presents the video's manage token.
    pub owner: bool,
}

/// Loads a video by its share id as the request may see it, or answers 404 — the same 404 as for an unknown id when
/// it was deleted, its upload abandoned (its owner still sees that), it expired, or its views are used up (except
/// for the browser whose view is the last one, still going on).
pub async fn load(state: &AppState, raw_id: &str, headers: &HeaderMap) -> Result<Seen, ApiError> {
    let share = ShareId::parse(raw_id).map_err(|_| ApiError::NotFound)?;
    let video = state.repo.get_video_by_share(share).await?.ok_or(ApiError::NotFound)?;
    // The request's log lines name the video as its jobs' do: by its storage id.
    tracing::Span::current().record("video_id", tracing::field::display(video.id));
    let owner = Gate::is_owner(headers, &video);
    let now = Utc::now();
    let gone = video.deleted_at.is_some()
        || (is_abandoned(&video) && !owner)
        || video.access.ended(now)
        || (video.access.views_left() == Some(0) && !owner && state.gate.counted_view(headers, &video, now).is_none());
    if gone {
        return Err(ApiError::NotFound);
    }
    Ok(Seen { video, owner })
}

/// Loads a video as its owner (the manage token as a Bearer): 401 without a token, 403 with another video's.
pub async fn load_owned(state: &AppState, raw_id: &str, headers: &HeaderMap) -> Result<Video, ApiError> {
    let share = ShareId::parse(raw_id).map_err(|_| ApiError::NotFound)?;
    let video = state.repo.get_video_by_share(share).await?.ok_or(ApiError::NotFound)?;
    tracing::Span::current().record("video_id", tracing::field::display(video.id));
    if video.deleted_at.is_some() || video.access.ended(Utc::now()) {
        return Err(ApiError::NotFound);
    }
    let token = bearer(headers).ok_or(ApiError::Unauthorized)?;
    if !ManageToken::from_presented(token).matches(&video.manage_token_hash) {
        return Err(ApiError::Forbidden);
    }
    Ok(video)
}

fn is_abandoned(v: &Video) -> bool {
    v.status == VideoStatus::Error && v.failure.as_ref().is_some_and(|f| f.code == UPLOAD_ABANDONED)
}

/// `GET /api/video/{id}`: the status. A protected video without the password's proof shows only that it is
/// protected; the owner (manage token as a Bearer) also sees its settings, and what became of an abandoned upload.
pub async fn get_video(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Seen { video, owner } = load(&state, &id, &headers).await?;
    if let Err(ApiError::PasswordRequired) = state.gate.check_password(&headers, &video, Utc::now()) {
        let body = serde_json::json!({ "id": video.share_id.to_string(), "passwordRequired": true });
        return Ok(([(header::CACHE_CONTROL, "no-store")], Json(body)).into_response());
    }
    let now = Playable::of(&state, &video).await?;
    let view = VideoView::of(&video, now, downloadable(&state, &video).await?).with_captions(&state, &video).await?;
    if owner {
        let owner_view = OwnerView::of(view, &video, download_allowed(&state, &video));
        return Ok(([(header::CACHE_CONTROL, "no-store")], Json(owner_view)).into_response());
    }
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(view)).into_response())
}

/// The JSON shape of a video as its owner sees it: the status and the access settings (never the password).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OwnerView {
    #[serde(flatten)]
    view: VideoView,
    password_protected: bool,
    expires_at: Option<String>,
    max_views: Option<u32>,
    views_left: Option<u32>,
    /// Viewers may download the original (the video's own switch, else the site's default).
    allow_download: bool,
}

impl OwnerView {
    pub fn of(view: VideoView, v: &Video, allow_download: bool) -> Self {
        OwnerView {
            allow_download,
            view,
            password_protected: v.access.password_hash.is_some(),
            expires_at: v.access.expires_at.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            max_views: v.access.max_views,
            views_left: v.access.views_left(),
        }
    }
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
        views.push(VideoView::of(v, Playable::of(&state, v).await?, downloadable(&state, v).await?));
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
