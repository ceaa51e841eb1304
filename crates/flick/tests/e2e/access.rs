//! Private links stay private: no listing without the admin token, no deletion without the manage
//! token, no path tricks, and the right headers everywhere.

use std::time::Duration;

use crate::common::*;

const ADMIN: &str = "admin-token-for-tests-0123456789";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listing_deletion_and_ids_are_guarded() {
    let server = Server::start(&[("FLICK_ADMIN__TOKEN", ADMIN)]);
    let c = client();
    let (code, body) = upload(&server, &fixture("h264_aac_faststart.mp4"), "mine.mp4").await;
    assert_eq!(code, 201);
    let id = body["id"].as_str().unwrap().to_owned();
    let token = body["manageToken"].as_str().unwrap().to_owned();
    let v = wait_done(&server, &id, Duration::from_secs(60)).await;
    assert_eq!(v["status"], "ready");

    // Listing: 404 without or with a wrong admin token, the videos with it.
    let r = c.get(server.url("/api/videos")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let r = c.get(server.url("/api/videos")).bearer_auth("wrong-token-wrong-token").send().await.unwrap();
    assert_eq!(r.status(), 404);
    let r = c.get(server.url("/api/videos")).bearer_auth(ADMIN).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let list: serde_json::Value = r.json().await.unwrap();
    assert_eq!(list["videos"][0]["id"], id.as_str());

    // Path tricks and malformed ids: the same 404 as an unknown id, with a JSON error body.
    let unknown = "0123456789abcdef0123456789abcdef";
    for path in [
        format!("/api/video/{unknown}"),
        "/api/video/..%2f..%2fetc%2fpasswd".to_owned(),
        "/api/video/%2e%2e".to_owned(),
        format!("/api/video/{}", id.to_uppercase()),
        format!("/streams/{id}/..%2f..%2fflick.db"),
        format!("/streams/{id}/ffmpeg.m3u8"),
        format!("/streams/{unknown}/master.m3u8"),
        "/streams/..%2fraw/master.m3u8".to_owned(),
        "/thumbnails/..%2fflick.db".to_owned(),
    ] {
        let r = c.get(server.url(&path)).send().await.unwrap();
        assert_eq!(r.status(), 404, "{path}");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], "not_found", "{path}");
    }
    // Share pages of unknown or malformed ids: the same 404 page.
    for path in [format!("/v/{unknown}"), "/v/..%2f..%2fetc%2fpasswd".to_owned(), format!("/v/{}", id.to_uppercase())] {
        assert_eq!(c.get(server.url(&path)).send().await.unwrap().status(), 404, "{path}");
    }

    // Deletion: refused without or with a wrong token, and nothing is removed.
    let r = c.delete(server.url(&format!("/api/video/{id}"))).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = c.delete(server.url(&format!("/api/video/{id}"))).bearer_auth(ADMIN).send().await.unwrap();
    assert_eq!(r.status(), 403);
    let r = c.delete(server.url(&format!("/api/video/{id}"))).bearer_auth(&token[..63]).send().await.unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(status(&server, &id).await["status"], "ready");
    let playlist = server.url(&format!("/streams/{id}/master.m3u8"));
    assert_eq!(c.get(&playlist).send().await.unwrap().status(), 200);

    // With the manage token: gone everywhere.
    let r = c.delete(server.url(&format!("/api/video/{id}"))).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), 204);
    for path in [
        format!("/api/video/{id}"),
        format!("/streams/{id}/master.m3u8"),
        format!("/streams/{id}/index.m3u8"),
        format!("/streams/{id}/seg_00000.ts"),
        format!("/thumbnails/{id}.jpg"),
        format!("/v/{id}"),
    ] {
        assert_eq!(c.get(server.url(&path)).send().await.unwrap().status(), 404, "{path}");
    }
    let mut leftovers: Vec<String> = files_under(&server.data_dir).into_iter().filter(|f| f.contains(&id)).collect();
    leftovers.extend(blob_keys(&server.data_dir).await.into_iter().filter(|k| k.contains(&id)));
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_admin_configured_means_no_listing_and_pages_carry_privacy_headers() {
    let server = Server::start(&[]);
    let c = client();
    let r = c.get(server.url("/api/videos")).bearer_auth("anything-anything").send().await.unwrap();
    assert_eq!(r.status(), 404);

    let (_, body) = upload(&server, &fixture("h264_aac_faststart.mp4"), "<img src=x onerror=alert(1)>.mp4").await;
    let id = body["id"].as_str().unwrap().to_owned();
    let page = c.get(server.url(&format!("/v/{id}"))).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let h = page.headers().clone();
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert_eq!(h["x-robots-tag"], "noindex, nofollow");
    assert!(h["content-security-policy"].to_str().unwrap().contains("frame-ancestors 'none'"));
    let html = page.text().await.unwrap();
    assert!(!html.contains("<img src=x"), "the title must be escaped");
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"), "{html}");

    let api = c.get(server.url(&format!("/api/video/{id}"))).send().await.unwrap();
    assert_eq!(api.headers()["referrer-policy"], "no-referrer");
    assert_eq!(api.headers()["x-robots-tag"], "noindex, nofollow");
    assert_eq!(api.headers()["x-content-type-options"], "nosniff");
    let health = c.get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
}
