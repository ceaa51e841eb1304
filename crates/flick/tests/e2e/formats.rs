//! Every supported kind of input becomes a complete, correctly oriented HLS stream with a thumbnail,
//! and its raw upload is deleted.

use std::time::Duration;

use crate::common::*;

/// (fixture, upload name, expected displayed width > height?)
const GOOD: &[(&str, &str, bool)] = &[
    ("h264_aac_moov_end.mp4", "moov end.mp4", true),
    ("h264_aac_faststart.mp4", "faststart.mp4", true),
    ("hevc_rot90.mov", "phone.mov", false),
    ("vp9_opus.webm", "screen.webm", true),
    ("h264_aac.mkv", "export.mkv", true),
    ("h264_opus.mkv", "opus audio.mkv", true),
    ("h264_10bit.mp4", "ten bit.mp4", true),
    ("mpeg4_mp3.mov", "old camera.mov", true),
    ("short_1s.mp4", "short.mp4", true),
    ("vfr_noaudio.mp4", "vfr.mp4", true),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_supported_input_becomes_a_complete_stream() {
    let server = Server::start(&[]);
    let mut uploaded = Vec::new();
    for (fixture_name, upload_name, landscape) in GOOD {
        let path = fixture(fixture_name);
        let (code, body) = upload(&server, &path, upload_name).await;
        assert_eq!(code, 201, "{fixture_name}: {body}");
        let id = body["id"].as_str().expect("id").to_owned();
        assert_eq!(body["url"], format!("/v/{id}"));
        assert_eq!(body["statusUrl"], format!("/api/video/{id}"));
        assert_eq!(body["streamUrl"], format!("/streams/{id}/master.m3u8"));
        assert_eq!(body["thumbnailUrl"], format!("/thumbnails/{id}.jpg"));
        assert!(body["manageToken"].as_str().is_some_and(|t| t.len() >= 32));
        uploaded.push((fixture_name, path, id, *landscape));
    }
    for (fixture_name, path, id, landscape) in uploaded {
        let v = wait_done(&server, &id, Duration::from_secs(180)).await;
        assert_eq!(v["status"], "ready", "{fixture_name}: {v}");
        assert_eq!(v["playable"], true);
        assert_eq!(v["progress"], 1.0);
        assert!(v["error"].is_null());

        let source = source_duration(&path);
        let decoded = decode_hls(&server.url(&format!("/streams/{id}/master.m3u8")));
        assert!(
            (decoded.duration - source).abs() <= 0.5,
            "{fixture_name}: decoded {:.2}s, source {source:.2}s",
            decoded.duration
        );
        assert_eq!(
            decoded.width > decoded.height,
            landscape,
            "{fixture_name}: orientation {}x{}",
            decoded.width,
            decoded.height
        );
        assert_eq!(v["width"].as_u64(), Some(decoded.width as u64), "{fixture_name}: {v}");
        assert_eq!(v["height"].as_u64(), Some(decoded.height as u64), "{fixture_name}: {v}");
        let reported = v["durationSeconds"].as_f64().expect("duration");
        assert!((reported - source).abs() <= 0.5, "{fixture_name}: reported {reported}");

        // The thumbnail is a JPEG.
        let thumb_url = v["thumbnailUrl"].as_str().unwrap_or_else(|| panic!("{fixture_name}: no thumbnail: {v}"));
        let resp = client().get(server.url(thumb_url)).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["content-type"], "image/jpeg");
        let bytes = resp.bytes().await.unwrap();
        assert_eq!(&bytes[..3], &[0xFF, 0xD8, 0xFF], "{fixture_name}: thumbnail is not a JPEG");

        // Once its storyboard is made from it, the raw upload is kept only when it is what viewers are served (fMP4
        // cut from it).
        wait_until(&server, &id, Duration::from_secs(60), |v| v["storyboardUrl"].is_string()).await;
        let raw = format!("raw/{}", storage_id(&server.data_dir, &id));
        let playlist = client().get(server.url(&format!("/streams/{id}/index.m3u8"))).send().await.unwrap();
        let from_original = playlist.text().await.unwrap().contains("#EXT-X-MAP:URI=\"init.mp4\"");
        let start = std::time::Instant::now();
        let kept = loop {
            let kept = blob_keys(&server.data_dir).await.contains(&raw);
            if kept == from_original || start.elapsed() > Duration::from_secs(10) {
                break kept;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert_eq!(kept, from_original, "{fixture_name}: raw upload kept: {kept}, served from it: {from_original}");
    }
    // Nothing is left in the scratch areas.
    assert!(files_under(&server.data_dir.join("tmp")).is_empty());
    assert!(files_under(&server.data_dir.join("work")).is_empty(), "{:?}", files_under(&server.data_dir.join("work")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn playlists_are_event_then_vod_and_first_segment_is_short() {
    let server = Server::start(&[]);
    let (code, body) = upload(&server, &fixture("hevc_rot90.mov"), "clip.mov").await;
    assert_eq!(code, 201, "{body}");
    let id = body["id"].as_str().unwrap().to_owned();
    let v = wait_done(&server, &id, Duration::from_secs(120)).await;
    assert_eq!(v["status"], "ready", "{v}");

    let c = client();
    let master = c.get(server.url(&format!("/streams/{id}/master.m3u8"))).send().await.unwrap();
    assert_eq!(master.headers()["content-type"], "application/vnd.apple.mpegurl");
    let master = master.text().await.unwrap();
    assert!(master.contains("CODECS=\"avc1."), "{master}");
    assert!(master.contains("RESOLUTION="), "{master}");
    assert!(master.contains("BANDWIDTH="), "{master}");

    let media = c.get(server.url(&format!("/streams/{id}/index.m3u8"))).send().await.unwrap().text().await.unwrap();
    assert!(media.contains("#EXT-X-ENDLIST"), "{media}");
    let first: f64 = media
        .lines()
        .find_map(|l| l.strip_prefix("#EXTINF:"))
        .and_then(|d| d.trim_end_matches(',').split(',').next())
        .and_then(|d| d.parse().ok())
        .expect("a segment");
    assert!(first <= 1.6, "first segment lasts {first}s:\n{media}");

    // Segments: exact type, cacheable for ever, ranges honoured.
    let seg = media.lines().find(|l| l.ends_with(".ts")).expect("segment uri");
    let url = server.url(&format!("/streams/{id}/{seg}"));
    let whole = c.get(&url).send().await.unwrap();
    assert_eq!(whole.headers()["content-type"], "video/mp2t");
    assert!(whole.headers()["cache-control"].to_str().unwrap().contains("immutable"));
    let whole = whole.bytes().await.unwrap();
    let part = c.get(&url).header("Range", "bytes=188-375").send().await.unwrap();
    assert_eq!(part.status(), 206);
    assert_eq!(part.headers()["content-range"], format!("bytes 188-375/{}", whole.len()));
    assert_eq!(part.bytes().await.unwrap(), whole.slice(188..376));
    let bad = c.get(&url).header("Range", format!("bytes={}-", whole.len() + 10)).send().await.unwrap();
    assert_eq!(bad.status(), 416);
}
