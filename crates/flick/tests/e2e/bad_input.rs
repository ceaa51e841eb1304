//! Bad uploads get clear errors and leave nothing behind.

use std::time::Duration;

use crate::common::*;
use futures_util::stream;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_uploads_are_refused_clearly() {
    let server = Server::start(&[]);
    let cases: &[(&str, &str, u16, &str)] = &[
        ("empty.mp4", "empty.mp4", 400, "empty_file"),
        ("text.mp4", "notes.mp4", 415, "unsupported_media_type"),
        ("random.mp4", "noise.mp4", 415, "unsupported_media_type"),
        ("h264_aac_faststart.mp4", "clip.txt", 415, "unsupported_media_type"),
        ("h264_aac_faststart.mp4", "clip.exe", 415, "unsupported_media_type"),
    ];
    for (fixture_name, name, want_status, want_code) in cases {
        let (code, body) = upload(&server, &fixture(fixture_name), name).await;
        assert_eq!(code, *want_status, "{fixture_name} as {name}: {body}");
        assert_eq!(body["error"]["code"], *want_code, "{body}");
        assert!(body["error"]["message"].as_str().is_some_and(|m| m.len() > 10), "{body}");
    }
    assert!(blob_keys(&server.data_dir).await.is_empty(), "{:?}", blob_keys(&server.data_dir).await);
    assert!(files_under(&server.data_dir.join("tmp")).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unprocessable_files_end_as_error_with_a_reason() {
    let server = Server::start(&[]);
    for (fixture_name, name) in [("truncated.mp4", "cut.mp4"), ("audio_only.mp4", "song.mp4")] {
        let (code, body) = upload(&server, &fixture(fixture_name), name).await;
        assert_eq!(code, 201, "{fixture_name}: {body}");
        let id = body["id"].as_str().unwrap().to_owned();
        let v = wait_done(&server, &id, Duration::from_secs(60)).await;
        assert_eq!(v["status"], "error", "{fixture_name}: {v}");
        assert_eq!(v["playable"], false);
        let message = v["error"]["message"].as_str().unwrap_or_default();
        assert!(message.len() > 10, "{fixture_name}: unclear reason {v}");
        assert!(v["error"]["code"].as_str().is_some_and(|c| !c.is_empty()));
        // Nothing of it is served.
        let r = client().get(server.url(&format!("/streams/{id}/master.m3u8"))).send().await.unwrap();
        assert_eq!(r.status(), 404);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_limit_upload_without_length_gets_413_and_leaves_nothing() {
    let server = Server::start(&[("FLICK_UPLOAD__MAX_BYTES", "1000000")]);
    let seed = tokio::fs::read(fixture("h264_aac_faststart.mp4")).await.unwrap();
    // A chunked body (no Content-Length) that keeps going past the limit.
    let head = bytes::Bytes::from(seed[..64 * 1024].to_vec());
    let chunks: Vec<Result<bytes::Bytes, std::io::Error>> = (0..40).map(|_| Ok(head.clone())).collect();
    let resp = client()
        .post(server.url("/api/upload?filename=big.mp4"))
        .body(reqwest::Body::wrap_stream(stream::iter(chunks)))
        .send()
        .await;
    // The server answers as soon as the limit is crossed; the client may see the answer or a reset.
    if let Ok(resp) = resp {
        assert_eq!(resp.status(), 413);
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["code"], "too_large");
    }
    // A declared length over the limit is refused before any byte is read.
    let resp = client()
        .post(server.url("/api/upload?filename=big.mp4"))
        .header("content-length", "2000000")
        .body(vec![0u8; 2_000_000])
        .send()
        .await;
    if let Ok(resp) = resp {
        assert_eq!(resp.status(), 413);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(files_under(&server.data_dir.join("tmp")).is_empty(), "{:?}", files_under(&server.data_dir.join("tmp")));
    assert!(blob_keys(&server.data_dir).await.is_empty(), "{:?}", blob_keys(&server.data_dir).await);
    // The server is still healthy.
    let r = client().get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_and_nameless_uploads_work() {
    let server = Server::start(&[]);
    let bytes = tokio::fs::read(fixture("h264_aac.mkv")).await.unwrap();
    let form = reqwest::multipart::Form::new()
        .part("file", reqwest::multipart::Part::bytes(bytes.clone()).file_name("holiday.mkv"));
    let resp = client().post(server.url("/api/upload")).multipart(form).send().await.unwrap();
    assert_eq!(resp.status(), 201);
    let body: serde_json::Value = resp.json().await.unwrap();
    let v = status(&server, body["id"].as_str().unwrap()).await;
    assert_eq!(v["title"], "holiday");

    // No name at all: the type is judged from the content.
    let resp = client().post(server.url("/api/upload")).body(bytes).send().await.unwrap();
    assert_eq!(resp.status(), 201);
}

/// A person who mistypes a page gets the web app's "not found" page (HTML, 404); programs asking the API, streams or
/// assets for something unknown keep the JSON error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_pages_are_html_and_unknown_api_paths_json() {
    let server = Server::start(&[]);
    for path in ["/nope", "/videos/123", "/v/abc/extra", "/library/x"] {
        let r = client().get(server.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 404, "{path}");
        let kind = r.headers()[reqwest::header::CONTENT_TYPE].to_str().unwrap().to_owned();
        assert!(kind.starts_with("text/html"), "{path}: {kind}");
        assert!(r.text().await.unwrap().contains("<title>Not found · Flick</title>"), "{path}");
    }
    for path in ["/api/nope", "/streams/abc", "/streams/abc/def/ghi/jkl", "/assets/nope.js", "/thumbnails/a/b"] {
        let r = client().get(server.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 404, "{path}");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], "not_found", "{path}");
    }
    let r = client().post(server.url("/nope")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.json::<serde_json::Value>().await.unwrap()["error"]["code"], "not_found", "not a page: JSON");
}

/// `curl -T clip.mp4 URL` names nothing: the video is named by its date; a `Content-Disposition` name is used.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_raw_upload_is_named_by_its_disposition_or_its_date() {
    let server = Server::start(&[]);
    let bytes = tokio::fs::read(fixture("h264_aac_faststart.mp4")).await.unwrap();
    let server = &server;
    let put = |disposition: Option<&str>| {
        let mut request = client().put(server.url("/api/upload")).body(bytes.clone());
        if let Some(d) = disposition {
            request = request.header(reqwest::header::CONTENT_DISPOSITION, d);
        }
        async move {
            let r = request.send().await.unwrap();
            assert_eq!(r.status(), 201);
            let body: serde_json::Value = r.json().await.unwrap();
            status(server, body["id"].as_str().unwrap()).await["title"].as_str().unwrap().to_owned()
        }
    };
    assert_eq!(put(Some("attachment; filename=\"Beach day.mp4\"")).await, "Beach day");
    assert_eq!(put(Some("attachment; filename*=UTF-8''%C3%A9t%C3%A9.mp4")).await, "été");
    let dated = put(None).await;
    let year = chrono::Utc::now().format("%Y").to_string();
    assert!(dated.starts_with("Video of ") && dated.contains(&year) && dated.ends_with(" UTC"), "{dated}");
}
