//! The router in-process (`router(state).oneshot(request)`, no socket): how failures map to a status and a JSON body,
//! Range answers, and the tus protocol's headers — against real storage (SQLite and the local disk in a temporary
//! folder) opened the way `flick serve` opens it, without workers.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use flick_domain::config::Config;
use flick_domain::{ShareId, VideoStatus, VideoUpdate};
use serde_json::Value;
use tower::ServiceExt;

use crate::serve::app_state;
use crate::wiring::Wiring;

/// A Flick on a temporary folder; the router and what it was built from.
struct App {
    wiring: Wiring,
    router: axum::Router,
    _dir: tempfile::TempDir,
}

async fn app() -> App {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.storage.data_dir = dir.path().join("data");
    config.processing.workers = 0;
    config.processing.ladder_workers = 0;
    let wiring = Wiring::open(config.clone()).await.unwrap();
    let router = flick_http::router(app_state(&wiring, config, flick_http::WebUi::from_config(None)));
    App { wiring, router, _dir: dir }
}

/// What a request got back: status, headers and body.
struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    /// Asserts the error shape: this status, JSON `{"error": {"code", "message"}}` with this code.
    fn is_error(&self, status: StatusCode, code: &str) {
        assert_eq!(self.status, status, "{}", String::from_utf8_lossy(&self.body));
        assert!(self.header("content-type").starts_with("application/json"), "{:?}", self.headers);
        let body = self.json();
        assert_eq!(body["error"]["code"], code, "{body}");
        assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    }
}

impl App {
    async fn send(&self, request: Request<Body>) -> Answer {
        let mut request = request;
        request.extensions_mut().insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40_000))));
        let response = self.router.clone().oneshot(request).await.unwrap();
        let (parts, body) = response.into_parts();
        Answer {
            status: parts.status,
            headers: parts.headers,
            body: axum::body::to_bytes(body, usize::MAX).await.unwrap().to_vec(),
        }
    }

    async fn get(&self, path: &str) -> Answer {
        self.send(Request::get(path).body(Body::empty()).unwrap()).await
    }
}

/// A real video file (the fixtures `make fixtures` derives), or a few bytes of one where they are not made.
fn clip() -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/fixtures/h264_aac_faststart.mp4");
    std::fs::read(path).unwrap_or_else(|_| {
        // An MP4's first box: enough for the upload's sniffing (nothing processes it here).
        let mut head = vec![0, 0, 0, 24];
        head.extend_from_slice(b"ftypisom\0\0\x02\0isomiso2");
        head.resize(4096, 0);
        head
    })
}

async fn upload(app: &App, bytes: Vec<u8>) -> Value {
    let request = Request::put("/api/upload?filename=clip.mp4").body(Body::from(bytes)).unwrap();
    let answer = app.send(request).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&answer.body));
    answer.json()
}

#[tokio::test]
async fn failures_map_to_a_status_and_a_json_error() {
    let app = app().await;
    app.get("/api/video/not-an-id").await.is_error(StatusCode::NOT_FOUND, "not_found");
    app.get(&format!("/api/video/{}", ShareId::new())).await.is_error(StatusCode::NOT_FOUND, "not_found");
    let empty = app.send(Request::put("/api/upload?filename=a.mp4").body(Body::empty()).unwrap()).await;
    empty.is_error(StatusCode::BAD_REQUEST, "empty_file");
    let text =
        Request::put("/api/upload?filename=a.mp4").body(Body::from("This is not a video.\n".repeat(40))).unwrap();
    app.send(text).await.is_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");

    let video = upload(&app, clip()).await;
    let (id, token) = (video["id"].as_str().unwrap(), video["manageToken"].as_str().unwrap());
    let patch = |token: Option<&str>, body: &str| {
        let mut request = Request::patch(format!("/api/video/{id}")).header(header::CONTENT_TYPE, "application/json");
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        request.body(Body::from(body.to_owned())).unwrap()
    };
    app.send(patch(None, "{}")).await.is_error(StatusCode::UNAUTHORIZED, "unauthorized");
    app.send(patch(Some("0123456789abcdef"), "{}")).await.is_error(StatusCode::FORBIDDEN, "forbidden");
    app.send(patch(Some(token), "[1, 2]")).await.is_error(StatusCode::BAD_REQUEST, "bad_request");
    app.send(patch(Some(token), r#"{"maxViews": 0}"#)).await.is_error(StatusCode::BAD_REQUEST, "invalid_max_views");
    let caption = Request::post(format!("/api/video/{id}/captions?lang=english"))
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::from("1\n00:00:01,000 --> 00:00:02,000\nHi\n"))
        .unwrap();
    app.send(caption).await.is_error(StatusCode::BAD_REQUEST, "invalid_caption_lang");
    // A page a person asks for is HTML; a program's path keeps JSON.
    let page = app.get("/no/such/page").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(page.header("content-type").starts_with("text/html"));
    app.get("/streams/x/y/z/w").await.is_error(StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn a_download_answers_ranges_with_206_and_416() {
    let app = app().await;
    let bytes = clip();
    let video = upload(&app, bytes.clone()).await;
    let (id, token) = (video["id"].as_str().unwrap(), video["manageToken"].as_str().unwrap());
    // No worker here: the video is made ready by hand (its original is what a download hands out).
    let share = ShareId::parse(id).unwrap();
    let stored = app.wiring.db.get_video_by_share(share).await.unwrap().unwrap();
    let ready = VideoUpdate { status: Some(VideoStatus::Ready), ..Default::default() };
    assert!(app.wiring.db.update_video(stored.id, &ready).await.unwrap());
    let allow = Request::patch(format!("/api/video/{id}"))
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::from(r#"{"allowDownload": true}"#))
        .unwrap();
    assert_eq!(app.send(allow).await.status, StatusCode::OK);

    let ranged = |range: &str| {
        Request::get(format!("/v/{id}/download")).header(header::RANGE, range.to_owned()).body(Body::empty()).unwrap()
    };
    let part = app.send(ranged("bytes=10-19")).await;
    assert_eq!(part.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(part.header("content-range"), format!("bytes 10-19/{}", bytes.len()));
    assert_eq!(part.body, bytes[10..20]);
    let tail = app.send(ranged("bytes=-5")).await;
    assert_eq!((tail.status, tail.body.as_slice()), (StatusCode::PARTIAL_CONTENT, &bytes[bytes.len() - 5..]));
    let outside = app.send(ranged(&format!("bytes={}-", bytes.len() + 10))).await;
    outside.is_error(StatusCode::RANGE_NOT_SATISFIABLE, "range_not_satisfiable");
    assert_eq!(outside.header("content-range"), format!("bytes */{}", bytes.len()));
    let whole = app.get(&format!("/v/{id}/download")).await;
    assert_eq!((whole.status, whole.body.len()), (StatusCode::OK, bytes.len()));
    assert_eq!(whole.header("accept-ranges"), "bytes");
}

#[tokio::test]
async fn tus_answers_with_its_headers() {
    let app = app().await;
    let options = app.send(Request::options("/api/uploads").body(Body::empty()).unwrap()).await;
    assert_eq!(options.status, StatusCode::NO_CONTENT);
    assert_eq!(options.header("tus-version"), "1.0.0");
    assert_eq!(options.header("tus-resumable"), "1.0.0");
    assert!(options.header("tus-extension").split(',').any(|e| e == "creation"), "{:?}", options.headers);
    assert!(options.header("tus-max-size").parse::<u64>().is_ok_and(|n| n > 0));

    let without_version = Request::post("/api/uploads").header("upload-length", "100").body(Body::empty()).unwrap();
    let refused = app.send(without_version).await;
    refused.is_error(StatusCode::PRECONDITION_FAILED, "unsupported_tus_version");
    assert_eq!(refused.header("tus-version"), "1.0.0");

    let create = Request::post("/api/uploads")
        .header("tus-resumable", "1.0.0")
        .header("upload-length", "4096")
        .header("upload-metadata", "filename Y2xpcC5tcDQ=")
        .body(Body::empty())
        .unwrap();
    let created = app.send(create).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&created.body));
    let location = created.header("location").to_owned();
    assert!(location.contains("/api/uploads/"), "{location}");
    let path = location.split_once("/api/uploads/").map(|(_, id)| format!("/api/uploads/{id}")).unwrap();
    let head = Request::head(&path).header("tus-resumable", "1.0.0").body(Body::empty()).unwrap();
    let head = app.send(head).await;
    assert_eq!(head.status, StatusCode::OK);
    assert_eq!((head.header("upload-offset"), head.header("upload-length")), ("0", "4096"));
    assert_eq!(head.header("cache-control"), "no-store");
    let wrong_offset = Request::patch(&path)
        .header("tus-resumable", "1.0.0")
        .header("upload-offset", "7")
        .header(header::CONTENT_TYPE, "application/offset+octet-stream")
        .body(Body::from(vec![0u8; 10]))
        .unwrap();
    app.send(wrong_offset).await.is_error(StatusCode::CONFLICT, "offset_mismatch");
}
