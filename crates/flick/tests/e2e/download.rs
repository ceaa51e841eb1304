//! Downloading the original (issue 13, item 4): off by default; where the site allows it, the exact bytes uploaded,
//! as an attachment named after the title, resumable with Range; never for a video with a view limit, nor for a
//! re-encoded video whose original was not kept.

use std::time::Duration;

use serde_json::json;

use crate::common::{Server, client, fixture, status, upload_ready, wait_until};

async fn download(server: &Server, id: &str) -> reqwest::Response {
    client().get(server.url(&format!("/v/{id}/download"))).send().await.unwrap()
}

#[tokio::test]
async fn downloads_are_off_unless_the_site_allows_them() {
    let server = Server::start(&[]);
    let (id, _) = upload_ready(&server, "h264_aac_faststart.mp4", "clip.mp4").await;
    assert!(status(&server, &id).await["downloadUrl"].is_null());
    assert_eq!(download(&server, &id).await.status(), 404);
}

#[tokio::test]
async fn the_original_downloads_byte_for_byte_where_it_is_kept() {
    let server = Server::start(&[("FLICK_SHARE__ALLOW_DOWNLOAD", "true")]);
    let (id, token) = upload_ready(&server, "h264_aac_faststart.mp4", "Beach day.mp4").await;
    let url = status(&server, &id).await["downloadUrl"].as_str().unwrap().to_owned();
    assert_eq!(url, format!("/v/{id}/download"));
    let r = download(&server, &id).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "video/mp4");
    let disposition = r.headers()["content-disposition"].to_str().unwrap().to_owned();
    assert!(disposition.starts_with("attachment; filename=\"Beach day.mp4\""), "{disposition}");
    let original = std::fs::read(fixture("h264_aac_faststart.mp4")).unwrap();
    assert!(r.bytes().await.unwrap() == original, "the exact bytes uploaded");

    // A download resumes where it stopped.
    let r = client().get(server.url(&url)).header("range", "bytes=1000-1999").send().await.unwrap();
    assert_eq!(r.status(), 206);
    assert!(r.bytes().await.unwrap() == original[1000..2000]);

    // A video with a view limit is not handed out whole.
    let r = client()
        .patch(server.url(&format!("/api/video/{id}")))
        .bearer_auth(&token)
        .json(&json!({"maxViews": 3}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(status(&server, &id).await["downloadUrl"].is_null());
    assert_eq!(download(&server, &id).await.status(), 404);

    // A re-encoded video's original is not kept by default: once its storyboard is made from it, it goes, and there
    // is nothing to download.
    let (reencoded, _) = upload_ready(&server, "hevc_aac_20s.mov", "hevc.mov").await;
    wait_until(&server, &reencoded, Duration::from_secs(60), |v| v["downloadUrl"].is_null()).await;
    assert_eq!(download(&server, &reencoded).await.status(), 404);
}

#[tokio::test]
async fn kept_originals_of_reencoded_videos_download_too() {
    let server =
        Server::start(&[("FLICK_SHARE__ALLOW_DOWNLOAD", "true"), ("FLICK_PROCESSING__KEEP_ORIGINALS", "true")]);
    let (id, _) = upload_ready(&server, "hevc_aac_20s.mov", "hevc.mov").await;
    let r = download(&server, &id).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "video/quicktime");
    assert!(r.bytes().await.unwrap() == std::fs::read(fixture("hevc_aac_20s.mov")).unwrap());
    assert_eq!(client().get(server.url("/v/0123/download")).send().await.unwrap().status(), 404);
}
