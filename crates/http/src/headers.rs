//! Cross-cutting response headers and the per-request tracing span.

use std::time::Instant;

use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use flick_domain::VideoId;
use tracing::Instrument;

/// The Content-Security-Policy of every HTML page: nothing from third parties, no framing.
pub const PAGE_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
media-src 'self' blob:; connect-src 'self'; worker-src 'self' blob:; object-src 'none'; base-uri 'none'; \
form-action 'self'; frame-ancestors 'none'";

/// The CSP of the embeddable player (`/embed/{id}`): the page's, but any site may frame it.
pub const EMBED_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
media-src 'self' blob:; connect-src 'self'; worker-src 'self' blob:; object-src 'none'; base-uri 'none'; \
form-action 'self'; frame-ancestors *";

/// Adds the headers every response carries; pages also get the CSP.
pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert("x-robots-tag", HeaderValue::from_static("noindex, nofollow"));
    let is_html = h.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("text/html"));
    // A page that set its own policy (the embeddable player) keeps it, and may be framed.
    if is_html && !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(PAGE_CSP));
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    response
}

/// One span per request, carrying the video id when the path names one (a share link's handler replaces it with the
/// video's storage id once it has found the video, so that requests and jobs log the same id).
pub async fn request_span(request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let video_id = video_id_in_path(&path).map(|id| id.to_string()).unwrap_or_default();
    let span = tracing::info_span!("request", method = %request.method(), path = %path, video_id = %video_id);
    async move {
        let started = Instant::now();
        let response = next.run(request).await;
        tracing::info!(status = response.status().as_u16(), ms = started.elapsed().as_millis() as u64, "served");
        response
    }
    .instrument(span)
    .await
}

/// The first path segment (or `{id}.jpg`) that parses as a video id.
fn video_id_in_path(path: &str) -> Option<VideoId> {
    path.split('/').find_map(|seg| VideoId::parse(seg.strip_suffix(".jpg").unwrap_or(seg)).ok())
}
