//! What a viewer gets beside the stream (issue 13): seek-bar previews (a storyboard of sprite tiles and its WebVTT
//! track), caption tracks the owner adds (cleaned to plain WebVTT, listed as HLS subtitles), the owner's own download
//! switch (an MP4 of the stream where the original is gone), and the embeddable player with its link-preview tags.

use std::time::Duration;

use serde_json::{Value, json};

use crate::common::{Server, blob_keys, client, fixture, status, storage_id, upload_ready, wait_until};

async fn get(server: &Server, path: &str) -> reqwest::Response {
    client().get(server.url(path)).send().await.unwrap()
}

async fn text(server: &Server, path: &str) -> String {
    let r = get(server, path).await;
    assert_eq!(r.status(), 200, "{path}");
    r.text().await.unwrap()
}

/// The storyboard's cues: (start, end, sprite, x, y, w, h).
fn cues(vtt: &str) -> Vec<(String, String, String, u32, u32, u32, u32)> {
    let mut out = Vec::new();
    let mut lines = vtt.lines();
    while let Some(line) = lines.next() {
        let Some((start, end)) = line.split_once(" --> ") else { continue };
        let target = lines.next().unwrap();
        let (sprite, xywh) = target.split_once("#xywh=").unwrap();
        let n: Vec<u32> = xywh.split(',').map(|v| v.parse().unwrap()).collect();
        out.push((start.into(), end.into(), sprite.into(), n[0], n[1], n[2], n[3]));
    }
    out
}

/// Width and height of a JPEG, as ffprobe reads it.
fn jpeg_size(bytes: &[u8]) -> (u32, u32) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sprite.jpg");
    std::fs::write(&path, bytes).unwrap();
    let out = std::process::Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", "stream=width,height", "-of", "csv=p=0"])
        .arg(&path)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let (w, h) = text.trim().split_once(',').unwrap();
    (w.parse().unwrap(), h.parse().unwrap())
}

#[tokio::test]
async fn a_ready_video_gets_a_storyboard_of_keyframe_tiles_gone_with_it() {
    let server = Server::start(&[]);
    // Served from its original (30 s, 16:9) and re-encoded (rotated: upright, it is portrait).
    for (file, tiles, (w, h)) in [("h264_aac_30s.mp4", 15, (160, 90)), ("hevc_rot90.mov", 0, (90, 160))] {
        let (id, token) = upload_ready(&server, file, file).await;
        let v = wait_until(&server, &id, Duration::from_secs(60), |v| v["storyboardUrl"].is_string()).await;
        let url = v["storyboardUrl"].as_str().unwrap();
        assert_eq!(url, format!("/streams/{id}/storyboard.vtt"));
        let r = get(&server, url).await;
        assert_eq!(r.headers()["content-type"], "text/vtt; charset=utf-8");
        let vtt = r.text().await.unwrap();
        assert!(vtt.starts_with("WEBVTT\n"), "{vtt}");
        let cues = cues(&vtt);
        let expected = if tiles > 0 { tiles } else { (v["durationSeconds"].as_f64().unwrap() / 2.0).ceil() as usize };
        assert_eq!(cues.len(), expected, "one tile every 2 s: {vtt}");
        assert_eq!(cues[0].0, "00:00:00.000");
        assert_eq!(cues[1].0, "00:00:02.000");
        for (i, cue) in cues.iter().enumerate() {
            let i = i as u32;
            assert_eq!(cue.2, "storyboard-000.jpg");
            assert_eq!((cue.3, cue.4, cue.5, cue.6), ((i % 10) * w, (i / 10) * h, w, h), "tile {i}");
        }
        let sprite = get(&server, &format!("/streams/{id}/storyboard-000.jpg")).await;
        assert_eq!(sprite.status(), 200);
        assert_eq!(sprite.headers()["content-type"], "image/jpeg");
        let bytes = sprite.bytes().await.unwrap();
        assert_eq!(jpeg_size(&bytes), (10 * w, 10 * h));
        assert_eq!(get(&server, &format!("/streams/{id}/storyboard-001.jpg")).await.status(), 404);
        assert_eq!(get(&server, &format!("/streams/{id}/storyboard-1.jpg")).await.status(), 404);

        // Deleted with the video.
        let stored = storage_id(&server.data_dir, &id);
        let r = client().delete(server.url(&format!("/api/video/{id}"))).bearer_auth(&token).send().await.unwrap();
        assert_eq!(r.status(), 204);
        assert_eq!(get(&server, url).await.status(), 404);
        let start = std::time::Instant::now();
        while blob_keys(&server.data_dir).await.iter().any(|k| k.contains(&stored)) {
            assert!(start.elapsed() < Duration::from_secs(20), "{:?}", blob_keys(&server.data_dir).await);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

async fn add_caption(server: &Server, id: &str, token: Option<&str>, query: &str, body: &[u8]) -> (u16, Value) {
    let mut request = client().post(server.url(&format!("/api/video/{id}/captions?{query}"))).body(body.to_vec());
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let r = request.send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

const SRT: &[u8] = b"1\r\n00:00:01,000 --> 00:00:03,500\r\n<b>Hello</b> <script>alert(1)</script>\r\n\r\n\
2\r\n00:00:04,000 --> 00:00:06,000\r\nFish & chips\r\n";

#[tokio::test]
async fn captions_are_cleaned_listed_as_subtitles_and_removed() {
    let server = Server::start(&[]);
    let (id, token) = upload_ready(&server, "h264_aac_faststart.mp4", "h264_aac_faststart.mp4").await;

    let (code, body) = add_caption(&server, &id, Some(&token), "lang=en&label=English", SRT).await;
    assert_eq!(code, 201, "{body}");
    assert_eq!(body, json!({"lang": "en", "label": "English", "url": format!("/streams/{id}/captions/en.vtt")}));
    assert_eq!(status(&server, &id).await["captions"], json!([body]));

    // Text only, tied to the fMP4 timeline (which starts at 0).
    let vtt = text(&server, &format!("/streams/{id}/captions/en.vtt")).await;
    assert_eq!(
        vtt,
        "WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:0,LOCAL:00:00:00.000\n\n00:00:01.000 --> 00:00:03.500\nHello alert(1)\n\n\
         00:00:04.000 --> 00:00:06.000\nFish &amp; chips\n"
    );
    let master = text(&server, &format!("/streams/{id}/master.m3u8")).await;
    assert!(
        master.contains(
            "#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID=\"subs\",NAME=\"English\",LANGUAGE=\"en\",AUTOSELECT=YES,\
             DEFAULT=NO,URI=\"captions/en.m3u8\"\n"
        ),
        "{master}"
    );
    assert!(master.lines().filter(|l| l.starts_with("#EXT-X-STREAM-INF")).all(|l| l.ends_with(",SUBTITLES=\"subs\"")));
    let list = text(&server, &format!("/streams/{id}/captions/en.m3u8")).await;
    assert!(list.contains("\nen.vtt\n#EXT-X-ENDLIST\n"), "{list}");

    // The same language again replaces it; a label defaults to the language.
    let (code, _) =
        add_caption(&server, &id, Some(&token), "lang=pt-BR", b"WEBVTT\n\n00:01.000 --> 00:02.000\nOla\n").await;
    assert_eq!(code, 201);
    let (code, body) = add_caption(&server, &id, Some(&token), "lang=en&label=English%20(CC)", SRT).await;
    assert_eq!((code, body["label"].as_str()), (201, Some("English (CC)")));
    let labels: Vec<_> =
        status(&server, &id).await["captions"].as_array().unwrap().iter().map(|c| c["label"].clone()).collect();
    assert_eq!(labels, [json!("English (CC)"), json!("pt-BR")]);

    // Bad requests: no token, another's token, a bad language or label, not captions, too large.
    assert_eq!(add_caption(&server, &id, None, "lang=en", SRT).await.0, 401);
    let (other, other_token) = upload_ready(&server, "h264_aac_faststart.mp4", "h264_aac_faststart.mp4").await;
    assert_eq!(add_caption(&server, &id, Some(&other_token), "lang=en", SRT).await.0, 403);
    for (query, code) in [
        ("lang=english", "invalid_caption_lang"),
        ("", "invalid_caption_lang"),
        ("lang=en&label=a%22b", "invalid_caption_label"),
    ] {
        let (status, body) = add_caption(&server, &id, Some(&token), query, SRT).await;
        assert_eq!((status, body["error"]["code"].as_str()), (400, Some(code)), "{query}");
    }
    let (status_code, body) = add_caption(&server, &id, Some(&token), "lang=de", b"\x00\x01 not captions").await;
    assert_eq!((status_code, body["error"]["code"].as_str()), (400, Some("invalid_captions")));
    let big = SRT.repeat(600_000 / SRT.len());
    assert_eq!(add_caption(&server, &id, Some(&token), "lang=de", &big).await.0, 413);
    assert_eq!(get(&server, &format!("/streams/{id}/captions/de.vtt")).await.status(), 404);
    assert_eq!(get(&server, &format!("/streams/{id}/captions/..%2Fx.vtt")).await.status(), 404);
    assert_eq!(get(&server, &format!("/streams/{other}/captions/en.vtt")).await.status(), 404);

    // Removed: gone from the status, the master playlist and the stream.
    let delete = |lang: &str| {
        client().delete(server.url(&format!("/api/video/{id}/captions/{lang}"))).bearer_auth(&token).send()
    };
    assert_eq!(delete("en").await.unwrap().status(), 204);
    assert_eq!(delete("en").await.unwrap().status(), 404);
    assert_eq!(delete("pt-BR").await.unwrap().status(), 204);
    assert_eq!(status(&server, &id).await["captions"], json!([]));
    assert_eq!(get(&server, &format!("/streams/{id}/captions/en.vtt")).await.status(), 404);
    assert!(!text(&server, &format!("/streams/{id}/master.m3u8")).await.contains("SUBTITLES"));
    let stored = storage_id(&server.data_dir, &id);
    assert!(!blob_keys(&server.data_dir).await.iter().any(|k| k.contains(&stored) && k.contains("captions")));
}

#[tokio::test]
async fn captions_of_an_mpeg_ts_stream_start_at_its_first_timestamp() {
    let server = Server::start(&[]);
    let (id, token) = upload_ready(&server, "hevc_aac_20s.mov", "hevc_aac_20s.mov").await;
    assert_eq!(add_caption(&server, &id, Some(&token), "lang=en", SRT).await.0, 201);
    let vtt = text(&server, &format!("/streams/{id}/captions/en.vtt")).await;
    let map = vtt.lines().nth(1).unwrap();
    let pts: u64 = map.strip_prefix("X-TIMESTAMP-MAP=MPEGTS:").unwrap().split(',').next().unwrap().parse().unwrap();
    // What ffprobe says the first segment starts at.
    let playlist = text(&server, &format!("/streams/{id}/index.m3u8")).await;
    let first = playlist.lines().find(|l| !l.starts_with('#') && !l.is_empty()).unwrap();
    let out = std::process::Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", "format=start_time", "-of", "csv=p=0"])
        .arg(server.url(&format!("/streams/{id}/{first}")))
        .output()
        .unwrap();
    let start: f64 = String::from_utf8(out.stdout).unwrap().trim().parse().unwrap();
    assert!(pts > 0 && (pts as f64 / 90_000.0 - start).abs() < 0.1, "map {pts}, first segment starts at {start}");
}

#[tokio::test]
async fn the_owner_switches_downloads_for_one_video() {
    let server = Server::start(&[]);
    let (id, token) = upload_ready(&server, "h264_aac_faststart.mp4", "h264_aac_faststart.mp4").await;
    let patch =
        |body: Value| client().patch(server.url(&format!("/api/video/{id}"))).bearer_auth(&token).json(&body).send();
    let owner = |token: String| {
        let url = server.url(&format!("/api/video/{id}"));
        async move { client().get(url).bearer_auth(token).send().await.unwrap().json::<Value>().await.unwrap() }
    };
    assert_eq!(owner(token.clone()).await["allowDownload"], false, "the site's default");
    assert!(status(&server, &id).await["downloadUrl"].is_null());

    let r = patch(json!({"allowDownload": true})).await.unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        (body["allowDownload"].clone(), body["downloadUrl"].clone()),
        (json!(true), json!(format!("/v/{id}/download")))
    );
    let r = get(&server, &format!("/v/{id}/download")).await;
    assert_eq!(r.status(), 200);
    assert!(r.bytes().await.unwrap() == std::fs::read(fixture("h264_aac_faststart.mp4")).unwrap());

    let r = patch(json!({"allowDownload": "yes"})).await.unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], "invalid_allow_download");
    assert_eq!(patch(json!({"allowDownload": false})).await.unwrap().status(), 200);
    assert_eq!(get(&server, &format!("/v/{id}/download")).await.status(), 404);
    assert!(status(&server, &id).await["downloadUrl"].is_null());
}

#[tokio::test]
async fn a_reencoded_video_whose_original_is_gone_downloads_as_an_mp4_of_its_stream() {
    let server = Server::start(&[]);
    let (id, token) = upload_ready(&server, "hevc_aac_20s.mov", "Holiday.mov").await;
    // Its original goes once the storyboard is made from it.
    wait_until(&server, &id, Duration::from_secs(60), |v| v["storyboardUrl"].is_string()).await;
    let stored = storage_id(&server.data_dir, &id);
    let start = std::time::Instant::now();
    while blob_keys(&server.data_dir).await.contains(&format!("raw/{stored}")) {
        assert!(start.elapsed() < Duration::from_secs(10), "the original stays");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let r = client()
        .patch(server.url(&format!("/api/video/{id}")))
        .bearer_auth(&token)
        .json(&json!({"allowDownload": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v = wait_until(&server, &id, Duration::from_secs(60), |v| v["downloadUrl"].is_string()).await;
    let r = get(&server, v["downloadUrl"].as_str().unwrap()).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "video/mp4");
    let disposition = r.headers()["content-disposition"].to_str().unwrap().to_owned();
    assert!(disposition.starts_with("attachment; filename=\"Holiday.mp4\""), "{disposition}");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("Holiday.mp4");
    std::fs::write(&path, r.bytes().await.unwrap()).unwrap();
    // An MP4 of the stream: H.264 and AAC, as long as the upload.
    let out = std::process::Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", "stream=codec_name:format=format_name,duration", "-of", "default=nw=1"])
        .arg(&path)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("codec_name=h264") && text.contains("codec_name=aac"), "{text}");
    assert!(text.contains("format_name=mov,mp4"), "{text}");
    let duration: f64 = text.lines().find_map(|l| l.strip_prefix("duration=")).unwrap().parse().unwrap();
    assert!((duration - crate::common::source_duration(&fixture("hevc_aac_20s.mov"))).abs() < 0.5, "{duration}");
    // Gone with the video.
    let r = client().delete(server.url(&format!("/api/video/{id}"))).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), 204);
    let start = std::time::Instant::now();
    while blob_keys(&server.data_dir).await.iter().any(|k| k.contains(&stored)) {
        assert!(start.elapsed() < Duration::from_secs(20), "{:?}", blob_keys(&server.data_dir).await);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn the_embed_page_alone_may_be_framed_and_link_previews_point_at_it() {
    let server = Server::start(&[]);
    let (id, token) = upload_ready(&server, "h264_aac_faststart.mp4", "h264_aac_faststart.mp4").await;
    let v = status(&server, &id).await;
    assert_eq!(v["embedUrl"], format!("/embed/{id}"));

    let embed = get(&server, &format!("/embed/{id}")).await;
    assert_eq!(embed.status(), 200);
    let csp = embed.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.ends_with("frame-ancestors *"), "{csp}");
    assert!(embed.headers().get("x-frame-options").is_none());

    let share = get(&server, &format!("/v/{id}")).await;
    let csp = share.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(share.headers()["x-frame-options"], "DENY");
    let html = share.text().await.unwrap();
    let base = server.url("");
    for tag in [
        format!("<meta property=\"og:video\" content=\"{base}/embed/{id}\">"),
        "<meta property=\"og:video:type\" content=\"text/html\">".to_owned(),
        "<meta property=\"og:description\" content=\"A video shared privately with Flick (0:05).\">".to_owned(),
        "<meta property=\"og:image:width\" content=\"640\">".to_owned(),
        "<meta property=\"og:image:height\" content=\"360\">".to_owned(),
        "<meta property=\"og:image:alt\" content=\"A frame of h264_aac_faststart\">".to_owned(),
        "<meta name=\"twitter:card\" content=\"player\">".to_owned(),
    ] {
        assert!(html.contains(&tag), "{tag} in {html}");
    }

    // A protected video's previews name nothing, and unknown embeds are the friendly 404.
    let r = client()
        .patch(server.url(&format!("/api/video/{id}")))
        .bearer_auth(&token)
        .json(&json!({"password": "hunter22"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let html = text(&server, &format!("/v/{id}")).await;
    assert!(!html.contains("og:video") && !html.contains("og:image"), "{html}");
    let missing = get(&server, "/embed/AAAAAAAAAAAAAAAAAAAAAA").await;
    assert_eq!(missing.status(), 404);
    assert!(missing.headers()["content-security-policy"].to_str().unwrap().contains("frame-ancestors 'none'"));
}
