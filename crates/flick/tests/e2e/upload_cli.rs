//! `flick upload`: resumable uploads from the command line. Killed mid-upload, a re-run continues from
//! the server's offset instead of starting over; `--wait` reports the share link and time to playable.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;
use serde_json::Value;

fn flick_upload(state: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_flick"));
    cmd.arg("upload").args(args).env("XDG_STATE_HOME", state).env_remove("FLICK_SERVER");
    cmd
}

fn json_line(out: &Output) -> Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "flick upload failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_str(stdout.lines().next().unwrap_or_default()).expect("a JSON line")
}

/// A ~16 MB clip: the faststart fixture looped, stream-copied.
fn big_clip(dir: &Path) -> std::path::PathBuf {
    let out = dir.join("big.mp4");
    let status = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y", "-stream_loop", "15", "-i"])
        .arg(fixture("h264_aac_faststart.mp4"))
        .args(["-c", "copy", "-movflags", "+faststart"])
        .arg(&out)
        .status()
        .expect("run ffmpeg");
    assert!(status.success());
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_upload_resumes_on_rerun_and_wait_reports_timing() {
    let server = Server::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let clip = big_clip(dir.path());
    let size = std::fs::metadata(&clip).unwrap().len();
    let clip_arg = clip.to_str().unwrap();

    // First run, throttled so that it can be killed part-way.
    let mut child = flick_upload(&state, &[clip_arg, "--server", &server.base, "--chunk-mib", "1", "--json"])
        .args(["--limit-rate", "3000000"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let state_file = state.join("flick/uploads.json");
    let c = client();
    let start = Instant::now();
    let upload_url = loop {
        assert!(start.elapsed() < Duration::from_secs(30), "the upload never got under way");
        tokio::time::sleep(Duration::from_millis(50)).await;
        let Ok(text) = std::fs::read_to_string(&state_file) else { continue };
        let Ok(v) = serde_json::from_str::<Value>(&text) else { continue };
        let Some(url) = v["uploads"].as_object().and_then(|m| m.values().next()).and_then(|p| p["uploadUrl"].as_str())
        else {
            continue;
        };
        let r = c.head(url).header("Tus-Resumable", "1.0.0").send().await.unwrap();
        let offset: u64 = r.headers()["upload-offset"].to_str().unwrap().parse().unwrap();
        if offset >= 3 << 20 {
            break url.to_owned();
        }
    };
    child.kill().unwrap();
    child.wait().unwrap();
    let r = c.head(&upload_url).header("Tus-Resumable", "1.0.0").send().await.unwrap();
    let offset: u64 = r.headers()["upload-offset"].to_str().unwrap().parse().unwrap();
    assert!(offset > 0 && offset < size, "killed at {offset} of {size}: not part-way");

    // Second run: continues from the server's offset, waits until playable.
    let out = flick_upload(&state, &[clip_arg, "--server", &server.base, "--wait", "--json"]).output().unwrap();
    let v = json_line(&out);
    assert_eq!(v["resumedFrom"].as_u64(), Some(offset), "{v}");
    assert_eq!(v["bytes"].as_u64(), Some(size));
    let id = v["id"].as_str().unwrap();
    assert!(upload_url.ends_with(&storage_id(&server.data_dir, id)), "the resumed upload is the same upload");
    assert_eq!(v["url"], format!("{}/v/{id}", server.base));
    assert!(v["playableAfterSeconds"].as_f64().is_some_and(|s| s >= 0.0), "{v}");
    assert_eq!(v["manageToken"].as_str().map(str::len), Some(64));
    let status = wait_done(&server, id, Duration::from_secs(120)).await;
    assert_eq!(status["status"], "ready", "{status}");
    assert_eq!(status["sizeBytes"].as_u64(), Some(size));
    // A finished upload is forgotten: the state file no longer lists it.
    let text = std::fs::read_to_string(&state_file).unwrap();
    assert!(!text.contains(id), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_prints_the_share_link_and_the_time_to_playable() {
    let server = Server::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let clip = fixture("h264_aac_faststart.mp4");
    let out = flick_upload(dir.path(), &[clip.to_str().unwrap(), "--server", &server.base, "--wait"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let link = stdout.split_whitespace().find(|w| w.starts_with(&format!("{}/v/", server.base))).expect("share link");
    assert!(stdout.contains("s after the upload ended"), "{stdout}");
    let page = client().get(link).send().await.unwrap();
    assert_eq!(page.status(), 200);

    // Refusals are reported and the exit status says so.
    let text = dir.path().join("notes.mp4");
    std::fs::write(&text, "just some text, not a video at all, long enough to be sniffed: ........").unwrap();
    let out = flick_upload(dir.path(), &[text.to_str().unwrap(), "--server", &server.base]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("415"), "{}", String::from_utf8_lossy(&out.stderr));
}
