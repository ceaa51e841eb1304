//! tus request headers: parsing and validation, and the `Tus-Resumable` check every request passes.

use std::time::SystemTime;

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};
use sha1::Digest;

use crate::error::ApiError;

/// The protocol version Flick speaks (and the only one).
pub const TUS_VERSION: &str = "1.0.0";
/// The extensions announced by `OPTIONS`.
pub const TUS_EXTENSIONS: &str = "creation,creation-with-upload,termination,expiration,checksum,concatenation";
/// The checksum algorithms accepted in `Upload-Checksum`.
pub const TUS_CHECKSUMS: &str = "sha1,md5,sha256";
/// The content type of every chunk.
pub const OFFSET_OCTET_STREAM: &str = "application/offset+octet-stream";
/// `Upload-Metadata` longer than this is refused: it is stored and echoed, and names are short.
const MAX_METADATA_LEN: usize = 4096;

pub const TUS_RESUMABLE: HeaderName = HeaderName::from_static("tus-resumable");
pub const TUS_VERSION_H: HeaderName = HeaderName::from_static("tus-version");
pub const TUS_EXTENSION: HeaderName = HeaderName::from_static("tus-extension");
pub const TUS_MAX_SIZE: HeaderName = HeaderName::from_static("tus-max-size");
pub const TUS_CHECKSUM_ALGORITHM: HeaderName = HeaderName::from_static("tus-checksum-algorithm");
pub const UPLOAD_OFFSET: HeaderName = HeaderName::from_static("upload-offset");
pub const UPLOAD_LENGTH: HeaderName = HeaderName::from_static("upload-length");
pub const UPLOAD_DEFER_LENGTH: HeaderName = HeaderName::from_static("upload-defer-length");
pub const UPLOAD_METADATA: HeaderName = HeaderName::from_static("upload-metadata");
pub const UPLOAD_EXPIRES: HeaderName = HeaderName::from_static("upload-expires");
pub const UPLOAD_CHECKSUM: HeaderName = HeaderName::from_static("upload-checksum");
pub const UPLOAD_CONCAT: HeaderName = HeaderName::from_static("upload-concat");
pub const FLICK_MANAGE_TOKEN: HeaderName = HeaderName::from_static("flick-manage-token");
pub const FLICK_SHARE_URL: HeaderName = HeaderName::from_static("flick-share-url");
pub const FLICK_STATUS_URL: HeaderName = HeaderName::from_static("flick-status-url");
/// Flick's extension at creation: the file's bytes from this offset to the end (its MP4 index) are sent first.
pub const FLICK_INDEX_OFFSET: HeaderName = HeaderName::from_static("flick-index-offset");

/// Middleware of the tus routes: every request but `OPTIONS` must say `Tus-Resumable: 1.0.0` (else 412), and
/// every response says it too, errors included.
pub async fn tus_resumable(request: Request, next: Next) -> Response {
    let version_ok = request.method() == Method::OPTIONS
        || request.headers().get(&TUS_RESUMABLE).is_some_and(|v| v.as_bytes() == TUS_VERSION.as_bytes());
    let mut response = if version_ok { next.run(request).await } else { ApiError::TusVersion.into_response() };
    let h = response.headers_mut();
    h.insert(TUS_RESUMABLE, HeaderValue::from_static(TUS_VERSION));
    if !version_ok {
        h.insert(TUS_VERSION_H, HeaderValue::from_static(TUS_VERSION));
    }
    response
}

/// A header that must be a non-negative decimal integer.
fn number(headers: &HeaderMap, name: &HeaderName) -> Result<Option<u64>, ApiError> {
    let Some(value) = headers.get(name) else { return Ok(None) };
    let text = value.to_str().unwrap_or("");
    // u64::from_str takes a leading '+', which the protocol does not.
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::BadRequest(format!("{name} must be a non-negative integer")));
    }
    text.parse().map(Some).map_err(|_| ApiError::BadRequest(format!("{name} is too large")))
}

/// `Upload-Length` (required at creation).
pub fn upload_length(headers: &HeaderMap) -> Result<u64, ApiError> {
    if headers.contains_key(&UPLOAD_DEFER_LENGTH) {
        return Err(ApiError::BadRequest("Upload-Defer-Length is not supported: send Upload-Length".into()));
    }
    number(headers, &UPLOAD_LENGTH)?.ok_or_else(|| ApiError::BadRequest("Upload-Length is required".into()))
}

/// `Upload-Offset` (required on `PATCH`).
pub fn upload_offset(headers: &HeaderMap) -> Result<u64, ApiError> {
    number(headers, &UPLOAD_OFFSET)?.ok_or_else(|| ApiError::BadRequest("Upload-Offset is required".into()))
}

/// `Flick-Index-Offset` at creation: where the first-sent tail starts in a file of `length` bytes. It must leave both
/// parts non-empty and the tail no longer than `max_tail` (an MP4 index, not the media).
pub fn index_offset(headers: &HeaderMap, length: u64, max_tail: u64) -> Result<Option<u64>, ApiError> {
    let Some(m) = number(headers, &FLICK_INDEX_OFFSET)? else { return Ok(None) };
    if m == 0 || m >= length {
        return Err(ApiError::BadRequest(format!("Flick-Index-Offset must be between 1 and {}", length - 1)));
    }
    if length - m > max_tail {
        return Err(ApiError::BadRequest(format!(
            "the index sent first (from Flick-Index-Offset to the end) may be at most {max_tail} bytes"
        )));
    }
    Ok(Some(m))
}

/// `Content-Length`, when the client sent one.
pub fn content_length(headers: &HeaderMap) -> Result<Option<u64>, ApiError> {
    number(headers, &axum::http::header::CONTENT_LENGTH)
}

/// Whether the request body is a chunk (`Content-Type: application/offset+octet-stream`).
pub fn is_chunk(headers: &HeaderMap) -> bool {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(OFFSET_OCTET_STREAM))
}

/// What `Upload-Metadata` says that Flick uses; the raw header is kept to be echoed.
#[derive(Debug, Default, PartialEq)]
pub struct Metadata {
    pub raw: Option<String>,
    pub filename: Option<String>,
    pub filetype: Option<String>,
}

/// Parses `Upload-Metadata`: comma-separated `key base64value` pairs (the value may be absent).
pub fn metadata(headers: &HeaderMap) -> Result<Metadata, ApiError> {
    let Some(value) = headers.get(&UPLOAD_METADATA) else { return Ok(Metadata::default()) };
    let bad = |why: &str| ApiError::BadRequest(format!("malformed Upload-Metadata: {why}"));
    let raw = value.to_str().map_err(|_| bad("not ASCII"))?;
    if raw.len() > MAX_METADATA_LEN {
        return Err(bad("too long"));
    }
    let mut out = Metadata { raw: Some(raw.to_owned()).filter(|r| !r.trim().is_empty()), ..Metadata::default() };
    for pair in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let mut parts = pair.split(' ').filter(|p| !p.is_empty());
        let key = parts.next().unwrap_or_default();
        let encoded = parts.next().unwrap_or_default();
        if parts.next().is_some() {
            return Err(bad("a pair has more than a key and a value"));
        }
        let decoded = BASE64.decode(encoded).map_err(|_| bad("a value is not base64"))?;
        let text = || String::from_utf8(decoded.clone()).map_err(|_| bad("a value is not UTF-8"));
        match key {
            "filename" | "name" if out.filename.is_none() => out.filename = Some(text()?),
            "filetype" | "type" if out.filetype.is_none() => out.filetype = Some(text()?),
            _ => {}
        }
    }
    Ok(out)
}

/// A checksum the client announced for one chunk, and the running hash of what arrives.
pub struct Checksum {
    expected: Vec<u8>,
    hasher: Hasher,
}

enum Hasher {
    Sha1(sha1::Sha1),
    Md5(md5::Md5),
    Sha256(sha2::Sha256),
}

impl Checksum {
    /// Feeds received bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        match &mut self.hasher {
            Hasher::Sha1(h) => h.update(bytes),
            Hasher::Md5(h) => h.update(bytes),
            Hasher::Sha256(h) => h.update(bytes),
        }
    }

    /// Whether what was fed hashes to the announced value.
    pub fn matches(self) -> bool {
        let actual = match self.hasher {
            Hasher::Sha1(h) => h.finalize().to_vec(),
            Hasher::Md5(h) => h.finalize().to_vec(),
            Hasher::Sha256(h) => h.finalize().to_vec(),
        };
        flick_domain::ids::constant_time_eq(&actual, &self.expected)
    }
}

/// `Upload-Checksum: <algorithm> <base64 digest>`, if sent. An unknown algorithm is a 400, as the spec asks.
pub fn checksum(headers: &HeaderMap) -> Result<Option<Checksum>, ApiError> {
    let Some(value) = headers.get(&UPLOAD_CHECKSUM) else { return Ok(None) };
    let bad = |why: &str| ApiError::BadRequest(format!("malformed Upload-Checksum: {why}"));
    let text = value.to_str().map_err(|_| bad("not ASCII"))?;
    let (algorithm, encoded) = text.trim().split_once(' ').ok_or_else(|| bad("expected \"<algorithm> <base64>\""))?;
    let expected = BASE64.decode(encoded.trim()).map_err(|_| bad("the digest is not base64"))?;
    let hasher = match algorithm.to_ascii_lowercase().as_str() {
        "sha1" => Hasher::Sha1(sha1::Sha1::new()),
        "md5" => Hasher::Md5(md5::Md5::new()),
        "sha256" => Hasher::Sha256(sha2::Sha256::new()),
        other => return Err(ApiError::BadRequest(format!("checksum algorithm {other:?} is not supported"))),
    };
    Ok(Some(Checksum { expected, hasher }))
}

/// An instant as an HTTP date (RFC 7231 IMF-fixdate), for `Upload-Expires`.
pub fn http_date(at: DateTime<Utc>) -> HeaderValue {
    let text = httpdate::fmt_http_date(SystemTime::from(at));
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("Thu, 01 Jan 1970 00:00:00 GMT"))
}

/// A number as a header value.
pub fn number_value(n: u64) -> HeaderValue {
    HeaderValue::from(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(HeaderName::from_static(k), HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn metadata_is_decoded_and_checked() {
        let m =
            metadata(&headers(&[("upload-metadata", "filename Y2xpcC5tcDQ=,filetype dmlkZW8vbXA0,empty")])).unwrap();
        assert_eq!(m.filename.as_deref(), Some("clip.mp4"));
        assert_eq!(m.filetype.as_deref(), Some("video/mp4"));
        assert!(metadata(&headers(&[("upload-metadata", "filename not*base64")])).is_err());
        assert!(metadata(&headers(&[("upload-metadata", "filename a b")])).is_err());
        assert_eq!(metadata(&HeaderMap::new()).unwrap(), Metadata::default());
    }

    #[test]
    fn numbers_are_strict() {
        assert_eq!(upload_offset(&headers(&[("upload-offset", "42")])).unwrap(), 42);
        for bad in ["", "-1", "+1", "1.0", "0x10", "99999999999999999999999"] {
            assert!(upload_offset(&headers(&[("upload-offset", bad)])).is_err(), "{bad:?}");
        }
        assert!(upload_length(&headers(&[("upload-defer-length", "1")])).is_err());
    }

    #[test]
    fn index_offsets_are_checked_against_the_length() {
        assert_eq!(index_offset(&HeaderMap::new(), 100, 50).unwrap(), None);
        assert_eq!(index_offset(&headers(&[("flick-index-offset", "80")]), 100, 50).unwrap(), Some(80));
        for bad in ["0", "100", "101", "10", "-1", "x"] {
            assert!(index_offset(&headers(&[("flick-index-offset", bad)]), 100, 50).is_err(), "{bad}");
        }
    }

    #[test]
    fn checksums_verify() {
        // sha1("abc")
        let mut c = checksum(&headers(&[("upload-checksum", "sha1 qZk+NkcGgWq6PiVxeFDCbJzQ2J0=")])).unwrap().unwrap();
        c.update(b"ab");
        c.update(b"c");
        assert!(c.matches());
        let mut c = checksum(&headers(&[("upload-checksum", "sha1 qZk+NkcGgWq6PiVxeFDCbJzQ2J0=")])).unwrap().unwrap();
        c.update(b"abd");
        assert!(!c.matches());
        assert!(checksum(&headers(&[("upload-checksum", "crc32 AAAA")])).is_err());
    }

    // Fuzzing: these parsers read headers any client can send.
    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 3000, failure_persistence: None, ..Default::default() })]

        #[test]
        fn metadata_never_panics_and_round_trips_names(raw in "[ -~]{0,300}", name in "[^\\x00-\\x1f]{0,40}") {
            // Arbitrary visible ASCII: parsed or refused, never a panic.
            if let Ok(v) = HeaderValue::from_str(&raw) {
                let mut h = HeaderMap::new();
                h.insert(UPLOAD_METADATA, v);
                let _ = metadata(&h);
            }
            // Any UTF-8 name, encoded as a client would, comes back unchanged.
            let encoded = format!("filename {},filetype {}", BASE64.encode(name.as_bytes()), BASE64.encode(b"video/mp4"));
            let h = headers(&[("upload-metadata", encoded.as_str())]);
            let parsed = metadata(&h).map_err(|e| proptest::test_runner::TestCaseError::fail(e.to_string()))?;
            proptest::prop_assert_eq!(parsed.filename.as_deref(), Some(name.as_str()));
            proptest::prop_assert_eq!(parsed.filetype.as_deref(), Some("video/mp4"));
        }

        #[test]
        fn offsets_are_plain_decimal_or_refused(raw in "[ -~]{0,30}") {
            if let Ok(v) = HeaderValue::from_str(&raw) {
                let mut h = HeaderMap::new();
                h.insert(UPLOAD_OFFSET, v);
                match upload_offset(&h) {
                    Ok(n) => {
                        proptest::prop_assert!(raw.bytes().all(|b| b.is_ascii_digit()), "{raw:?} accepted");
                        proptest::prop_assert_eq!(raw.parse::<u64>().ok(), Some(n));
                    }
                    Err(_) => proptest::prop_assert!(raw.parse::<u64>().is_err() || raw.starts_with('+') || raw.trim() != raw),
                }
            }
        }

        #[test]
        fn checksums_never_panic(raw in "[ -~]{0,120}", data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64)) {
            if let Ok(v) = HeaderValue::from_str(&raw) {
                let mut h = HeaderMap::new();
                h.insert(UPLOAD_CHECKSUM, v);
                if let Ok(Some(mut c)) = checksum(&h) {
                    c.update(&data);
                    let _ = c.matches();
                }
            }
        }
    }
}
