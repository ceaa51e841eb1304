//! Private means private: the owner's controls (rename, password, expiry, view limit, revoke) hold on every kind of
//! URL, the link never reaches the upload, and a delete leaves nothing behind at any moment — on the data folder or
//! the bucket (with `make test-scaled`: PostgreSQL + S3, a worker in another process).

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::*;

/// The 30 s H.264/AAC clip: served from its original, several segments, ready in a moment.
const CLIP: &str = "h264_aac_30s.mp4";

/// Every kind of URL a video has, by its share id.
fn urls(share: &str) -> [String; 4] {
    [
        format!("/v/{share}"),
        format!("/api/video/{share}"),
        format!("/streams/{share}/master.m3u8"),
        format!("/thumbnails/{share}.jpg"),
    ]
}

/// The media URLs of a video (media playlist, init segment if any, segments), read from its playlists.
async fn media_urls(server: &Server, share: &str, cookie: &str) -> Vec<String> {
    let get = |path: String| async move {
        let r = client().get(server.url(&path)).header("cookie", cookie).send().await.expect("get");
        assert_eq!(r.status(), 200, "{path}");
        r.text().await.expect("text")
    };
    let master = get(format!("/streams/{share}/master.m3u8")).await;
    let media = master.lines().find(|l| !l.starts_with('#') && !l.is_empty()).expect("a variant").to_owned();
    let text = get(format!("/streams/{share}/{media}")).await;
    let mut out = vec![format!("/streams/{share}/{media}")];
    for line in text.lines() {
        if let Some(uri) = line.strip_prefix("#EXT-X-MAP:URI=\"") {
            out.push(format!("/streams/{share}/{}", uri.trim_end_matches('"')));
        } else if !line.starts_with('#') && !line.is_empty() {
            out.push(format!("/streams/{share}/{line}"));
        }
    }
    out
}

async fn get_status(server: &Server, path: &str, cookie: &str) -> (u16, String) {
    let r = client().get(server.url(path)).header("cookie", cookie).send().await.expect("get");
    (r.status().as_u16(), r.text().await.unwrap_or_default())
}

async fn patch(server: &Server, share: &str, token: &str, body: Value) -> (u16, Value) {
    let r = client()
        .patch(server.url(&format!("/api/video/{share}")))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("patch");
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

/// The `name=value` of a `Set-Cookie` answer, ready for a `Cookie` header.
fn cookie_of(r: &reqwest::Response) -> String {
    let set = r.headers().get("set-cookie").expect("a cookie").to_str().expect("ascii");
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Lax") && set.contains("Path=/"), "{set}");
    set.split(';').next().unwrap_or_default().to_owned()
}

/// Uploads the clip and waits until it is ready with its thumbnail: (share id, manage token).
async fn ready_video(server: &Server, name: &str) -> (String, String) {
    let (code, body) = upload(server, &fixture(CLIP), name).await;
    assert_eq!(code, 201, "{body}");
    let share = body["id"].as_str().unwrap().to_owned();
    let token = body["manageToken"].as_str().unwrap().to_owned();
    let start = Instant::now();
    loop {
        let v = status(server, &share).await;
        if v["status"] == "ready" && v["thumbnailUrl"].is_string() {
            return (share, token);
        }
        assert!(start.elapsed() < Duration::from_secs(60), "not ready: {v}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Whatever is left of a video: files of the data folder and objects of the bucket whose name has its storage id.
async fn traces(data_dir: &Path, storage: &str) -> Vec<String> {
    let mut left: Vec<String> = files_under(data_dir).into_iter().filter(|f| f.contains(storage)).collect();
    left.extend(blob_keys(data_dir).await.into_iter().filter(|k| k.contains(storage)));
    left
}

/// Waits until nothing is left of a video (the sweeper runs every 10 s).
async fn wait_no_traces(data_dir: &Path, storage: &str, limit: Duration) {
    let start = Instant::now();
    loop {
        let left = traces(data_dir, storage).await;
        if left.is_empty() {
            return;
        }
        assert!(start.elapsed() < limit, "left of the video after {limit:?}: {left:?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owner_controls_hold_on_every_url() {
    let server = Server::start(&[]);
    let (share, token) = ready_video(&server, "holiday.mp4").await;
    let storage = storage_id(&server.data_dir, &share);
    assert_ne!(storage, share, "the link does not name the storage");
    let media = media_urls(&server, &share, "").await;
    assert!(media.len() >= 3, "{media:?}");

    // Only the owner changes anything; every bad value gets its code.
    let c = client();
    let r = c.patch(server.url(&format!("/api/video/{share}"))).json(&json!({"title": "x"})).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let (code, _) = patch(&server, &share, &"0".repeat(64), json!({"title": "x"})).await;
    assert_eq!(code, 403);
    for (body, expected) in [
        (json!({"title": ""}), "invalid_title"),
        (json!({"password": ""}), "invalid_password"),
        (json!({"expiresAt": "2001-01-01T00:00:00Z"}), "invalid_expiry"),
        (json!({"maxViews": 0}), "invalid_max_views"),
    ] {
        let (code, err) = patch(&server, &share, &token, body.clone()).await;
        assert_eq!((code, err["error"]["code"].as_str()), (400, Some(expected)), "{body}: {err}");
    }

    // Rename: viewers see the new title, on the page too.
    let (code, v) = patch(&server, &share, &token, json!({"title": "  Our holiday "})).await;
    assert_eq!(code, 200, "{v}");
    assert_eq!((v["title"].as_str(), v["passwordProtected"].as_bool()), (Some("Our holiday"), Some(false)));
    assert_eq!(status(&server, &share).await["title"], "Our holiday");
    let (_, page) = get_status(&server, &format!("/v/{share}"), "").await;
    assert!(page.contains("<title>Our holiday · Flick</title>"), "{page}");

    // A password: without its proof, nothing of the video shows, on any URL.
    let (code, v) = patch(&server, &share, &token, json!({"password": "correct horse"})).await;
    assert_eq!((code, v["passwordProtected"].as_bool()), (200, Some(true)), "{v}");
    assert!(!v.to_string().contains("correct horse") && !v.to_string().contains("argon2"), "{v}");
    assert_eq!(status(&server, &share).await, json!({"id": share, "passwordRequired": true}));
    for path in media.iter().chain([&format!("/streams/{share}/master.m3u8"), &format!("/thumbnails/{share}.jpg")]) {
        let (code, body) = get_status(&server, path, "").await;
        assert_eq!(code, 401, "{path}");
        assert!(body.contains("password_required"), "{path}: {body}");
    }
    let (code, page) = get_status(&server, &format!("/v/{share}"), "").await;
    assert_eq!(code, 200);
    assert!(!page.contains("Our holiday") && !page.contains("og:image"), "the preview names nothing: {page}");

    // A wrong password, then the right one: a cookie opens every URL.
    let unlock = |password: &'static str| {
        c.post(server.url(&format!("/api/video/{share}/unlock"))).json(&json!({ "password": password })).send()
    };
    let r = unlock("wrong").await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.text().await.unwrap().contains("wrong_password"));
    let r = unlock("correct horse").await.unwrap();
    assert_eq!(r.status(), 204);
    let cookie = cookie_of(&r);
    assert_eq!(get_status(&server, &format!("/api/video/{share}"), &cookie).await.0, 200);
    assert!(get_status(&server, &format!("/api/video/{share}"), &cookie).await.1.contains("Our holiday"));
    for path in media.iter().chain([&format!("/thumbnails/{share}.jpg")]) {
        let r = c.get(server.url(path)).header("cookie", &cookie).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let cache = r.headers().get("cache-control").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
        assert!(!cache.contains("public"), "{path}: shared caches must not keep it: {cache}");
    }
    // A forged or stale cookie is no proof.
    let last = if cookie.ends_with('0') { '1' } else { '0' };
    let forged = format!("{}{last}", &cookie[..cookie.len() - 1]);
    assert_eq!(get_status(&server, &media[1], &forged).await.0, 401);

    // Guesses are limited: ten a minute per video, then 429 with Retry-After, even for the right password.
    let mut limited = None;
    // (A cell comes back every 6 s: on a slow machine a few more guesses may pass before the limit bites.)
    for _ in 0..40 {
        let r = unlock("guess").await.unwrap();
        if r.status() == 429 {
            limited = Some(r);
            break;
        }
        assert_eq!(r.status(), 401);
    }
    let r = limited.expect("guesses are limited");
    let retry: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert!(r.text().await.unwrap().contains("too_many_attempts"));
    if retry > 2 {
        assert_eq!(unlock("correct horse").await.unwrap().status(), 429, "refused before the hash runs");
    }

    // Removing the password opens it again.
    let (code, _) = patch(&server, &share, &token, json!({"password": null})).await;
    assert_eq!(code, 200);
    assert_eq!(get_status(&server, &media[1], "").await.0, 200);

    // Revoke: a new link; the old one is dead on every URL at once; the manage token still works.
    let r = c.post(server.url(&format!("/api/video/{share}/revoke"))).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let fresh: Value = r.json().await.unwrap();
    let new = fresh["id"].as_str().unwrap().to_owned();
    assert_ne!(new, share);
    assert_eq!(fresh["url"], format!("/v/{new}"));
    assert_eq!(fresh["streamUrl"], format!("/streams/{new}/master.m3u8"));
    for path in urls(&share).iter().chain(&media) {
        assert_eq!(get_status(&server, path, "").await.0, 404, "{path} after the revoke");
    }
    for path in urls(&new) {
        assert_eq!(get_status(&server, &path, "").await.0, 200, "{path}");
    }
    assert_eq!(patch(&server, &share, &token, json!({"title": "x"})).await.0, 404);
    assert_eq!(patch(&server, &new, &token, json!({"title": "Still mine"})).await.0, 200);

    // Expiry: past it, every URL answers 404, and the sweeper removes every byte.
    let at = (chrono::Utc::now() + chrono::TimeDelta::seconds(2)).to_rfc3339();
    let (code, v) = patch(&server, &new, &token, json!({"expiresAt": at})).await;
    assert_eq!(code, 200, "{v}");
    assert!(v["expiresAt"].is_string(), "{v}");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    for path in urls(&new) {
        assert_eq!(get_status(&server, &path, "").await.0, 404, "{path} after its expiry");
    }
    let owner = c.get(server.url(&format!("/api/video/{new}"))).bearer_auth(&token).send().await.unwrap();
    assert_eq!(owner.status(), 404, "expired for its owner too");
    wait_no_traces(&server.data_dir, &storage, Duration::from_secs(40)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_view_limit_burns_after_reading() {
    let server = Server::start(&[]);
    let (share, token) = ready_video(&server, "secret.mp4").await;
    let storage = storage_id(&server.data_dir, &share);
    let media = media_urls(&server, &share, "").await;
    let segments: Vec<&String> = media.iter().filter(|u| u.contains("/seg_")).collect();
    assert!(segments.len() >= 2, "{media:?}");
    let (code, v) = patch(&server, &share, &token, json!({"maxViews": 2})).await;
    assert_eq!((code, v["viewsLeft"].as_u64()), (200, Some(2)), "{v}");
    let views_left = async || {
        let r = client().get(server.url(&format!("/api/video/{share}"))).bearer_auth(&token).send().await.unwrap();
        if r.status() == 404 { None } else { r.json::<Value>().await.unwrap()["viewsLeft"].as_u64() }
    };

    // The owner's own player gets a view cookie of its own (with the manage token): it uses up no view.
    let r = client().post(server.url(&format!("/api/video/{share}/unlock"))).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), 204);
    let owner = cookie_of(&r);
    for seg in &segments {
        assert_eq!(get_status(&server, seg, &owner).await.0, 200, "{seg}");
    }
    assert_eq!(views_left().await, Some(2), "the owner's viewing counts no view");

    // Viewer A's first segment starts a view; its own later requests do not count again.
    let r = client().get(server.url(segments[0])).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let a = cookie_of(&r);
    assert_eq!(views_left().await, Some(1));
    assert_eq!(get_status(&server, segments[0], &a).await.0, 200);
    assert_eq!(views_left().await, Some(1));

    // Viewer B takes the last view.
    let r = client().get(server.url(segments[0])).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let b = cookie_of(&r);
    assert_eq!(views_left().await, Some(0));

    // Anyone else finds nothing, on any URL.
    for path in urls(&share).iter().chain(&media) {
        assert_eq!(get_status(&server, path, "").await.0, 404, "{path} once the views are used up");
    }
    // A watches to the end: it is not the last view, the video stays.
    for seg in &segments {
        assert_eq!(get_status(&server, seg, &a).await.0, 200, "{seg}");
    }
    assert_eq!(views_left().await, Some(0));
    // B, the last view, reaches the end: the video is deleted, for everyone.
    for seg in &segments {
        assert_eq!(get_status(&server, seg, &b).await.0, 200, "{seg}");
    }
    assert_eq!(views_left().await, None, "deleted once the last view ended");
    assert_eq!(get_status(&server, segments[0], &a).await.0, 404);
    wait_no_traces(&server.data_dir, &storage, Duration::from_secs(40)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_link_cannot_touch_the_upload() {
    let server = Server::start(&[]);
    let c = client();
    let r = c
        .post(server.url("/api/uploads"))
        .header("tus-resumable", "1.0.0")
        .header("upload-length", "1000")
        .header("upload-metadata", format!("filename {}", b64(b"a.mp4")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let share_url = r.headers()["flick-share-url"].to_str().unwrap().to_owned();
    let share = share_url.trim_start_matches("/v/");
    assert!(!location.contains(share), "{location} vs {share_url}");
    // Whoever has the link cannot write to, cancel or even see the upload.
    let upload_url = format!("/api/uploads/{share}");
    let head = c.head(server.url(&upload_url)).header("tus-resumable", "1.0.0").send().await.unwrap();
    assert_eq!(head.status(), 404);
    let patched = c
        .patch(server.url(&upload_url))
        .header("tus-resumable", "1.0.0")
        .header("upload-offset", "0")
        .header("content-type", "application/offset+octet-stream")
        .body(vec![0u8; 10])
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 404);
    let deleted = c.delete(server.url(&upload_url)).header("tus-resumable", "1.0.0").send().await.unwrap();
    assert_eq!(deleted.status(), 404);
    let head = c.head(server.url(&location)).header("tus-resumable", "1.0.0").send().await.unwrap();
    assert_eq!(head.status(), 200, "the uploader's own URL still works");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delete_leaves_nothing_mid_upload_and_mid_playback() {
    let server = Server::start(&[]);
    let c = client();

    // Mid-upload: half of the bytes are in.
    let bytes = std::fs::read(fixture(CLIP)).unwrap();
    let r = c
        .post(server.url("/api/uploads"))
        .header("tus-resumable", "1.0.0")
        .header("upload-length", bytes.len().to_string())
        .header("upload-metadata", format!("filename {}", b64(b"half.mp4")))
        .send()
        .await
        .unwrap();
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let token = r.headers()["flick-manage-token"].to_str().unwrap().to_owned();
    let share = r.headers()["flick-share-url"].to_str().unwrap().trim_start_matches("/v/").to_owned();
    let storage = storage_id(&server.data_dir, &share);
    let half = bytes.len() / 2;
    let r = c
        .patch(server.url(&location))
        .header("tus-resumable", "1.0.0")
        .header("upload-offset", "0")
        .header("content-type", "application/offset+octet-stream")
        .body(bytes[..half].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert!(!traces(&server.data_dir, &storage).await.is_empty(), "the bytes are somewhere before the delete");
    let r = c.delete(server.url(&format!("/api/video/{share}"))).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(get_status(&server, &format!("/api/video/{share}"), "").await.0, 404);
    let r = c
        .patch(server.url(&location))
        .header("tus-resumable", "1.0.0")
        .header("upload-offset", half.to_string())
        .header("content-type", "application/offset+octet-stream")
        .body(bytes[half..].to_vec())
        .send()
        .await;
    // The server answers 404 before reading the body and closes: the client sees the answer, or a broken pipe while
    // it is still writing the body (a race of the two ends).
    match r {
        Ok(r) => assert_eq!(r.status(), 404, "the upload is gone too"),
        Err(e) => assert!(e.is_request() && !e.is_timeout(), "refused, not stalled: {e}"),
    }
    wait_no_traces(&server.data_dir, &storage, Duration::from_secs(20)).await;

    // Mid-playback: a segment is being read when the owner deletes.
    let (share, token) = ready_video(&server, "playing.mp4").await;
    let storage = storage_id(&server.data_dir, &share);
    let media = media_urls(&server, &share, "").await;
    let segment = media.iter().find(|u| u.contains("/seg_")).unwrap();
    let mut reading = c.get(server.url(segment)).send().await.unwrap();
    assert_eq!(reading.status(), 200);
    let first = reading.chunk().await.unwrap();
    assert!(first.is_some());
    let r = c.delete(server.url(&format!("/api/video/{share}"))).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), 204);
    // The response in flight ends (whole or cut), it never hangs.
    let rest =
        tokio::time::timeout(Duration::from_secs(20), async { while let Ok(Some(_)) = reading.chunk().await {} });
    rest.await.expect("the response in flight ends");
    for path in urls(&share).iter().chain(&media) {
        assert_eq!(get_status(&server, path, "").await.0, 404, "{path}");
    }
    wait_no_traces(&server.data_dir, &storage, Duration::from_secs(20)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delete_mid_processing_stops_a_worker_in_another_process() {
    let temp = tempfile::tempdir().expect("tempdir");
    let data = temp.path().join("data");
    let api = Server::start_with_args(&["serve", "--no-workers"], &data, &[]);
    let worker = Worker::start(&data, &[("FLICK_PROCESSING__WORKERS", "1")]);
    let (code, body) = upload(&api, &fixture("crash_reencode.mov"), "long.mov").await;
    assert_eq!(code, 201, "{body}");
    let share = body["id"].as_str().unwrap().to_owned();
    let token = body["manageToken"].as_str().unwrap().to_owned();
    let storage = storage_id(&data, &share);
    let start = Instant::now();
    loop {
        let v = status(&api, &share).await;
        assert_eq!(v["status"], "processing", "{v}");
        if v["playable"] == true {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "never playable: {v}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!ffmpeg_children_of(worker.pid()).is_empty(), "the worker is encoding");
    let r = client().delete(api.url(&format!("/api/video/{share}"))).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(status(&api, &share).await["error"]["code"], "not_found");
    // The worker learns it at its next heartbeat, kills its ffmpeg, and what it wrote meanwhile goes too.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ffmpeg_children_of(worker.pid()).is_empty() {
        assert!(Instant::now() < deadline, "the worker kept encoding a deleted video");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    wait_no_traces(&data, &storage, Duration::from_secs(40)).await;
    let work: Vec<String> = files_under(&data).into_iter().filter(|f| f.starts_with("work/")).collect();
    assert!(work.is_empty(), "work files left: {work:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_purge_is_finished_later() {
    if test_s3().is_some() {
        // A local folder is what this test can make fail; the bucket's purge is the same code.
        return;
    }
    let server = Server::start(&[]);
    let (share, token) = ready_video(&server, "stuck.mp4").await;
    let storage = storage_id(&server.data_dir, &share);
    // The operator's disk misbehaves: the thumbnail cannot be deleted (a folder with a file stands in its place).
    let thumb = server.data_dir.join(format!("thumbs/{storage}.jpg"));
    std::fs::remove_file(&thumb).unwrap();
    std::fs::create_dir(&thumb).unwrap();
    std::fs::write(thumb.join("blocker"), b"x").unwrap();
    let r = client().delete(server.url(&format!("/api/video/{share}"))).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), 204, "the delete is recorded even though the purge failed");
    for path in urls(&share) {
        assert_eq!(get_status(&server, &path, "").await.0, 404, "{path}");
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let left = traces(&server.data_dir, &storage).await;
    assert!(left.iter().any(|f| f.starts_with("raw/")), "the purge stopped at the thumbnail: {left:?}");
    // The disk recovers; the sweeper finishes the purge.
    std::fs::remove_dir_all(&thumb).unwrap();
    wait_no_traces(&server.data_dir, &storage, Duration::from_secs(30)).await;
}
