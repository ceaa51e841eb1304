//! Pages: the web app's entry points (`/`, `/library`, `/v/{id}` with link-preview tags), its assets,
//! minimal built-in fallbacks when the UI is not built, and `/healthz`.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Response};
use flick_domain::Video;

use crate::error::ApiError;
use crate::links::Links;
use crate::state::AppState;
use crate::videos::{display_title, load};
use crate::web::content_type;

/// `GET /healthz`
pub async fn healthz() -> impl IntoResponse {
    ([(header::CACHE_CONTROL, "no-store")], "ok")
}

/// `GET /readyz`: 200 when the database answers a trivial query and the blob store takes, returns and deletes a
/// small blob (each within a few seconds); else 503 with the usual error body naming what failed. `/healthz` is
/// liveness only (the process answers), `/readyz` is for load balancers.
pub async fn readyz(State(state): State<AppState>) -> Response {
    state.ready.answer(state.repo.as_ref(), state.store.as_ref()).await
}

/// `GET /`: the web app's upload page (or a minimal form when the UI is not built).
pub async fn home(State(state): State<AppState>) -> Response {
    if let Some(html) = state.web.index_with_head("<title>Flick</title>") {
        return html_response(StatusCode::OK, html);
    }
    html_response(
        StatusCode::OK,
        page(
            "Flick",
            "",
            &format!(
                r#"<h1>Flick</h1>
<p>Upload a video (MP4, MOV, MKV or WebM) and get a private link.</p>
<form method="post" action="/api/upload" enctype="multipart/form-data">
<label for="file">Video file</label> <input id="file" name="file" type="file" accept=".mp4,.mov,.mkv,.webm,video/*" required>
<button type="submit">Upload</button>
</form>
<p>Or from a terminal: <code>curl -T clip.mp4 {base}/api/upload</code></p>
{UI_MISSING}"#,
                base = escape_html(&state.base_url)
            ),
        ),
    )
}

/// `GET /library`: the web app's "my videos" page.
pub async fn library(State(state): State<AppState>) -> Response {
    match state.web.index_with_head("<title>My videos · Flick</title>") {
        Some(html) => html_response(StatusCode::OK, html),
        None => {
            html_response(StatusCode::OK, page("My videos · Flick", "", &format!("<h1>My videos</h1>\n{UI_MISSING}")))
        }
    }
}

const UI_MISSING: &str = "<p class=\"note\">The full web app is not built into this binary. Build it with \
<code>make build</code> (or <code>cd web &amp;&amp; npm ci &amp;&amp; npm run build</code>, then rebuild Flick).</p>";

/// `GET /v/{id}`: the share page, with link-preview tags. Unknown and malformed ids get the same 404 page.
pub async fn share_page(State(state): State<AppState>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    video_page(&state, &id, &headers).await
}

/// `GET /embed/{id}`: the player alone, for an `<iframe>` on any site (the one page whose CSP allows framing; the
/// web app routes it). The same tags and the same 404 as the share page.
pub async fn embed_page(State(state): State<AppState>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let mut response = video_page(&state, &id, &headers).await;
    if response.status() == StatusCode::OK {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(crate::headers::EMBED_CSP));
    }
    response
}

/// A page about one video (the share page, the embed page): the web app, with its title and link-preview tags.
async fn video_page(state: &AppState, id: &str, headers: &HeaderMap) -> Response {
    let video = match load(state, id, headers).await {
        Ok(seen) => seen.video,
        Err(ApiError::NotFound) => return not_found_page(state),
        Err(e) => return e.into_response(),
    };
    // A protected video's page names nothing of it (nor does its preview) until the password is given.
    let protected = state.gate.check_password(headers, &video, chrono::Utc::now()).is_err();
    let title = if protected { "A private video".to_owned() } else { escape_html(&display_title(&video)) };
    let links = Links::of(video.share_id);
    let mut head = format!("<title>{title} · Flick</title>\n");
    if state.config.share.link_previews {
        let base = escape_html(&state.base_url);
        head.push_str(&format!(
            "<meta property=\"og:title\" content=\"{title}\">\n<meta property=\"og:type\" content=\"video.other\">\n\
             <meta property=\"og:url\" content=\"{base}{share}\">\n<meta property=\"og:site_name\" content=\"Flick\">\n",
            share = links.share
        ));
        if !protected {
            head.push_str(&preview_tags(&video, &links, &base, &title));
        }
    }
    if let Some(html) = state.web.index_with_head(&head) {
        return html_response(StatusCode::OK, html);
    }
    let body = format!(
        r#"<main id="player" data-id="{id}">
<h1>{title}</h1>
<video id="video" controls playsinline muted autoplay aria-label="{title}"></video>
<p id="state" role="status" aria-live="polite">Loading…</p>
{UI_MISSING}
</main>
<script src="/static/hls.light.min.js"></script>
<script src="/static/share.js"></script>"#,
        id = video.share_id,
    );
    html_response(StatusCode::OK, page_with_head(&head, &body))
}

/// What a chat app shows of an unprotected video: a description, the thumbnail (with its size and alt text), and the
/// embeddable player to play it inline.
fn preview_tags(video: &Video, links: &Links, base: &str, title: &str) -> String {
    let mut tags = String::new();
    let length = video.duration_seconds.filter(|d| d.is_finite() && *d >= 1.0).map(|d| {
        let s = d.round() as u64;
        if s >= 3600 {
            format!(" ({}:{:02}:{:02})", s / 3600, s / 60 % 60, s % 60)
        } else {
            format!(" ({}:{:02})", s / 60, s % 60)
        }
    });
    tags.push_str(&format!(
        "<meta property=\"og:description\" content=\"A video shared privately with Flick{}.\">\n",
        length.unwrap_or_default()
    ));
    // The player's size in previews: the video's shape at 640 wide at most (like the thumbnail).
    let size = match (video.width, video.height) {
        (Some(w), Some(h)) if w > 0 && h > 0 => {
            let width = w.min(640) / 2 * 2;
            Some((width, ((f64::from(width) * f64::from(h) / f64::from(w) / 2.0).round() as u32 * 2).max(2)))
        }
        _ => None,
    };
    if video.has_thumbnail {
        tags.push_str(&format!("<meta property=\"og:image\" content=\"{base}{}\">\n", links.thumbnail));
        tags.push_str(&format!("<meta property=\"og:image:alt\" content=\"A frame of {title}\">\n"));
        if let Some((w, h)) = size {
            tags.push_str(&format!(
                "<meta property=\"og:image:width\" content=\"{w}\">\n<meta property=\"og:image:height\" content=\"{h}\">\n"
            ));
        }
    }
    let embed = format!("{base}{}", links.embed);
    tags.push_str(&format!(
        "<meta property=\"og:video\" content=\"{embed}\">\n<meta property=\"og:video:secure_url\" content=\"{embed}\">\n\
         <meta property=\"og:video:type\" content=\"text/html\">\n"
    ));
    if let Some((w, h)) = size {
        tags.push_str(&format!(
            "<meta property=\"og:video:width\" content=\"{w}\">\n<meta property=\"og:video:height\" content=\"{h}\">\n"
        ));
    }
    tags.push_str(&format!(
        "<meta name=\"twitter:card\" content=\"player\">\n<meta name=\"twitter:player\" content=\"{embed}\">\n"
    ));
    if let Some((w, h)) = size {
        tags.push_str(&format!(
            "<meta name=\"twitter:player:width\" content=\"{w}\">\n<meta name=\"twitter:player:height\" content=\"{h}\">\n"
        ));
    }
    if video.has_thumbnail {
        tags.push_str(&format!("<meta name=\"twitter:image\" content=\"{base}{}\">\n", links.thumbnail));
    }
    tags
}

fn html_response(status: StatusCode, html: String) -> Response {
    (status, [(header::CACHE_CONTROL, "no-store")], Html(html)).into_response()
}

/// `GET /assets/{*path}`: the web app's built, content-hashed files.
pub async fn ui_asset(State(state): State<AppState>, Path(path): Path<String>) -> Response {
    let full = format!("assets/{path}");
    match state.web.file(&full) {
        Some(bytes) => (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, content_type(&full)),
                (header::CACHE_CONTROL, "public, max-age=31536000, immutable".to_owned()),
            ],
            bytes,
        )
            .into_response(),
        None => ApiError::NotFound.into_response(),
    }
}

/// Path prefixes whose unknown paths are for programs (players, scripts), not people: they keep the JSON 404.
const MACHINE_PREFIXES: [&str; 5] = ["api", "streams", "thumbnails", "assets", "static"];

/// Unknown paths: a top-level file of the web app's build (favicon…); else, for a page a person asked for, the
/// friendly 404 page; else the JSON 404.
pub async fn fallback(State(state): State<AppState>, method: Method, uri: Uri) -> Response {
    let path = uri.path().trim_start_matches('/');
    if !path.contains('/')
        && path != "index.html"
        && let Some(bytes) = state.web.file(path)
    {
        return (
            StatusCode::OK,
            [(header::CONTENT_TYPE, content_type(path)), (header::CACHE_CONTROL, "public, max-age=3600".to_owned())],
            bytes,
        )
            .into_response();
    }
    let first = path.split('/').next().unwrap_or("");
    if matches!(method, Method::GET | Method::HEAD) && !MACHINE_PREFIXES.contains(&first) {
        return not_found_page(&state);
    }
    ApiError::NotFound.into_response()
}

/// The 404 page: the web app (which shows its "not found" view for any path it does not know), or a built-in one.
fn not_found_page(state: &AppState) -> Response {
    let head = "<title>Not found · Flick</title>";
    match state.web.index_with_head(head) {
        Some(html) => html_response(StatusCode::NOT_FOUND, html),
        None => html_response(
            StatusCode::NOT_FOUND,
            page(
                "Not found · Flick",
                "",
                "<h1>Not found</h1><p>This page or video does not exist, or was deleted.</p>",
            ),
        ),
    }
}

fn page_with_head(head: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"robots\" content=\"noindex, nofollow\">\n<meta name=\"referrer\" content=\"no-referrer\">\n\
         {head}<link rel=\"stylesheet\" href=\"/static/style.css\">\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )
}

fn page(title: &str, extra_head: &str, body: &str) -> String {
    page_with_head(&format!("<title>{title}</title>\n{extra_head}"), body)
}

/// Escapes text for HTML element content and quoted attributes.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `GET /static/{file}`: the few files the built-in fallback pages use, compiled into the binary.
pub async fn static_asset(Path(file): Path<String>) -> Response {
    let (body, content_type): (&'static [u8], &str) = match file.as_str() {
        "share.js" => (include_bytes!("../assets/share.js"), "text/javascript; charset=utf-8"),
        "hls.light.min.js" => (include_bytes!("../assets/vendor/hls.light.min.js"), "text/javascript; charset=utf-8"),
        "style.css" => (include_bytes!("../assets/style.css"), "text/css; charset=utf-8"),
        _ => return ApiError::NotFound.into_response(),
    };
    (StatusCode::OK, [(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "public, max-age=3600")], body)
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::escape_html;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape_html(r#"<script>"x"&'y'</script>"#),
            "&lt;script&gt;&quot;x&quot;&amp;&#39;y&#39;&lt;/script&gt;"
        );
    }
}
