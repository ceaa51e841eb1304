//! Caption tracks: the owner adds them (`POST /api/video/{id}/captions?lang=&label=`, an SRT or WebVTT file as the
//! body, rewritten as plain WebVTT) and removes them (`DELETE …/captions/{lang}`); viewers get each as a WebVTT file
//! for a `<track>`, and as an HLS subtitles rendition listed in the master playlist (`streams::serve_master`).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use flick_domain::ports::{BlobKey, ByteRange};
use flick_domain::{Caption, CaptionError, Delivery, Video};
use flick_packaging::playlist;
use flick_packaging::webvtt::{self, SubtitleTrack};
use serde::Deserialize;

use crate::error::ApiError;
use crate::state::AppState;
use crate::videos::{CaptionView, Seen, load, load_owned};

/// Largest caption file taken, in bytes (a feature film's subtitles are ~100 KB).
pub const MAX_CAPTION_BYTES: usize = 512 * 1024;
/// Caption tracks a video may have.
pub const MAX_CAPTIONS: u32 = 20;
/// The presentation time ffmpeg's MPEG-TS segments start at when nothing else is known (its default mux delay).
const TS_START_PTS: u64 = 126_000;
/// Bytes of the first segment read to find its first presentation time.
const PTS_SCAN_BYTES: u64 = 64 * 1024;

#[derive(Deserialize)]
pub struct CaptionQuery {
    lang: Option<String>,
    label: Option<String>,
}

/// `POST /api/video/{id}/captions?lang=en&label=English` with the manage token: adds the track (or replaces the one
/// of that language) → 201 with `{lang, label, url}`.
pub async fn add(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<CaptionQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let video = load_owned(&state, &id, &headers).await?;
    let lang = query.lang.unwrap_or_default();
    let label = query.label.filter(|l| !l.trim().is_empty()).unwrap_or_else(|| lang.clone());
    let caption = Caption::new(&lang, &label).map_err(caption_error)?;
    if body.len() > MAX_CAPTION_BYTES {
        return Err(ApiError::TooLarge { limit: MAX_CAPTION_BYTES as u64 });
    }
    let cues = webvtt::parse_captions(&body).map_err(|e| ApiError::InvalidSetting {
        code: "invalid_captions",
        message: format!("Not a caption file: {e}."),
    })?;
    // The cues first: a listed track always finds its file.
    let key = BlobKey::caption(video.id, &caption.lang)?;
    state.store.put_bytes(&key, Bytes::from(webvtt::render_vtt(&cues, None))).await?;
    if !state.repo.put_caption(video.id, &caption, MAX_CAPTIONS).await? {
        state.store.delete(&key).await?;
        return Err(ApiError::TooManyCaptions { max: MAX_CAPTIONS });
    }
    tracing::info!(video_id = %video.id, lang = caption.lang, cues = cues.len(), "caption track added");
    let view = CaptionView::of(&video, &caption);
    Ok((StatusCode::CREATED, [(header::CACHE_CONTROL, "no-store")], Json(view)).into_response())
}

/// `DELETE /api/video/{id}/captions/{lang}` with the manage token → 204; 404 when there is no such track.
pub async fn remove(
    State(state): State<AppState>,
    Path((id, lang)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let video = load_owned(&state, &id, &headers).await?;
    let caption = Caption::new(&lang, "-").map_err(|_| ApiError::NotFound)?;
    if !state.repo.delete_caption(video.id, &caption.lang).await? {
        return Err(ApiError::NotFound);
    }
    state.store.delete(&BlobKey::caption(video.id, &caption.lang)?).await?;
    tracing::info!(video_id = %video.id, lang = caption.lang, "caption track removed");
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /streams/{id}/captions/{lang}.vtt` (the cues) or `{lang}.m3u8` (their HLS playlist): behind the video's
/// password, like its stream.
pub async fn serve(
    State(state): State<AppState>,
    Path((id, file)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (lang, ext) = file.rsplit_once('.').ok_or(ApiError::NotFound)?;
    let caption = Caption::new(lang, "-").map_err(|_| ApiError::NotFound)?;
    let Seen { video, .. } = load(&state, &id, &headers).await?;
    state.gate.check_password(&headers, &video, Utc::now())?;
    if !state.repo.captions(video.id).await?.iter().any(|c| c.lang == caption.lang) {
        return Err(ApiError::NotFound);
    }
    let (body, content_type) = match ext {
        "m3u8" => {
            let duration = video.duration_seconds.unwrap_or(0.0);
            (webvtt::subtitles_playlist(&format!("{}.vtt", caption.lang), duration), "application/vnd.apple.mpegurl")
        }
        "vtt" => {
            let text = state.store.read_text(&BlobKey::caption(video.id, &caption.lang)?).await?;
            let text = text.ok_or(ApiError::NotFound)?;
            (webvtt::with_timestamp_map(&text, first_pts(&state, &video).await), "text/vtt; charset=utf-8")
        }
        _ => return Err(ApiError::NotFound),
    };
    let mut response = Response::new(axum::body::Body::from(body));
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // Replaced when the owner sends the language again.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(response)
}

/// The master playlist's subtitle renditions of `video`.
pub async fn subtitle_tracks(state: &AppState, video: &Video) -> Result<Vec<SubtitleTrack>, ApiError> {
    let captions = state.repo.captions(video.id).await?;
    Ok(captions
        .into_iter()
        .map(|c| SubtitleTrack { uri: format!("captions/{}.m3u8", c.lang), lang: c.lang, name: c.label })
        .collect())
}

/// Where the video's timeline starts, in 90 kHz units: cue time 0 is this presentation time (`X-TIMESTAMP-MAP`).
/// fMP4 cut from the original starts at 0; MPEG-TS from ffmpeg starts after its mux delay, read from the first
/// segment.
async fn first_pts(state: &AppState, video: &Video) -> u64 {
    if video.delivery == Delivery::Original {
        return 0;
    }
    let read = async {
        let index = state.store.read_text(&BlobKey::hls_file(video.id, "index.m3u8").ok()?).await.ok()??;
        let first = playlist::parse_media(&index).ok()?.into_iter().next()?;
        let key = BlobKey::hls_file(video.id, &first.uri).ok()?;
        let len = state.store.len(&key).await.ok()??.min(PTS_SCAN_BYTES);
        let blob = state.store.get(&key, Some(ByteRange { start: 0, end: len.checked_sub(1)? })).await.ok()??;
        let mut bytes = Vec::new();
        let mut body = blob.body;
        use futures_util::StreamExt;
        while let Some(chunk) = body.next().await {
            bytes.extend_from_slice(&chunk.ok()?);
        }
        webvtt::first_pts(&bytes)
    };
    read.await.unwrap_or(TS_START_PTS)
}

fn caption_error(e: CaptionError) -> ApiError {
    let code = match e {
        CaptionError::Lang => "invalid_caption_lang",
        CaptionError::Label => "invalid_caption_label",
    };
    ApiError::InvalidSetting { code, message: format!("{}.", capitalized(&e.to_string())) }
}

fn capitalized(s: &str) -> String {
    let mut chars = s.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}
