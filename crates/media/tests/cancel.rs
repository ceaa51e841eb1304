//! Stopping ffmpeg: a dropped run_hls future and a timeout both leave no ffmpeg process behind
//! (not even a zombie). One test in its own binary, so no other test's ffmpeg is around.

mod common;

use std::time::{Duration, Instant};

use common::{fixture, tools};
use flick_media::{HlsRun, Input, MediaInfo, PlanSettings, plan, probe, run_hls};

/// Our child processes named ffmpeg, with their state letter (R, S, Z...).
fn ffmpeg_children() -> Vec<(u32, char)> {
    let me = std::process::id();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { continue };
        // pid (comm) state ppid ...
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else { continue };
        let comm = &stat[open + 1..close];
        let mut rest = stat[close + 1..].split_whitespace();
        let state = rest.next().and_then(|s| s.chars().next()).unwrap_or('?');
        let ppid: u32 = rest.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        if ppid == me && comm == "ffmpeg" {
            found.push((pid, state));
        }
    }
    found
}

async fn wait_until_gone(within: Duration) -> Vec<(u32, char)> {
    let start = Instant::now();
    loop {
        let left = ffmpeg_children();
        if left.is_empty() || start.elapsed() > within {
            return left;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn slow_run(info: &MediaInfo, out: std::path::PathBuf, timeout: Duration) -> HlsRun {
    // A 720p re-encode of the seed: a couple of seconds of work, plenty to interrupt.
    let mut pretend = info.clone();
    pretend.video.codec = "hevc".into();
    let plan = plan(&pretend, &PlanSettings::default()).unwrap();
    HlsRun { timeout, ..HlsRun::new(Input::File(fixture("h264_aac_moov_end.mp4")), out, plan, info.clone()) }
}

#[tokio::test]
async fn dropped_or_timed_out_runs_leave_no_ffmpeg_behind() {
    let t = tools();
    let info = probe(&t, &fixture("h264_aac_moov_end.mp4")).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    assert!(ffmpeg_children().is_empty());

    // 1. The caller drops the future while ffmpeg runs.
    let run = slow_run(&info, dir.path().join("dropped"), Duration::from_secs(60));
    // Boxed, so that drop() really drops the future (a pinned local would live on).
    let mut fut = Box::pin(run_hls(&t, &run, None, |_| {}));
    let mut seen_running = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while seen_running.is_empty() && Instant::now() < deadline {
        tokio::select! {
            r = &mut fut => panic!("finished before it could be interrupted: {r:?}"),
            () = tokio::time::sleep(Duration::from_millis(10)) => seen_running = ffmpeg_children(),
        }
    }
    assert!(!seen_running.is_empty(), "ffmpeg was running");
    // Let it get some work done, then drop it.
    tokio::select! {
        r = &mut fut => panic!("finished before it could be interrupted: {r:?}"),
        () = tokio::time::sleep(Duration::from_millis(300)) => {}
    }
    assert!(ffmpeg_children().iter().all(|(_, state)| *state != 'Z'), "still working when dropped");
    drop(fut);
    let left = wait_until_gone(Duration::from_secs(3)).await;
    assert!(left.is_empty(), "ffmpeg left behind after drop: {left:?} (was {seen_running:?})");
    for (pid, _) in seen_running {
        assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists(), "pid {pid} not reaped");
    }

    // 2. The run exceeds its timeout.
    let run = slow_run(&info, dir.path().join("timeout"), Duration::from_millis(400));
    let started = Instant::now();
    let err = run_hls(&t, &run, None, |_| {}).await.unwrap_err();
    assert_eq!(err.code(), "too_slow", "{err}");
    assert!(err.is_permanent(), "a run out of time is not tried again");
    assert!(started.elapsed() < Duration::from_secs(5));
    let left = ffmpeg_children();
    assert!(left.is_empty(), "ffmpeg left behind after timeout: {left:?}");
}
