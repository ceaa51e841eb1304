//! Crash safety: SIGKILL the server in the middle of a re-encode; after a restart the video ends ready.

use std::time::{Duration, Instant};

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_a_reencode_then_restart_ends_ready() {
    let mut server = Server::start(&[]);
    let clip = fixture("crash_reencode.mov");
    let (code, body) = upload(&server, &clip, "long.mov").await;
    assert_eq!(code, 201, "{body}");
    let id = body["id"].as_str().unwrap().to_owned();

    // Wait until the re-encode is under way (playable, not finished), then crash.
    let start = Instant::now();
    loop {
        let v = status(&server, &id).await;
        assert_eq!(v["status"], "processing", "the re-encode ended before the crash could happen: {v}");
        if v["playable"] == true {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "never became playable: {v}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let data_dir = server.data_dir.clone();
    let temp = server.take_temp();
    server.kill9();
    // The killed server's ffmpeg dies with it (it would otherwise keep writing into the data dir).
    let deadline = Instant::now() + Duration::from_secs(5);
    while !processes_mentioning(&data_dir).is_empty() {
        assert!(Instant::now() < deadline, "ffmpeg outlived the killed server: {:?}", processes_mentioning(&data_dir));
        std::thread::sleep(Duration::from_millis(50));
    }
    let server = Server::start_on(&data_dir, &[]);
    let v = wait_done(&server, &id, Duration::from_secs(240)).await;
    assert_eq!(v["status"], "ready", "{v}");
    let decoded = decode_hls(&server.url(&format!("/streams/{id}/master.m3u8")));
    let source = source_duration(&clip);
    assert!((decoded.duration - source).abs() <= 0.5, "decoded {} vs {source}", decoded.duration);
    assert!(!blob_keys(&data_dir).await.contains(&format!("raw/{}", storage_id(&data_dir, &id))));
    drop(server);
    drop(temp);
}

/// Command lines of running processes that mention `path`.
fn processes_mentioning(path: &std::path::Path) -> Vec<String> {
    let needle = path.display().to_string();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        if let Ok(raw) = std::fs::read(entry.path().join("cmdline")) {
            let cmdline = String::from_utf8_lossy(&raw).replace('\0', " ");
            if cmdline.contains(&needle) {
                found.push(cmdline);
            }
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_gracefully_and_the_interrupted_job_resumes() {
    let mut server = Server::start(&[]);
    let clip = fixture("crash_reencode.mov");
    let (code, body) = upload(&server, &clip, "long.mov").await;
    assert_eq!(code, 201, "{body}");
    let id = body["id"].as_str().unwrap().to_owned();
    let start = Instant::now();
    while status(&server, &id).await["playable"] != true {
        assert!(start.elapsed() < Duration::from_secs(60), "never became playable");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // SIGTERM: the server stops on its own, promptly and cleanly, killing its ffmpeg.
    let pid = server.child.id() as libc::pid_t;
    // SAFETY: signalling our own child process.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let deadline = Instant::now() + Duration::from_secs(20);
    let exit = loop {
        if let Some(status) = server.child.try_wait().expect("wait") {
            break status;
        }
        assert!(Instant::now() < deadline, "the server did not stop within 20 s of SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "graceful shutdown should exit 0, got {exit:?}");
    let data_dir = server.data_dir.clone();
    assert!(processes_mentioning(&data_dir).is_empty(), "{:?}", processes_mentioning(&data_dir));

    let temp = server.take_temp();
    drop(server);
    let server = Server::start_on(&data_dir, &[]);
    let v = wait_done(&server, &id, Duration::from_secs(240)).await;
    assert_eq!(v["status"], "ready", "{v}");
    drop(server);
    drop(temp);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_thumbnail_is_made_again_at_start_up() {
    let mut server = Server::start(&[]);
    let (code, body) = upload(&server, &fixture("h264_aac_gop1.mp4"), "clip.mp4").await;
    assert_eq!(code, 201, "{body}");
    let id = body["id"].as_str().unwrap().to_owned();
    let v = wait_done(&server, &id, Duration::from_secs(60)).await;
    assert_eq!(v["status"], "ready", "{v}");
    let data_dir = server.data_dir.clone();
    let temp = server.take_temp();
    server.kill9();

    // As if the thumbnail had failed: no file, and the record says so.
    let thumb = flick_domain::ports::BlobKey::new(format!("thumbs/{}.jpg", storage_id(&data_dir, &id))).unwrap();
    let store = blob_store_for(&data_dir);
    assert!(store.len(&thumb).await.unwrap().is_some(), "the thumbnail was stored");
    store.delete(&thumb).await.unwrap();
    run_sql(&data_dir, &format!("UPDATE videos SET has_thumbnail = false WHERE share_id = '{id}'"));

    let server = Server::start_on(&data_dir, &[]);
    assert!(status(&server, &id).await["status"] == "ready");
    let start = Instant::now();
    let url = loop {
        let v = status(&server, &id).await;
        if let Some(url) = v["thumbnailUrl"].as_str() {
            break url.to_owned();
        }
        assert!(start.elapsed() < Duration::from_secs(30), "thumbnail not restored: {v}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let bytes = client().get(server.url(&url)).send().await.unwrap().bytes().await.unwrap();
    assert_eq!(&bytes[..3], &[0xFF, 0xD8, 0xFF]);
    drop(server);
    drop(temp);
}

/// A crash while a lower rendition is being encoded: nothing half made is listed, and after the restart the ladder is
/// made again, whole (issue 13).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ladder_cut_short_by_a_crash_is_never_half_listed_and_made_again() {
    let clip = fixture("h264_aac_1080p_60s.mp4");
    let ladder = [("FLICK_PROCESSING__LADDER_WORKERS", "1")];
    let mut server = Server::start(&ladder);
    let (code, body) = upload(&server, &clip, "clip.mp4").await;
    assert_eq!(code, 201, "{body}");
    let id = body["id"].as_str().unwrap().to_owned();
    assert_eq!(wait_done(&server, &id, Duration::from_secs(60)).await["status"], "ready");
    let data_dir = server.data_dir.clone();
    // Crash once ffmpeg writes the 720p rendition.
    let start = Instant::now();
    while !processes_mentioning(&data_dir).iter().any(|p| p.contains("/r720/")) {
        assert!(start.elapsed() < Duration::from_secs(60), "the 720p rendition never started");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let master = |server: &Server| {
        let url = server.url(&format!("/streams/{id}/master.m3u8"));
        async move { client().get(url).send().await.unwrap().text().await.unwrap() }
    };
    assert_eq!(master(&server).await.matches("#EXT-X-STREAM-INF").count(), 1, "nothing listed mid-encode");
    let temp = server.take_temp();
    server.kill9();

    let server = Server::start_on(&data_dir, &ladder);
    assert_eq!(master(&server).await.matches("#EXT-X-STREAM-INF").count(), 1, "nothing half made is listed");
    let start = Instant::now();
    let listed = loop {
        let text = master(&server).await;
        if text.matches("#EXT-X-STREAM-INF").count() == 3 {
            break text;
        }
        assert!(start.elapsed() < Duration::from_secs(300), "the ladder was not made again: {text}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert!(listed.contains("r720/index.m3u8") && listed.contains("r360/index.m3u8"), "{listed}");
    let count = |text: String| text.matches("#EXTINF").count();
    let first = count(
        client().get(server.url(&format!("/streams/{id}/index.m3u8"))).send().await.unwrap().text().await.unwrap(),
    );
    let lower = count(
        client().get(server.url(&format!("/streams/{id}/r720/index.m3u8"))).send().await.unwrap().text().await.unwrap(),
    );
    assert_eq!(first, lower, "the 720p rendition is whole");
    let decoded = decode_hls(&server.url(&format!("/streams/{id}/r720/index.m3u8")));
    assert_eq!((decoded.width, decoded.height), (1280, 720));
    assert!((decoded.duration - source_duration(&clip)).abs() <= 0.5, "decoded {}", decoded.duration);
    drop(server);
    drop(temp);
}
