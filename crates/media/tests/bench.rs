//! Encode speed of the transcode path on 1080p (ignored by default: about a minute of work).
//!
//! FLICK_FIXTURES_BENCH=1 bash scripts/fixtures.sh && \
//!   cargo test -p flick-media --test bench -- --ignored --nocapture

mod common;

use std::time::{Duration, Instant};

use common::{fixtures, tools};
use flick_media::{HlsRun, Input, Plan, PlanSettings, hls_args, plan, probe, run_hls};

#[tokio::test]
#[ignore = "slow: measures 1080p re-encode speed"]
async fn transcode_1080p_faster_than_one_and_a_half_real_time() {
    let input = fixtures().join("bench_1080p_60s.mp4");
    assert!(input.exists(), "make it with: FLICK_FIXTURES_BENCH=1 bash scripts/fixtures.sh");
    let t = tools();
    let info = probe(&t, &input).await.unwrap();
    // The bench clip is H.264 (it would be remuxed): plan it as if it were not copyable.
    let mut pretend = info.clone();
    pretend.video.codec = "hevc".into();
    let plan = plan(&pretend, &PlanSettings::default()).unwrap();
    assert!(matches!(plan, Plan::Transcode { .. }));
    let dir = tempfile::tempdir().unwrap();
    let run = HlsRun {
        timeout: Duration::from_secs(600),
        ..HlsRun::new(Input::File(input), dir.path().join("out"), plan, info.clone())
    };
    let args: Vec<String> = hls_args(&run).unwrap().iter().map(|a| a.to_string_lossy().into_owned()).collect();
    let shown: Vec<String> =
        args.iter().map(|a| if a.len() > 60 { format!("{}...", &a[..60]) } else { a.clone() }).collect();
    eprintln!("ffmpeg {}", shown.join(" "));
    let started = Instant::now();
    run_hls(&t, &run, None, |_| {}).await.unwrap();
    let elapsed = started.elapsed().as_secs_f64();
    let speed = info.duration_seconds / elapsed;
    eprintln!("{:.1}s of 1080p encoded in {elapsed:.1}s: {speed:.2}x real time", info.duration_seconds);
    assert!(speed >= 1.5, "{speed:.2}x");
}
