//! The adaptive ladder (issue 13): once a video is ready, lower renditions appear in its master playlist, cut where
//! its first rendition is cut, decodable, and gone with the video. Both deliveries: a video re-encoded to MPEG-TS
//! (its original then goes once the ladder is made) and one served from its original as fMP4.

use std::time::{Duration, Instant};

use crate::common::{
    Server, blob_keys, client, decode_hls, fixture, source_duration, storage_id, upload, wait_done, wait_until,
};

/// One small rung, so that the clips of the test set (360p and 720p) get a rendition quickly.
const LADDER: &str = "[{height=240,video_kbps=300}]";

async fn text(server: &Server, path: &str) -> String {
    let response = client().get(server.url(path)).send().await.unwrap();
    assert_eq!(response.status(), 200, "{path}");
    response.text().await.unwrap()
}

/// The master playlist once it lists `variants` variants (the ladder runs after the video is ready).
async fn master_with(server: &Server, id: &str, variants: usize) -> String {
    let started = Instant::now();
    loop {
        let master = text(server, &format!("/streams/{id}/master.m3u8")).await;
        if master.matches("#EXT-X-STREAM-INF").count() >= variants {
            return master;
        }
        assert!(started.elapsed() < Duration::from_secs(120), "no ladder after 2 minutes: {master}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn durations(playlist: &str) -> Vec<f64> {
    playlist
        .lines()
        .filter_map(|l| l.strip_prefix("#EXTINF:"))
        .map(|d| d.trim_end_matches(',').parse().unwrap())
        .collect()
}

/// Checks the rendition `r240` of `id` against its first rendition: listed after it with its size, cut at the same
/// times, decodable to the end.
async fn check_rendition(server: &Server, id: &str, size: (u32, u32), source: &std::path::Path) {
    let master = master_with(server, id, 2).await;
    let uris: Vec<&str> = master.lines().filter(|l| !l.starts_with('#') && !l.is_empty()).collect();
    assert_eq!(uris, ["index.m3u8", "r240/index.m3u8"], "the first rendition stays first: {master}");
    assert!(master.contains(&format!("RESOLUTION={}x{}", size.0, size.1)), "{master}");

    let first = durations(&text(server, &format!("/streams/{id}/index.m3u8")).await);
    let lower_playlist = text(server, &format!("/streams/{id}/r240/index.m3u8")).await;
    assert!(lower_playlist.contains("#EXT-X-ENDLIST"), "listed only when complete: {lower_playlist}");
    let lower = durations(&lower_playlist);
    assert_eq!(first.len(), lower.len(), "as many segments: {first:?} vs {lower:?}");
    // Same cut times (an fMP4 segment and its MPEG-TS twin may count the encoder's start delay differently).
    let ends = |d: &[f64]| d.iter().scan(0.0, |at, x| Some(*at + x)).collect::<Vec<f64>>();
    for (a, b) in ends(&first).iter().zip(ends(&lower)).take(first.len() - 1) {
        assert!((a - b).abs() < 0.1, "segments end at {a} and {b}: {first:?} vs {lower:?}");
    }

    let decoded = decode_hls(&server.url(&format!("/streams/{id}/r240/index.m3u8")));
    assert_eq!((decoded.width, decoded.height), size);
    assert!((decoded.duration - source_duration(source)).abs() < 0.5, "decoded {}s", decoded.duration);
}

#[tokio::test]
async fn a_ready_video_gains_a_lower_rendition_cut_like_its_first_and_gone_with_it() {
    let server = Server::start(&[("FLICK_PROCESSING__LADDER", LADDER), ("FLICK_PROCESSING__LADDER_WORKERS", "1")]);

    // Re-encoded (HEVC) to MPEG-TS at 640x360: a 426x240 rendition follows.
    let reencoded = fixture("hevc_aac_20s.mov");
    let (status, body) = upload(&server, &reencoded, "hevc.mov").await;
    assert_eq!(status, 201, "{body}");
    let (id, token) = (body["id"].as_str().unwrap().to_owned(), body["manageToken"].as_str().unwrap().to_owned());
    assert_eq!(wait_done(&server, &id, Duration::from_secs(120)).await["status"], "ready");
    check_rendition(&server, &id, (426, 240), &reencoded).await;

    // Served from its original (H.264 portrait, 720x1280): a 240x426 rendition follows, beside fMP4.
    let original = fixture("h264_aac_portrait.mp4");
    let (status, body) = upload(&server, &original, "portrait.mp4").await;
    assert_eq!(status, 201, "{body}");
    let portrait = body["id"].as_str().unwrap().to_owned();
    assert_eq!(wait_done(&server, &portrait, Duration::from_secs(60)).await["status"], "ready");
    check_rendition(&server, &portrait, (240, 426), &original).await;

    // The re-encoded video's original was kept for its ladder only; the one served from its original stays.
    let stored = storage_id(&server.data_dir, &id);
    let served = storage_id(&server.data_dir, &portrait);
    let keys = blob_keys(&server.data_dir).await;
    assert!(!keys.contains(&format!("raw/{stored}")), "{keys:?}");
    assert!(keys.contains(&format!("raw/{served}")), "{keys:?}");
    assert!(keys.iter().any(|k| k.starts_with(&format!("hls/{stored}/r240/seg_"))), "{keys:?}");

    // A rendition name that is not one is not served; nor a file outside the rendition's.
    for path in ["r24x/index.m3u8", "r240/master.m3u8", "r240/init.mp4", "r240/..%2Findex.m3u8", "r/index.m3u8"] {
        let response = client().get(server.url(&format!("/streams/{id}/{path}"))).send().await.unwrap();
        assert_eq!(response.status(), 404, "{path}");
    }

    // Deleted with the video.
    let response = client().delete(server.url(&format!("/api/video/{id}"))).bearer_auth(&token).send().await.unwrap();
    assert_eq!(response.status(), 204);
    let response = client().get(server.url(&format!("/streams/{id}/r240/index.m3u8"))).send().await.unwrap();
    assert_eq!(response.status(), 404);
    let keys = blob_keys(&server.data_dir).await;
    assert!(!keys.iter().any(|k| k.contains(&stored)), "{keys:?}");
}

#[tokio::test]
async fn without_ladder_workers_no_rendition_is_made_and_the_original_goes() {
    let server = Server::start(&[("FLICK_PROCESSING__LADDER", LADDER), ("FLICK_PROCESSING__LADDER_WORKERS", "0")]);
    let (status, body) = upload(&server, &fixture("hevc_aac_20s.mov"), "hevc.mov").await;
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_str().unwrap().to_owned();
    assert_eq!(wait_done(&server, &id, Duration::from_secs(120)).await["status"], "ready");
    // The storyboard is made from the original; then nothing needs it.
    wait_until(&server, &id, Duration::from_secs(60), |v| v["storyboardUrl"].is_string()).await;
    let stored = storage_id(&server.data_dir, &id);
    let start = std::time::Instant::now();
    while blob_keys(&server.data_dir).await.contains(&format!("raw/{stored}")) {
        assert!(start.elapsed() < Duration::from_secs(10), "the original stays");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let master = text(&server, &format!("/streams/{id}/master.m3u8")).await;
    assert_eq!(master.matches("#EXT-X-STREAM-INF").count(), 1, "{master}");
}
