//! Watching while the upload is still running: the share link works from the upload's creation, the video plays
//! once its first segment's bytes are in, the playlist grows with the upload (a blocking reload is answered as soon
//! as the next segment exists) and closes when it is complete; a crash mid-upload changes no byte a viewer already
//! has; an upload cancelled, expired or deleted leaves nothing; a hostile index is refused with a clear code.

use std::time::{Duration, Instant};

use crate::common::*;
use flick_packaging::mp4::{BoxScanner, ScanState};
use reqwest::{Method, RequestBuilder, Response};
use serde_json::Value;

const TUS: &str = "1.0.0";

fn tus(server: &Server, method: Method, path: &str) -> RequestBuilder {
    client().request(method, server.url(path)).header("Tus-Resumable", TUS)
}

fn header(r: &Response, name: &str) -> String {
    r.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
}

/// Where the file's index (`moov`) starts, when it comes after the media.
fn index_offset(file: &[u8]) -> u64 {
    let (offset, after_media) = find_index(file);
    assert!(after_media, "the fixture's index is not after its media");
    offset
}

/// Where the file's index (`moov`) starts, and whether the media comes before it.
fn find_index(file: &[u8]) -> (u64, bool) {
    let mut scanner = BoxScanner::new(file.len() as u64);
    while let Some((offset, len)) = scanner.wants() {
        scanner.feed(&file[offset as usize..offset as usize + len]).unwrap();
    }
    match scanner.state() {
        ScanState::Found { moov, media_before_index, .. } => (moov.offset, media_before_index),
        other => panic!("the fixture has no index: {other:?}"),
    }
}

/// A resumable upload of `file`, sent index first when `index_first`, in transmission order.
struct Upload {
    path: String,
    id: String,
    token: String,
    /// The bytes in the order they are sent.
    sent: Vec<u8>,
    offset: usize,
}

impl Upload {
    async fn create(server: &Server, file: &[u8], name: &str, index_first: bool) -> Upload {
        let mut request = tus(server, Method::POST, "/api/uploads")
            .header("Upload-Length", file.len().to_string())
            .header("Upload-Metadata", format!("filename {}", b64(name.as_bytes())));
        let mut sent = file.to_vec();
        if index_first {
            let m = index_offset(file) as usize;
            request = request.header("Flick-Index-Offset", m.to_string());
            sent = [&file[m..], &file[..m]].concat();
        }
        let r = request.send().await.unwrap();
        assert_eq!(r.status(), 201, "{:?}", r.text().await);
        let path = header(&r, "location");
        // The link exists before a byte is sent; it names a share id, not the upload.
        let id = header(&r, "flick-share-url").trim_start_matches("/v/").to_owned();
        assert!(!path.contains(&id), "{path} vs {id}");
        assert_eq!(header(&r, "flick-status-url"), format!("/api/video/{id}"));
        Upload { path, id, token: header(&r, "flick-manage-token"), sent, offset: 0 }
    }

    /// Sends the next `len` bytes (at most what is left) in one PATCH.
    async fn send(&mut self, server: &Server, len: usize) -> Response {
        let end = (self.offset + len).min(self.sent.len());
        let r = tus(server, Method::PATCH, &self.path)
            .header("Content-Type", "application/offset+octet-stream")
            .header("Upload-Offset", self.offset.to_string())
            .body(self.sent[self.offset..end].to_vec())
            .send()
            .await
            .unwrap();
        if r.status() == 204 {
            self.offset = end;
        }
        r
    }

    fn is_done(&self) -> bool {
        self.offset == self.sent.len()
    }
}

async fn get(server: &Server, path: &str) -> (u16, Vec<u8>) {
    let r = client().get(server.url(path)).send().await.unwrap();
    (r.status().as_u16(), r.bytes().await.unwrap().to_vec())
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The segment names a playlist lists.
fn listed(playlist: &str) -> Vec<String> {
    playlist.lines().filter(|l| l.starts_with("seg_")).map(str::to_owned).collect()
}

/// Polls the status until `done` says so (20 s at most).
async fn status_until(server: &Server, id: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let start = Instant::now();
    loop {
        let v = status(server, id).await;
        if done(&v) {
            return v;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "waited for {what}: {v}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A playable, complete decode of init + segments by ffmpeg, with its duration.
fn decodes(init: &[u8], segments: &[Vec<u8>]) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("stream.mp4");
    let mut all = init.to_vec();
    for s in segments {
        all.extend_from_slice(s);
    }
    std::fs::write(&file, all).unwrap();
    let out = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-nostdin", "-i"])
        .arg(&file)
        .args(["-f", "null", "-", "-progress", "pipe:1"])
        .output()
        .unwrap();
    assert!(out.status.success(), "ffmpeg: {}", String::from_utf8_lossy(&out.stderr));
    let micros: i64 = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("out_time_us=")?.trim().parse().ok())
        .next_back()
        .unwrap();
    micros as f64 / 1e6
}

#[tokio::test]
async fn an_index_first_upload_plays_while_it_arrives_and_is_stored_unchanged() {
    let server = Server::start(&[]);
    let file = std::fs::read(fixture("h264_aac_30s.mp4")).unwrap();
    let mut up = Upload::create(&server, &file, "holiday.mp4", true).await;
    let v = status(&server, &up.id).await;
    assert_eq!((v["status"].as_str(), v["playable"].as_bool()), (Some("uploading"), Some(false)), "{v}");
    assert_eq!(v["receivedBytes"], 0);

    // The index, then a third of the media.
    let tail = file.len() - index_offset(&file) as usize;
    assert_eq!(up.send(&server, tail).await.status(), 204);
    while up.offset < tail + file.len() / 3 {
        assert_eq!(up.send(&server, 256 * 1024).await.status(), 204);
    }
    let v = status_until(&server, &up.id, "playable", |v| v["playable"] == true).await;
    assert_eq!(v["status"], "uploading", "{v}");
    assert!(v["durationSeconds"].as_f64().unwrap() > 29.0, "the whole duration is known at once: {v}");
    let playable = v["playableSeconds"].as_f64().unwrap();
    assert!(playable > 0.5 && playable < 25.0, "a part is playable: {v}");
    assert_eq!(v["receivedBytes"].as_u64().unwrap() as usize, up.offset);

    let (code, master) = get(&server, &format!("/streams/{}/master.m3u8", up.id)).await;
    assert_eq!(code, 200);
    assert!(text(&master).contains("CODECS=\"avc1."), "{}", text(&master));
    let (_, playlist) = get(&server, &format!("/streams/{}/index.m3u8", up.id)).await;
    let playlist = text(&playlist);
    assert!(!playlist.contains("ENDLIST") && playlist.contains("CAN-BLOCK-RELOAD=YES"), "{playlist}");
    let early = listed(&playlist);
    assert!(!early.is_empty(), "{playlist}");
    let (_, init) = get(&server, &format!("/streams/{}/init.mp4", up.id)).await;
    let mut fetched = Vec::new();
    for name in &early {
        let (code, bytes) = get(&server, &format!("/streams/{}/{name}", up.id)).await;
        assert_eq!(code, 200, "{name}");
        fetched.push(bytes);
    }
    assert!(decodes(&init, &fetched) > 0.5, "what is listed already plays");
    // A segment not listed yet is not served.
    let next = format!("seg_{:05}.m4s", early.len());
    assert_eq!(get(&server, &format!("/streams/{}/{next}", up.id)).await.0, 404);

    // A blocking reload for the next segment is answered once more bytes make it.
    let wait_for = early.len();
    let blocked = {
        let url = server.url(&format!("/streams/{}/index.m3u8?_HLS_msn={wait_for}", up.id));
        tokio::spawn(async move {
            let started = Instant::now();
            let body = client().get(url).send().await.unwrap().text().await.unwrap();
            (started.elapsed(), body)
        })
    };
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(!blocked.is_finished(), "held until the segment exists");
    while !up.is_done() && status(&server, &up.id).await["playableSeconds"].as_f64().unwrap() <= playable {
        assert_eq!(up.send(&server, 256 * 1024).await.status(), 204);
    }
    let (held, body) = tokio::time::timeout(Duration::from_secs(10), blocked).await.unwrap().unwrap();
    assert!(held >= Duration::from_millis(600), "it waited ({held:?})");
    assert!(listed(&body).len() > wait_for, "{body}");

    while !up.is_done() {
        assert_eq!(up.send(&server, 1 << 20).await.status(), 204);
    }
    let v = status_until(&server, &up.id, "ready", |v| v["status"] == "ready").await;
    assert_eq!(v["receivedBytes"].as_u64(), Some(file.len() as u64));
    let (_, done) = get(&server, &format!("/streams/{}/index.m3u8", up.id)).await;
    let done = text(&done);
    assert!(done.contains("#EXT-X-ENDLIST"), "{done}");
    let all = listed(&done);
    assert!(all.len() > early.len());
    let mut segments = Vec::new();
    for (i, name) in all.iter().enumerate() {
        let (code, bytes) = get(&server, &format!("/streams/{}/{name}", up.id)).await;
        assert_eq!(code, 200);
        if let Some(before) = fetched.get(i) {
            assert!(before == &bytes, "{name} is byte-identical before and after the upload ended");
        }
        segments.push(bytes);
    }
    let duration = decodes(&init, &segments);
    assert!((duration - source_duration(&fixture("h264_aac_30s.mp4"))).abs() < 0.2, "{duration}");

    // The stored original is the file, byte for byte.
    let store = blob_store_for(&server.data_dir);
    let raw = store
        .get(
            &flick_domain::ports::BlobKey::raw(
                flick_domain::VideoId::parse(&storage_id(&server.data_dir, &up.id)).unwrap(),
            ),
            None,
        )
        .await;
    let mut stored = Vec::new();
    let mut body = raw.unwrap().expect("the original is kept").body;
    while let Some(chunk) = futures_util::StreamExt::next(&mut body).await {
        stored.extend_from_slice(&chunk.unwrap());
    }
    assert!(stored == file, "byte-identical original");
}

#[tokio::test]
async fn an_index_at_the_end_sent_front_to_back_plays_right_after_the_last_byte() {
    let server = Server::start(&[]);
    let file = std::fs::read(fixture("h264_aac_30s.mp4")).unwrap();
    let mut up = Upload::create(&server, &file, "plain.mp4", false).await;
    while up.offset < file.len() * 9 / 10 {
        assert_eq!(up.send(&server, 1 << 20).await.status(), 204);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let v = status(&server, &up.id).await;
    assert_eq!((v["status"].as_str(), v["playable"].as_bool()), (Some("uploading"), Some(false)), "{v}");
    while !up.is_done() {
        assert_eq!(up.send(&server, 1 << 20).await.status(), 204);
    }
    let v = status_until(&server, &up.id, "ready", |v| v["status"] == "ready").await;
    assert_eq!(v["playable"], true);
}

#[tokio::test]
async fn a_matroska_upload_is_encoded_while_it_arrives() {
    let server = Server::start(&[]);
    let file = std::fs::read(fixture("vp9_opus_20s.webm")).unwrap();
    let mut up = Upload::create(&server, &file, "screen.webm", false).await;
    let playable_at = loop {
        assert_eq!(up.send(&server, 128 * 1024).await.status(), 204);
        tokio::time::sleep(Duration::from_millis(150)).await;
        if status(&server, &up.id).await["playable"] == true {
            break up.offset;
        }
        assert!(!up.is_done(), "never playable before the upload ended");
    };
    assert!(playable_at < file.len(), "playable with {playable_at} of {} bytes", file.len());
    let (_, playlist) = get(&server, &format!("/streams/{}/index.m3u8", up.id)).await;
    assert!(!text(&playlist).contains("ENDLIST"));
    while !up.is_done() {
        assert_eq!(up.send(&server, 512 * 1024).await.status(), 204);
    }
    let v = status_until(&server, &up.id, "ready", |v| v["status"] == "ready" || v["status"] == "error").await;
    assert_eq!(v["status"], "ready", "{v}");
    let decoded = decode_hls(&server.url(&format!("/streams/{}/master.m3u8", up.id)));
    assert!((decoded.duration - 20.0).abs() < 0.5, "{}", decoded.duration);
}

#[tokio::test]
async fn an_hevc_mov_sent_index_first_is_encoded_while_it_arrives() {
    let server = Server::start(&[]);
    let file = std::fs::read(fixture("hevc_aac_20s.mov")).unwrap();
    let mut up = Upload::create(&server, &file, "phone.mov", true).await;
    let playable_at = loop {
        assert_eq!(up.send(&server, 32 * 1024).await.status(), 204);
        tokio::time::sleep(Duration::from_millis(150)).await;
        if status(&server, &up.id).await["playable"] == true {
            break up.offset;
        }
        assert!(!up.is_done(), "never playable before the upload ended");
    };
    assert!(playable_at < file.len(), "playable with {playable_at} of {} bytes", file.len());
    while !up.is_done() {
        assert_eq!(up.send(&server, 256 * 1024).await.status(), 204);
    }
    let v = status_until(&server, &up.id, "ready", |v| v["status"] == "ready" || v["status"] == "error").await;
    assert_eq!(v["status"], "ready", "{v}");
    let decoded = decode_hls(&server.url(&format!("/streams/{}/master.m3u8", up.id)));
    assert!((decoded.duration - 20.0).abs() < 0.5, "{}", decoded.duration);
}

#[tokio::test]
async fn a_video_deleted_mid_upload_leaves_nothing() {
    let server = Server::start(&[]);
    let file = std::fs::read(fixture("h264_aac_30s.mp4")).unwrap();
    let mut up = Upload::create(&server, &file, "oops.mp4", true).await;
    while up.offset < file.len() / 2 {
        assert_eq!(up.send(&server, 1 << 20).await.status(), 204);
    }
    status_until(&server, &up.id, "playable", |v| v["playable"] == true).await;
    let r = client().delete(server.url(&format!("/api/video/{}", up.id))).bearer_auth(&up.token).send().await.unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(up.send(&server, 1 << 20).await.status(), 404, "the upload is gone too");
    for path in [format!("/api/video/{}", up.id), format!("/streams/{}/index.m3u8", up.id), format!("/v/{}", up.id)] {
        assert_eq!(get(&server, &path).await.0, 404, "{path}");
    }
    assert_no_trace(&server, &up.id).await;
}

/// Nothing of video `id` stays in the data folder or the bucket.
async fn assert_no_trace(server: &Server, id: &str) {
    let start = Instant::now();
    loop {
        let mut left: Vec<String> = blob_keys(&server.data_dir).await.into_iter().filter(|k| k.contains(id)).collect();
        left.extend(files_under(&server.data_dir).into_iter().filter(|f| f.contains(id)));
        if left.is_empty() {
            return;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "left behind: {left:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_cancelled_or_expired_upload_ends_as_abandoned_and_leaves_nothing() {
    let server = Server::start(&[("FLICK_UPLOAD__INCOMPLETE_TTL_SECONDS", "2")]);
    let file = std::fs::read(fixture("h264_aac_30s.mp4")).unwrap();
    for cancel in [true, false] {
        let mut up = Upload::create(&server, &file, "gone.mp4", true).await;
        while up.offset < file.len() / 3 {
            assert_eq!(up.send(&server, 1 << 20).await.status(), 204);
        }
        if cancel {
            assert_eq!(tus(&server, Method::DELETE, &up.path).send().await.unwrap().status(), 204);
        }
        // Viewers get the same 404 as for a deleted video; the uploader (manage token) learns why.
        let start = Instant::now();
        loop {
            if get(&server, &format!("/api/video/{}", up.id)).await.0 == 404 {
                break;
            }
            assert!(start.elapsed() < Duration::from_secs(15), "never abandoned");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert_eq!(get(&server, &format!("/streams/{}/index.m3u8", up.id)).await.0, 404);
        assert_eq!(get(&server, &format!("/v/{}", up.id)).await.0, 404);
        let owner: Value = client()
            .get(server.url(&format!("/api/video/{}", up.id)))
            .bearer_auth(&up.token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            (owner["status"].as_str(), owner["error"]["code"].as_str()),
            (Some("error"), Some("upload_abandoned"))
        );
        assert_no_trace(&server, &up.id).await;
    }
}

#[tokio::test]
async fn a_crash_mid_upload_changes_no_byte_a_viewer_has() {
    let temp = tempfile::tempdir().unwrap();
    let data = temp.path().join("data");
    let mut server = Server::start_on(&data, &[]);
    let file = std::fs::read(fixture("h264_aac_30s.mp4")).unwrap();
    let mut up = Upload::create(&server, &file, "crash.mp4", true).await;
    while up.offset < file.len() / 2 {
        assert_eq!(up.send(&server, 1 << 20).await.status(), 204);
    }
    status_until(&server, &up.id, "playable", |v| v["playable"] == true).await;
    let (_, playlist) = get(&server, &format!("/streams/{}/index.m3u8", up.id)).await;
    let mut before = Vec::new();
    for name in listed(&text(&playlist)) {
        before.push((name.clone(), get(&server, &format!("/streams/{}/{name}", up.id)).await.1));
    }
    let init_before = get(&server, &format!("/streams/{}/init.mp4", up.id)).await.1;
    server.kill9();

    let server = Server::start_on(&data, &[]);
    // The client asks where to resume, then goes on.
    let head = tus(&server, Method::HEAD, &up.path).send().await.unwrap();
    assert_eq!(head.status(), 200);
    let offset: usize = header(&head, "upload-offset").parse().unwrap();
    assert!(offset <= up.offset && offset > 0, "{offset} of {}", up.offset);
    up.offset = offset;
    assert_eq!(get(&server, &format!("/streams/{}/init.mp4", up.id)).await.1, init_before);
    for (name, bytes) in &before {
        let (code, after) = get(&server, &format!("/streams/{}/{name}", up.id)).await;
        assert_eq!(code, 200, "{name} is still served after the crash");
        assert!(&after == bytes, "{name} is byte-identical after the crash");
    }
    while !up.is_done() {
        assert_eq!(up.send(&server, 1 << 20).await.status(), 204);
    }
    status_until(&server, &up.id, "ready", |v| v["status"] == "ready").await;
    for (name, bytes) in &before {
        assert!(&get(&server, &format!("/streams/{}/{name}", up.id)).await.1 == bytes, "{name} once complete");
    }
}

/// `file` with the first chunk offset of its first `stco` box replaced by `offset`.
fn with_first_chunk_at(file: &[u8], offset: u32) -> Vec<u8> {
    let mut out = file.to_vec();
    let at = out.windows(4).position(|w| w == b"stco").expect("an stco box");
    // stco: type, version+flags (4), entry count (4), then the entries.
    out[at + 12..at + 16].copy_from_slice(&offset.to_be_bytes());
    out
}

#[tokio::test]
async fn a_hostile_index_is_refused_with_a_clear_code() {
    let server = Server::start(&[]);
    let file = std::fs::read(fixture("h264_aac_30s.mp4")).unwrap();
    // Index first: a chunk moved into it stays inside the file.
    let front = std::fs::read(fixture("h264_aac_faststart.mp4")).unwrap();
    let (moov, after_media) = find_index(&front);
    assert!(!after_media);
    let cases = [
        (with_first_chunk_at(&file, u32::MAX - 10), "sample_out_of_bounds"),
        (with_first_chunk_at(&front, moov as u32 + 8), "sample_in_index"),
        (with_first_chunk_at(&file, 200_000), "sample_overlap"),
    ];
    for (bytes, code) in cases {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hostile.mp4");
        std::fs::write(&path, &bytes).unwrap();
        let (status_code, body) = upload(&server, &path, "hostile.mp4").await;
        assert_eq!(status_code, 201, "{body}");
        let id = body["id"].as_str().unwrap();
        let v = wait_done(&server, id, Duration::from_secs(30)).await;
        assert_eq!((v["status"].as_str(), v["error"]["code"].as_str()), (Some("error"), Some(code)), "{v}");
    }
    // An index-first upload whose offset does not point at an index is refused at once.
    let r = tus(&server, Method::POST, "/api/uploads")
        .header("Upload-Length", file.len().to_string())
        .header("Flick-Index-Offset", "1000")
        .header("Content-Type", "application/offset+octet-stream")
        .body(file[1000..1100].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "bad_request", "{body}");
}
