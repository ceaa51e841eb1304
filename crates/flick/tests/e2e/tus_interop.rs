//! tus clients Flick did not write (tus-js-client under Node, tuspy under Python) upload a real clip in
//! chunks, are interrupted part-way, resume from the server's offset, and the video ends ready and decodes; and
//! tus-js-client's `parallelUploads` (three partial uploads joined by a final one: the concatenation extension) ends
//! the same way.
//! The clients are installed and run by scripts/interop-tests.sh (npm ci, a venv under target/).
//! Set FLICK_SKIP_INTEROP=1 to skip on a machine without node/npm/python3 or registry access.

use std::process::Command;
use std::time::Duration;

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tus_js_client_and_tuspy_resume_and_the_videos_play() {
    if std::env::var_os("FLICK_SKIP_INTEROP").is_some_and(|v| v == "1") {
        eprintln!("FLICK_SKIP_INTEROP=1: skipped");
        return;
    }
    let server = Server::start(&[]);
    let clip = fixture("h264_aac_faststart.mp4");
    let script = repo_root().join("scripts/interop-tests.sh");
    let base = server.base.clone();
    let out = tokio::task::spawn_blocking(move || Command::new("bash").arg(script).arg(&base).arg(&clip).output())
        .await
        .unwrap()
        .expect("run scripts/interop-tests.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "interop clients failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let results: Vec<serde_json::Value> =
        stdout.lines().filter(|l| l.starts_with('{')).map(|l| serde_json::from_str(l).unwrap()).collect();
    let clients: Vec<&str> = results.iter().filter_map(|r| r["client"].as_str()).collect();
    assert_eq!(clients, ["tus-js-client", "tus-js-client parallelUploads", "tuspy"], "{stdout}");

    let source = source_duration(&fixture("h264_aac_faststart.mp4"));
    for r in &results {
        let resumed = r["resumedFrom"].as_u64().unwrap_or(0) > 0;
        assert!(resumed || r["parts"] == 3, "{r}: did not resume");
        // A client that knows nothing of Flick learns the share link from the upload URL (HEAD: Flick-Share-Url).
        let upload = server.url(&format!("/api/uploads/{}", r["id"].as_str().unwrap()));
        let head = client().head(&upload).header("tus-resumable", "1.0.0").send().await.unwrap();
        assert_eq!(head.status(), 200, "{r}");
        let share = head.headers()["flick-share-url"].to_str().unwrap().to_owned();
        let id = share.trim_start_matches("/v/");
        let v = wait_done(&server, id, Duration::from_secs(60)).await;
        assert_eq!(v["status"], "ready", "{r}: {v}");
        assert_eq!(v["title"], "h264_aac_faststart");
        let decoded = decode_hls(&server.url(&format!("/streams/{id}/master.m3u8")));
        assert!((decoded.duration - source).abs() < 0.5, "{r}: decoded {} s of {source} s", decoded.duration);
    }
}
