//! Serving what viewers fetch: HLS playlists and segments, and thumbnails, with Range support.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use flick_domain::VideoStatus;
use flick_domain::ports::{BlobKey, ByteRange};

use crate::error::ApiError;
use crate::state::AppState;
use crate::videos::load;

/// Segments never change once listed; playlists do while processing.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// Which files of a video's HLS folder may be served, and how.
#[derive(Debug, PartialEq, Eq)]
enum HlsFile {
    Playlist,
    Segment,
}

/// Only the names Flick itself writes: `master.m3u8`, `index.m3u8`, `seg_NNNNN.ts`.
fn classify(name: &str) -> Option<HlsFile> {
    if name == "master.m3u8" || name == "index.m3u8" {
        return Some(HlsFile::Playlist);
    }
    let digits = name.strip_prefix("seg_")?.strip_suffix(".ts")?;
    (digits.len() == 5 && digits.bytes().all(|b| b.is_ascii_digit())).then_some(HlsFile::Segment)
}

/// `GET /streams/{id}/{file}`
pub async fn stream_file(
    State(state): State<AppState>,
    Path((id, file)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let kind = classify(&file).ok_or(ApiError::NotFound)?;
    let video = load(&state, &id).await?;
    if video.status == VideoStatus::Error {
        return Err(ApiError::NotFound);
    }
    let key = BlobKey::hls_file(video.id, &file)?;
    let (content_type, cache) = match kind {
        HlsFile::Playlist if video.status == VideoStatus::Ready => {
            ("application/vnd.apple.mpegurl", "public, max-age=60")
        }
        HlsFile::Playlist => ("application/vnd.apple.mpegurl", "no-cache"),
        HlsFile::Segment => ("video/mp2t", IMMUTABLE),
    };
    serve_blob(&state, &key, &headers, content_type, cache).await
}

/// `GET /thumbnails/{id}.jpg`
pub async fn thumbnail(
    State(state): State<AppState>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = file.strip_suffix(".jpg").ok_or(ApiError::NotFound)?;
    let video = load(&state, id).await?;
    if !video.has_thumbnail {
        return Err(ApiError::NotFound);
    }
    serve_blob(&state, &BlobKey::thumbnail(video.id), &headers, "image/jpeg", "public, max-age=3600").await
}

/// Streams a blob, honouring a single-range `Range` header (multi-range requests get the whole blob).
async fn serve_blob(
    state: &AppState,
    key: &BlobKey,
    headers: &HeaderMap,
    content_type: &'static str,
    cache: &'static str,
) -> Result<Response, ApiError> {
    let range = match headers.get(header::RANGE).and_then(|v| v.to_str().ok()) {
        None => None,
        Some(raw) => {
            let total = state.store.len(key).await?.ok_or(ApiError::NotFound)?;
            requested_range(raw, total)?
        }
    };
    let blob = state.store.get(key, range).await?.ok_or(ApiError::NotFound)?;
    let (status, length) = match blob.range {
        Some(r) => (StatusCode::PARTIAL_CONTENT, r.end - r.start + 1),
        None => (StatusCode::OK, blob.total_len),
    };
    let mut response = Response::new(Body::from_stream(blob.body));
    *response.status_mut() = status;
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    if let Some(r) = blob.range
        && let Ok(v) = HeaderValue::from_str(&format!("bytes {}-{}/{}", r.start, r.end, blob.total_len))
    {
        h.insert(header::CONTENT_RANGE, v);
    }
    Ok(response.into_response())
}

/// Resolves a `Range` header against a blob of `total` bytes (RFC 9110 §14).
/// Syntactically invalid headers are ignored (whole blob); unsatisfiable ones are 416.
fn requested_range(raw: &str, total: u64) -> Result<Option<ByteRange>, ApiError> {
    let parsed = match http_range_header::parse_range_header(raw) {
        Ok(p) => p,
        Err(_) => return Ok(None),
    };
    let ranges = parsed.validate(total).map_err(|_| ApiError::RangeNotSatisfiable { total_len: total })?;
    match ranges.as_slice() {
        [only] => Ok(Some(ByteRange { start: *only.start(), end: *only.end() })),
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_flick_names_are_served() {
        assert_eq!(classify("master.m3u8"), Some(HlsFile::Playlist));
        assert_eq!(classify("seg_00042.ts"), Some(HlsFile::Segment));
        for bad in ["ffmpeg.m3u8", "seg_1.ts", "seg_00001.ts.tmp", "../raw", "seg_0000a.ts", "index.m3u8.tmp", ""] {
            assert_eq!(classify(bad), None, "{bad}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 4000, failure_persistence: None, ..Default::default() })]

        /// Bounded fuzzing of the Range header: never a panic, and a range is always inside the file.
        #[test]
        fn any_range_header_resolves_inside_the_file(
            raw in "(bytes=)?[-0-9, ]{0,24}|\\PC{0,40}",
            total in proptest::prop_oneof![0u64..1000, proptest::prelude::any::<u64>()],
        ) {
            if let Ok(Some(r)) = requested_range(&raw, total) {
                proptest::prop_assert!(r.start <= r.end && r.end < total, "{raw:?} of {total}: {r:?}");
            }
        }
    }

    #[test]
    fn ranges_resolve_against_length() {
        assert_eq!(requested_range("bytes=0-9", 100).unwrap(), Some(ByteRange { start: 0, end: 9 }));
        assert_eq!(requested_range("bytes=90-", 100).unwrap(), Some(ByteRange { start: 90, end: 99 }));
        assert_eq!(requested_range("bytes=-10", 100).unwrap(), Some(ByteRange { start: 90, end: 99 }));
        assert!(requested_range("bytes=200-300", 100).is_err());
        assert_eq!(requested_range("nonsense", 100).unwrap(), None);
        assert_eq!(requested_range("bytes=0-1,5-6", 100).unwrap(), None);
    }
}
