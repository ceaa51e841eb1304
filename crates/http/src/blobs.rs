//! Answering with a blob: whole or a single byte range (206, 416), streamed, with its type and cache policy.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use flick_domain::ports::{BlobKey, ByteRange, ByteStream};
use futures_util::StreamExt;

use crate::error::ApiError;
use crate::state::AppState;

/// Blobs that change (playlists while a video grows, downloads): never reused without asking.
pub const GROWING: &str = "no-cache";

/// Streams a blob, honouring a single-range `Range` header (multi-range requests get the whole blob).
pub(crate) async fn serve_blob(
    state: &AppState,
    key: &BlobKey,
    headers: &HeaderMap,
    content_type: &'static str,
    cache: &'static str,
) -> Result<Response, ApiError> {
    let range = match headers.get(header::RANGE) {
        None => None,
        Some(_) => {
            let total = state.store.len(key).await?.ok_or(ApiError::NotFound)?;
            requested(headers, total)?
        }
    };
    let blob = state.store.get(key, range).await?.ok_or(ApiError::NotFound)?;
    Ok(stream_response(blob.body, blob.total_len, blob.range, content_type, cache))
}

/// A whole body held in memory.
pub(crate) fn bytes_response(bytes: Bytes, content_type: &'static str, cache: &'static str) -> Response {
    let mut response = Response::new(Body::from(bytes));
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}

/// A streamed body of `total` bytes, or of `range` of them (206).
pub(crate) fn stream_response(
    body: ByteStream,
    total: u64,
    range: Option<ByteRange>,
    content_type: &'static str,
    cache: &'static str,
) -> Response {
    let (status, length) = match range {
        Some(r) => (StatusCode::PARTIAL_CONTENT, r.end - r.start + 1),
        None => (StatusCode::OK, total),
    };
    let mut response = Response::new(Body::from_stream(body));
    *response.status_mut() = status;
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    if let Some(r) = range
        && let Ok(v) = HeaderValue::from_str(&format!("bytes {}-{}/{total}", r.start, r.end))
    {
        h.insert(header::CONTENT_RANGE, v);
    }
    response.into_response()
}

/// The range a request's `Range` header asks of `total` bytes, if any.
pub(crate) fn requested(headers: &HeaderMap, total: u64) -> Result<Option<ByteRange>, ApiError> {
    match headers.get(header::RANGE).and_then(|v| v.to_str().ok()) {
        None => Ok(None),
        Some(raw) => requested_range(raw, total),
    }
}

/// Resolves a `Range` header against a body of `total` bytes (RFC 9110 §14).
/// Syntactically invalid headers are ignored (whole body); unsatisfiable ones are 416.
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

/// The `len` bytes of `body` that start at `skip`.
pub(crate) fn slice(body: ByteStream, skip: u64, len: u64) -> ByteStream {
    let stream = futures_util::stream::unfold((body, skip, len), |(mut body, mut skip, mut left)| async move {
        while left > 0 {
            let mut chunk = match body.next().await? {
                Ok(c) => c,
                Err(e) => return Some((Err(e), (body, 0, 0))),
            };
            if skip >= chunk.len() as u64 {
                skip -= chunk.len() as u64;
                continue;
            }
            let mut piece = chunk.split_off(skip as usize);
            skip = 0;
            piece.truncate(usize::try_from(left).unwrap_or(usize::MAX).min(piece.len()));
            left -= piece.len() as u64;
            return Some((Ok(piece), (body, skip, left)));
        }
        None
    });
    Box::pin(stream)
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[tokio::test]
    async fn slices_cut_across_chunks() {
        let chunks: Vec<std::io::Result<Bytes>> =
            vec![Ok(Bytes::from_static(b"abc")), Ok(Bytes::from_static(b"defg")), Ok(Bytes::from_static(b"hij"))];
        let body: ByteStream = Box::pin(futures_util::stream::iter(chunks));
        let out: Vec<u8> = slice(body, 2, 6).map(|c| c.unwrap().to_vec()).concat().await;
        assert_eq!(out, b"cdefgh");
    }
}
