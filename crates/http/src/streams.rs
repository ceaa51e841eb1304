//! Serving what viewers fetch: HLS playlists and segments, and thumbnails, with Range support.
//!
//! Two deliveries: fMP4 segments cut just in time from the original (listed as soon as their bytes have been
//! uploaded), or the MPEG-TS files a worker wrote into the store. Either way a media playlist asked with
//! `?_HLS_msn=N` (LL-HLS blocking reload) is held until segment N is listed, so a player following a growing video
//! gets each new segment at once instead of a target duration later.

use std::time::{Duration, Instant};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use bytes::Bytes;
use chrono::Utc;
use flick_domain::ports::{BlobKey, is_rendition_name};
use flick_domain::{Delivery, Video, VideoStatus};
use flick_packaging::playlist;
use flick_stream::{Arrived, cut};
use serde::Deserialize;

use crate::blobs::{GROWING, bytes_response, requested, serve_blob, slice, stream_response};
use crate::error::ApiError;
use crate::state::AppState;
use crate::videos::{Seen, load, original_of};

/// Segments never change once listed; playlists do while the video grows. Nothing is for shared caches: a video that
/// is deleted, expires, or gets a password must not go on playing from a proxy or CDN.
const IMMUTABLE: &str = "private, max-age=31536000, immutable";
const DONE: &str = "private, max-age=60";
const THUMBNAIL: &str = "private, max-age=3600";
/// The longest a blocking playlist request is held (LL-HLS asks for three target durations at most).
const MAX_HOLD: Duration = Duration::from_secs(12);
/// How often a held request for a stored playlist looks again.
const STORED_POLL: Duration = Duration::from_millis(100);

/// Which files of a video's stream may be served: only the names Flick itself writes.
#[derive(Debug, PartialEq, Eq)]
enum HlsFile {
    Master,
    Media,
    Init,
    Segment {
        index: usize,
        fmp4: bool,
    },
    /// The seek bar's previews: the WebVTT track, and its sprites.
    Storyboard,
    Sprite,
}

fn classify(name: &str) -> Option<HlsFile> {
    match name {
        "master.m3u8" => Some(HlsFile::Master),
        "index.m3u8" => Some(HlsFile::Media),
        cut::INIT_FILE => Some(HlsFile::Init),
        "storyboard.vtt" => Some(HlsFile::Storyboard),
        _ if is_sprite(name) => Some(HlsFile::Sprite),
        _ => playlist::segment_index(name).map(|index| HlsFile::Segment { index, fmp4: name.ends_with(".m4s") }),
    }
}

/// `storyboard-000.jpg` … `storyboard-999.jpg`.
fn is_sprite(name: &str) -> bool {
    name.strip_prefix("storyboard-")
        .and_then(|rest| rest.strip_suffix(".jpg"))
        .is_some_and(|n| n.len() == 3 && n.bytes().all(|b| b.is_ascii_digit()))
}

/// LL-HLS delivery directives (only the media sequence number is used: Flick has no partial segments).
#[derive(Deserialize, Default)]
pub struct HlsQuery {
    #[serde(rename = "_HLS_msn")]
    msn: Option<String>,
}

impl HlsQuery {
    /// The segment the player waits for; a malformed number is ignored (the playlist is answered at once).
    fn next_segment(&self) -> Option<usize> {
        self.msn.as_deref().and_then(|m| m.parse().ok())
    }
}

/// `GET /streams/{id}/{file}`: behind the video's password, and counted against its view limit (a segment asked
/// without this browser's view cookie starts a view; none left: 404).
pub async fn stream_file(
    State(state): State<AppState>,
    Path((id, file)): Path<(String, String)>,
    Query(query): Query<HlsQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    serve(&state, &id, None, &file, &query, &headers).await
}

/// `GET /streams/{id}/{rendition}/{file}`: a file of a lower rendition of the ladder (`r360/index.m3u8`,
/// `r360/seg_00000.ts`), behind the same password and view limit as the first rendition.
pub async fn stream_rendition_file(
    State(state): State<AppState>,
    Path((id, rendition, file)): Path<(String, String, String)>,
    Query(query): Query<HlsQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if !is_rendition_name(&rendition) {
        return Err(ApiError::NotFound);
    }
    serve(&state, &id, Some(&rendition), &file, &query, &headers).await
}

async fn serve(
    state: &AppState,
    id: &str,
    rendition: Option<&str>,
    file: &str,
    query: &HlsQuery,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let kind = classify(file).ok_or(ApiError::NotFound)?;
    let Seen { video, owner } = load(state, id, headers).await?;
    if video.status == VideoStatus::Error {
        return Err(ApiError::NotFound);
    }
    let now = Utc::now();
    state.gate.check_password(headers, &video, now)?;
    if kind == HlsFile::Master && !owner {
        // Someone starts watching: the retention policy keeps what is watched. Off the request's path (the write is
        // skipped in SQL when the last one is recent).
        let (repo, id) = (state.repo.clone(), video.id);
        tokio::spawn(async move {
            if let Err(e) = repo.touch_watched(id, now).await {
                tracing::warn!(video_id = %id, error = %e, "cannot record a view time");
            }
        });
    }
    let view = match kind {
        HlsFile::Segment { index, .. } if video.access.max_views.is_some() && !owner => {
            Some(View::of(state, &video, headers, index, now).await?)
        }
        _ => None,
    };
    let mut response = match (rendition, video.delivery) {
        (None, _) if kind == HlsFile::Storyboard => {
            serve_blob(state, &BlobKey::hls_file(video.id, file)?, headers, "text/vtt; charset=utf-8", DONE).await?
        }
        (None, _) if kind == HlsFile::Sprite => {
            serve_blob(state, &BlobKey::hls_file(video.id, file)?, headers, "image/jpeg", IMMUTABLE).await?
        }
        (Some(rendition), _) => serve_rendition(state, &video, rendition, kind, file, headers).await?,
        (None, _) if kind == HlsFile::Master => serve_master(state, &video).await?,
        (None, Delivery::Original) => serve_cut(state, &video, kind, query, headers).await?,
        (None, Delivery::Stored) => serve_stored(state, &video, kind, file, query, headers).await?,
    };
    if let Some(view) = view {
        view.finish(state, &video, &mut response).await;
    }
    Ok(response)
}

/// A segment request of a video with a view limit: the view it belongs to.
struct View {
    number: u32,
    /// A cookie to set: the view was counted by this request.
    cookie: Option<HeaderValue>,
    index: usize,
}

impl View {
    async fn of(
        state: &AppState,
        video: &Video,
        headers: &HeaderMap,
        index: usize,
        now: chrono::DateTime<Utc>,
    ) -> Result<View, ApiError> {
        if let Some(number) = state.gate.counted_view(headers, video, now) {
            return Ok(View { number, cookie: None, index });
        }
        let number = state.repo.count_view(video.id, now).await?.ok_or(ApiError::NotFound)?;
        tracing::info!(video_id = %video.id, number, "view counted");
        Ok(View { number, cookie: state.gate.view_cookie(video, number, now), index })
    }

    /// Sets the view's cookie; when the last allowed view fetches the last segment of a complete video, that view
    /// has seen everything: the video is deleted (the segment being sent still arrives).
    async fn finish(self, state: &AppState, video: &Video, response: &mut Response) {
        if let Some(cookie) = self.cookie {
            response.headers_mut().append(header::SET_COOKIE, cookie);
        }
        let last_view = video.access.max_views == Some(self.number);
        if !last_view || video.status != VideoStatus::Ready || !response.status().is_success() {
            return;
        }
        if self.index + 1 == segment_count(state, video).await.unwrap_or(usize::MAX) {
            tracing::info!(video_id = %video.id, "the last allowed view reached the end");
            if let Err(e) = crate::lifecycle::delete_video(state, video.id).await {
                tracing::warn!(video_id = %video.id, error = %e, "cannot delete a used-up video");
            }
        }
    }
}

/// How many segments a ready video has.
async fn segment_count(state: &AppState, video: &Video) -> Option<usize> {
    match video.delivery {
        Delivery::Original => Some(state.packages.get(video.id).await.ok()??.segments.len()),
        Delivery::Stored => {
            let key = BlobKey::hls_file(video.id, "index.m3u8").ok()?;
            let text = read_small(state, &key).await.ok()?;
            playlist::parse_media(&text).map(|s| s.len()).ok()
        }
    }
}

/// A video delivered from its original: everything is made from its package and the original's bytes.
async fn serve_cut(
    state: &AppState,
    video: &Video,
    kind: HlsFile,
    query: &HlsQuery,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let package = state.packages.get(video.id).await?.ok_or(ApiError::NotFound)?;
    let original = original_of(state, video);
    // Only an upload still running is asked what has arrived; past it, everything has.
    let uploading = video.status == VideoStatus::Uploading;
    let arrived_now = async || if uploading { original.arrived().await } else { Ok(Arrived::Whole) };
    match kind {
        HlsFile::Media => {
            let started = Instant::now();
            let hold = hold_for(package.target_duration);
            loop {
                let arrived = arrived_now().await?;
                let count = cut::servable(&package, &arrived);
                let whole = arrived.is_whole();
                let waiting = query.next_segment().is_some_and(|n| n >= count) && !whole;
                if !waiting || started.elapsed() >= hold {
                    let text = cut::media_playlist(&package, count, whole);
                    return Ok(bytes_response(text.into(), PLAYLIST, if whole { DONE } else { GROWING }));
                }
                state.uploads.wait_for_progress(hold.saturating_sub(started.elapsed())).await;
            }
        }
        HlsFile::Init => Ok(bytes_response(Bytes::from(package.init.clone()), "video/mp4", IMMUTABLE)),
        HlsFile::Segment { index, fmp4: true } => {
            let segment = package.segments.get(index).ok_or(ApiError::NotFound)?;
            let arrived = arrived_now().await?;
            if !cut::is_servable(segment, &arrived) {
                // Not listed yet: its bytes are still being uploaded.
                return Err(ApiError::NotFound);
            }
            // Its length is known once its SEI units are stripped: the layout is worked out on the first request and
            // kept beside the package.
            let cut::SegmentBody { len: total, body } =
                state.packages.segment_body(&original, &arrived, &package, index).await?;
            let range = requested(headers, total)?;
            let body = match range {
                Some(r) => slice(body, r.start, r.end - r.start + 1),
                None => body,
            };
            Ok(stream_response(body, total, range, "video/mp4", IMMUTABLE))
        }
        HlsFile::Master | HlsFile::Segment { fmp4: false, .. } | HlsFile::Storyboard | HlsFile::Sprite => {
            Err(ApiError::NotFound)
        }
    }
}

/// The master playlist: the first rendition's entry, then those of the lower renditions made so far.
async fn serve_master(state: &AppState, video: &Video) -> Result<Response, ApiError> {
    let mut text = match video.delivery {
        Delivery::Original => {
            let package = state.packages.get(video.id).await?.ok_or(ApiError::NotFound)?;
            cut::master_playlist(&package)
        }
        Delivery::Stored => {
            state.store.read_text(&BlobKey::hls_file(video.id, "master.m3u8")?).await?.ok_or(ApiError::NotFound)?
        }
    };
    let ready = video.status == VideoStatus::Ready;
    if ready && let Some(lower) = state.store.read_text(&BlobKey::renditions(video.id)).await? {
        text.push_str(&lower);
    }
    let text = flick_packaging::webvtt::with_subtitles(&text, &crate::captions::subtitle_tracks(state, video).await?);
    // Lower renditions appear after a video is ready: a player that comes back a minute later sees them.
    Ok(bytes_response(text.into(), PLAYLIST, if ready { DONE } else { GROWING }))
}

/// A file of a lower rendition: complete once listed, never growing.
async fn serve_rendition(
    state: &AppState,
    video: &Video,
    rendition: &str,
    kind: HlsFile,
    file: &str,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let key = BlobKey::rendition_file(video.id, rendition, file)?;
    match kind {
        HlsFile::Media => serve_blob(state, &key, headers, PLAYLIST, DONE).await,
        HlsFile::Segment { fmp4: false, .. } => serve_blob(state, &key, headers, "video/mp2t", IMMUTABLE).await,
        HlsFile::Master
        | HlsFile::Init
        | HlsFile::Segment { fmp4: true, .. }
        | HlsFile::Storyboard
        | HlsFile::Sprite => Err(ApiError::NotFound),
    }
}

/// A video whose HLS files a worker wrote into the store.
async fn serve_stored(
    state: &AppState,
    video: &Video,
    kind: HlsFile,
    file: &str,
    query: &HlsQuery,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let key = BlobKey::hls_file(video.id, file)?;
    let growing = video.status != VideoStatus::Ready;
    let playlist_cache = if growing { GROWING } else { DONE };
    match kind {
        HlsFile::Media => {
            let Some(wanted) = query.next_segment().filter(|_| growing) else {
                return serve_blob(state, &key, headers, PLAYLIST, playlist_cache).await;
            };
            // Held until the worker publishes segment `wanted` (or closes the playlist).
            let started = Instant::now();
            let hold = hold_for(state.config.processing.segment_seconds);
            loop {
                let text = read_small(state, &key).await?;
                let listed = playlist::parse_media(&text).map(|s| s.len()).unwrap_or(0);
                if listed > wanted || playlist::is_ended(&text) || started.elapsed() >= hold {
                    return Ok(bytes_response(text.into(), PLAYLIST, GROWING));
                }
                tokio::time::sleep(STORED_POLL).await;
            }
        }
        HlsFile::Segment { fmp4: false, .. } => serve_blob(state, &key, headers, "video/mp2t", IMMUTABLE).await,
        HlsFile::Master
        | HlsFile::Init
        | HlsFile::Segment { fmp4: true, .. }
        | HlsFile::Storyboard
        | HlsFile::Sprite => Err(ApiError::NotFound),
    }
}

const PLAYLIST: &str = "application/vnd.apple.mpegurl";

/// How long a blocking playlist request may wait: three target durations, within [`MAX_HOLD`].
fn hold_for(target_duration: u32) -> Duration {
    Duration::from_secs(u64::from(target_duration.max(1)) * 3).min(MAX_HOLD)
}

/// A small blob (a playlist) as text; 404 when absent.
async fn read_small(state: &AppState, key: &BlobKey) -> Result<String, ApiError> {
    state.store.read_text(key).await?.ok_or(ApiError::NotFound)
}

/// `GET /thumbnails/{id}.jpg`: behind the video's password, like its stream.
pub async fn thumbnail(
    State(state): State<AppState>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = file.strip_suffix(".jpg").ok_or(ApiError::NotFound)?;
    let Seen { video, .. } = load(&state, id, &headers).await?;
    state.gate.check_password(&headers, &video, Utc::now())?;
    if !video.has_thumbnail {
        return Err(ApiError::NotFound);
    }
    serve_blob(&state, &BlobKey::thumbnail(video.id), &headers, "image/jpeg", THUMBNAIL).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_flick_names_are_served() {
        assert_eq!(classify("master.m3u8"), Some(HlsFile::Master));
        assert_eq!(classify("init.mp4"), Some(HlsFile::Init));
        assert_eq!(classify("seg_00042.ts"), Some(HlsFile::Segment { index: 42, fmp4: false }));
        assert_eq!(classify("seg_00042.m4s"), Some(HlsFile::Segment { index: 42, fmp4: true }));
        for bad in
            ["ffmpeg.m3u8", "seg_1.ts", "seg_00001.ts.tmp", "../raw", "seg_0000a.ts", "index.m3u8.tmp", "package", ""]
        {
            assert_eq!(classify(bad), None, "{bad}");
        }
    }
}
