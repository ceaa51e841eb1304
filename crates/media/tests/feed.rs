//! Reading an upload as it arrives: ffmpeg and ffprobe fed through their stdin, with real clips.

mod common;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use common::{alive, decode, fixture, read_playlist, tools, tools_mentioning, trickle};
use flick_domain::ports::ByteStream;
use flick_media::{
    Demuxer, HlsRun, Input, MediaError, MediaInfo, Plan, PlanSettings, plan, probe, probe_stream, run_hls, thumbnail,
    thumbnail_at,
};
use flick_packaging::playlist::Segment;
use futures_util::StreamExt;

/// Clips made from the fixtures for these tests, once per run.
fn made() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().unwrap()).path()
}

/// Runs ffmpeg (quietly) to make `name` in [`made`] from `args`, once.
fn make(name: &str, args: &[&str]) -> PathBuf {
    static LOCK: Mutex<()> = Mutex::new(());
    let _one_at_a_time = LOCK.lock().unwrap();
    let out = made().join(name);
    if !out.exists() {
        let ok = std::process::Command::new("ffmpeg")
            .args(["-nostdin", "-v", "error", "-y"])
            .args(args)
            .arg(&out)
            .status()
            .unwrap()
            .success();
        assert!(ok, "making {name}");
    }
    out
}

/// h264_aac_gop1.mp4 in Matroska: a keyframe every second, so a remux cuts several segments.
fn gop1_mkv() -> PathBuf {
    let src = fixture("h264_aac_gop1.mp4");
    make("gop1.mkv", &["-i", src.to_str().unwrap(), "-c", "copy"])
}

/// A WebM as a browser's MediaRecorder uploads it: written as it was recorded, no duration, no cues.
fn live_webm() -> PathBuf {
    let src = fixture("vp9_opus.webm");
    make("live.webm", &["-i", src.to_str().unwrap(), "-c", "copy", "-map_metadata", "-1", "-live", "1", "-f", "webm"])
}

fn hls_run(input: Input, info: &MediaInfo, plan: Plan, out_dir: PathBuf, timeout: Duration) -> HlsRun {
    HlsRun { timeout, ..HlsRun::new(input, out_dir, plan, info.clone()) }
}

/// The segments of one run, and its last progress report.
async fn segments_of(run: &HlsRun, feed: Option<ByteStream>) -> (Vec<Segment>, Option<f64>) {
    let last = Arc::new(Mutex::new(None));
    let sink = last.clone();
    run_hls(&tools(), run, feed, move |p| *sink.lock().unwrap() = Some(p))
        .await
        .unwrap_or_else(|e| panic!("{:?}: {e}", run.input));
    let last = *last.lock().unwrap();
    (read_playlist(&run.out_dir), last)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fed_in_small_pieces_ffmpeg_cuts_the_same_segments_as_from_the_file() {
    let t = tools();
    let dir = tempfile::tempdir().unwrap();
    for (path, transcode) in [(gop1_mkv(), false), (fixture("vp9_opus.webm"), true)] {
        let info = probe(&t, &path).await.unwrap();
        let p = plan(&info, &PlanSettings::default()).unwrap();
        assert_eq!(matches!(p, Plan::Transcode { .. }), transcode, "{p:?}");
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let from_file = hls_run(
            Input::File(path.clone()),
            &info,
            p.clone(),
            dir.path().join(format!("{name}-file")),
            Duration::from_secs(60),
        );
        let (file_segments, _) = segments_of(&from_file, None).await;
        let piped = hls_run(Input::Pipe, &info, p, dir.path().join(format!("{name}-pipe")), Duration::from_secs(60));
        let (pipe_segments, progress) =
            segments_of(&piped, Some(trickle(&path, 16 * 1024, Duration::from_millis(2)))).await;
        eprintln!("{name}: file {file_segments:?}\n{name}: pipe {pipe_segments:?}");
        assert!(file_segments.len() >= 2, "{name}: {file_segments:?}");
        assert_eq!(pipe_segments.len(), file_segments.len(), "{name}");
        let frame = 1.0 / info.video.frame_rate.unwrap_or(25.0);
        for (a, b) in pipe_segments.iter().zip(&file_segments) {
            assert!((a.duration - b.duration).abs() <= frame + 1e-6, "{name}: {a:?} vs {b:?}");
        }
        let (ok, duration, stderr) = decode(&piped.out_dir.join("ffmpeg.m3u8"));
        assert!(ok, "{name}: {stderr}");
        assert!((duration - info.duration_seconds).abs() < 0.5, "{name}: {duration}");
        assert_eq!(progress, Some(1.0));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feed_that_fails_midway_stops_ffmpeg_and_is_input_failed() {
    let t = tools();
    let path = gop1_mkv();
    let info = probe(&t, &path).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("abandoned");
    let needle = out.display().to_string();
    // Half the file, then the upload breaks off; the ffmpeg reading it is noted just before.
    let half = std::fs::metadata(&path).unwrap().len() as usize / 2;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen_in = seen.clone();
    let broken = trickle(&path, 32 * 1024, Duration::from_millis(5)).take(half / (32 * 1024)).chain(
        futures_util::stream::once(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            *seen_in.lock().unwrap() = tools_mentioning(&needle);
            Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "the uploader went away"))
        }),
    );
    let run = hls_run(Input::Pipe, &info, Plan::Remux, out.clone(), Duration::from_secs(60));
    let err = run_hls(&t, &run, Some(Box::pin(broken)), |_| {}).await.unwrap_err();
    assert!(matches!(err, MediaError::InputFailed { .. }), "{err}");
    assert!(!err.is_permanent());
    let seen = seen.lock().unwrap().clone();
    assert!(!seen.is_empty(), "ffmpeg was running when the feed failed");
    for pid in seen {
        assert!(!alive(pid), "ffmpeg {pid} outlived its failed input (or was not reaped)");
    }
    // Killed before it could see an end of input: nothing says the output is complete.
    let listed = std::fs::read_to_string(out.join("ffmpeg.m3u8")).unwrap_or_default();
    assert!(!listed.contains("ENDLIST"), "{listed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_feed_then_a_dropped_run_leaves_no_ffmpeg() {
    let t = tools();
    let path = gop1_mkv();
    let info = probe(&t, &path).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("stalled");
    // A few chunks, then nothing ever again (and no timeout runs while a feed is pending).
    let stalled = trickle(&path, 64 * 1024, Duration::ZERO).take(8).chain(futures_util::stream::pending());
    let run = hls_run(Input::Pipe, &info, Plan::Remux, out.clone(), Duration::from_millis(100));
    let mut fut = Box::pin(run_hls(&t, &run, Some(Box::pin(stalled)), |_| {}));
    let needle = out.display().to_string();
    let mut running = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while running.is_empty() && Instant::now() < deadline {
        tokio::select! {
            r = &mut fut => panic!("a stalled feed ended the run: {r:?}"),
            () = tokio::time::sleep(Duration::from_millis(20)) => running = tools_mentioning(&needle),
        }
    }
    assert!(!running.is_empty(), "ffmpeg was running");
    // Well past the 100 ms timeout: it does not run while the feed is pending.
    tokio::select! {
        r = &mut fut => panic!("a stalled feed ended the run: {r:?}"),
        () = tokio::time::sleep(Duration::from_millis(500)) => {}
    }
    drop(fut);
    let deadline = Instant::now() + Duration::from_secs(3);
    while running.iter().any(|&pid| alive(pid)) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let left: Vec<u32> = running.into_iter().filter(|&pid| alive(pid)).collect();
    assert!(left.is_empty(), "ffmpeg left behind (or not reaped) after drop: {left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_timeout_starts_when_the_feed_has_ended() {
    let t = tools();
    let path = gop1_mkv();
    let info = probe(&t, &path).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    // About 3 s of feed, 1.5 s of timeout: a remux needs far less once its input is in.
    let timeout = Duration::from_millis(1500);
    let run = hls_run(Input::Pipe, &info, Plan::Remux, dir.path().join("slow"), timeout);
    let chunk = 64 * 1024;
    let pieces = std::fs::metadata(&path).unwrap().len() as u32 / chunk as u32 + 1;
    let slow = trickle(&path, chunk, Duration::from_millis(3000) / pieces);
    let started = Instant::now();
    let (segments, _) = segments_of(&run, Some(slow)).await;
    let took = started.elapsed();
    assert!(took > timeout, "the feed was meant to outlast the timeout: {took:?}");
    assert!(segments.len() >= 2, "{segments:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probing_as_it_arrives_agrees_with_probing_the_file() {
    let t = tools();
    for (path, demuxer) in [
        (fixture("h264_aac.mkv"), Demuxer::Matroska),
        (fixture("h264_opus.mkv"), Demuxer::Matroska),
        (fixture("vp9_opus.webm"), Demuxer::Matroska),
        (gop1_mkv(), Demuxer::Matroska),
        (fixture("h264_aac_faststart.mp4"), Demuxer::Mov),
    ] {
        let size = std::fs::metadata(&path).unwrap().len();
        let streamed = probe_stream(&t, trickle(&path, 32 * 1024, Duration::ZERO), demuxer, size)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let whole = probe(&t, &path).await.unwrap();
        let name = path.display();
        let (s, w) = (&streamed.video, &whole.video);
        assert_eq!((&streamed.container, streamed.size_bytes), (&whole.container, whole.size_bytes), "{name}");
        assert_eq!((&s.codec, &s.profile, s.level, &s.pix_fmt), (&w.codec, &w.profile, w.level, &w.pix_fmt), "{name}");
        assert_eq!(
            (s.width, s.height, s.rotation, s.frame_rate),
            (w.width, w.height, w.rotation, w.frame_rate),
            "{name}"
        );
        let audio = |i: &MediaInfo| i.audio.as_ref().map(|a| (a.index, a.codec.clone(), a.channels, a.sample_rate));
        assert_eq!(audio(&streamed), audio(&whole), "{name}");
        // These containers state their duration up front.
        assert!((streamed.duration_seconds - whole.duration_seconds).abs() < 0.01, "{name}");
        // No keyframe scan through a pipe; these clips' keyframes are close enough either way.
        assert_eq!(s.max_keyframe_interval, None);
        let settings = PlanSettings::default();
        assert_eq!(plan(&streamed, &settings).unwrap(), plan(&whole, &settings).unwrap(), "{name}");
    }
    // A recording that states no duration.
    let live = live_webm();
    let size = std::fs::metadata(&live).unwrap().len();
    let info = probe_stream(&t, trickle(&live, 32 * 1024, Duration::ZERO), Demuxer::Matroska, size).await.unwrap();
    assert_eq!(info.duration_seconds, 0.0);
    assert_eq!((info.video.codec.as_str(), info.video.width), ("vp9", 320));
    // The demuxer is forced: an MP4 fed as Matroska is refused, not guessed.
    let mp4 = fixture("h264_aac_faststart.mp4");
    let err = probe_stream(&t, trickle(&mp4, 32 * 1024, Duration::ZERO), Demuxer::Matroska, 1).await.unwrap_err();
    assert_eq!(err.code(), "not_a_video", "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probing_a_feed_that_fails_is_input_failed() {
    let path = fixture("h264_aac.mkv");
    // 96 KiB is less than ffprobe wants (3 s of packets): it is still reading when the feed fails.
    let broken = trickle(&path, 32 * 1024, Duration::from_millis(10))
        .take(3)
        .chain(futures_util::stream::once(async { Err(std::io::Error::other("the uploader went away")) }));
    let err = probe_stream(&tools(), Box::pin(broken), Demuxer::Matroska, 1_055_058).await.unwrap_err();
    assert_eq!(err.code(), "input_failed", "{err}");
}

/// The top-level boxes of an MP4 file: (type, byte range).
fn top_level_boxes(bytes: &[u8]) -> Vec<([u8; 4], std::ops::Range<usize>)> {
    let mut boxes = Vec::new();
    let mut at = 0;
    while at + 8 <= bytes.len() {
        let size = u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        assert!(size >= 8, "a plain 32-bit box size");
        boxes.push((bytes[at + 4..at + 8].try_into().unwrap(), at..at + size));
        at += size;
    }
    boxes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thumbnail_from_an_init_segment_and_one_media_segment() {
    let t = tools();
    let src = fixture("h264_aac_gop1.mp4");
    // One fragment per keyframe (every second), each starting at its own time (tfdt).
    let fmp4 = make(
        "gop1_frag.mp4",
        &["-i", src.to_str().unwrap(), "-c", "copy", "-movflags", "frag_keyframe+empty_moov+default_base_moof"],
    );
    let bytes = std::fs::read(&fmp4).unwrap();
    let boxes = top_level_boxes(&bytes);
    let init: Vec<u8> =
        boxes.iter().take_while(|(kind, _)| kind != b"moof").flat_map(|(_, r)| bytes[r.clone()].to_vec()).collect();
    let fragments: Vec<Vec<u8>> = boxes
        .iter()
        .enumerate()
        .filter(|(_, (kind, _))| kind == b"moof")
        .map(|(i, (_, moof))| [&bytes[moof.clone()], &bytes[boxes[i + 1].1.clone()]].concat())
        .collect();
    assert!(fragments.len() >= 8, "{} fragments", fragments.len());
    // The third fragment holds the second after 2 s (ffmpeg's fragments start 21 ms late: its
    // edit list is folded into their times).
    let small = made().join("init_and_third.mp4");
    std::fs::write(&small, [init, fragments[2].clone()].concat()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let shot = |name: &str| dir.path().join(name);
    let jpeg = |name: &str| std::fs::read(shot(name)).unwrap();
    for (at, name) in [(2.2, "a"), (2.6, "b")] {
        let (from_small, from_whole) = (format!("{name}_small.jpg"), format!("{name}_whole.jpg"));
        thumbnail_at(&t, &small, Demuxer::Mov, at, &shot(&from_small), Duration::from_secs(30)).await.unwrap();
        thumbnail_at(&t, &fmp4, Demuxer::Mov, at, &shot(&from_whole), Duration::from_secs(30)).await.unwrap();
        assert_eq!(&jpeg(&from_small)[..3], &[0xFF, 0xD8, 0xFF]);
        assert_eq!(common::stored_size(&shot(&from_small)), (640, 360));
        assert!(jpeg(&from_small) == jpeg(&from_whole), "the frame at {at} s, from the segment alone");
    }
    assert!(jpeg("a_small.jpg") != jpeg("b_small.jpg"), "two moments, two frames (not the segment's first twice)");
    // The whole file's thumbnail comes the same way, and nothing temporary is left.
    let info = probe(&t, &src).await.unwrap();
    thumbnail(&t, &src, &info, &shot("whole.jpg"), Duration::from_secs(30)).await.unwrap();
    let leftovers = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .count();
    assert_eq!(leftovers, 0);
}

#[tokio::test]
async fn a_feed_goes_with_the_pipe_and_only_with_it() {
    let t = tools();
    let path = fixture("short_1s.mp4");
    let info = probe(&t, &path).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = hls_run(Input::File(path.clone()), &info, Plan::Remux, dir.path().join("a"), Duration::from_secs(30));
    let err = run_hls(&t, &file, Some(trickle(&path, 1024, Duration::ZERO)), |_| {}).await.unwrap_err();
    assert_eq!(err.code(), "io", "{err}");
    let pipe = hls_run(Input::Pipe, &info, Plan::Remux, dir.path().join("b"), Duration::from_secs(30));
    let err = run_hls(&t, &pipe, None, |_| {}).await.unwrap_err();
    assert_eq!(err.code(), "io", "{err}");
    assert!(!dir.path().join("a").exists() && !dir.path().join("b").exists(), "refused before anything ran");
}

#[test]
fn the_futures_can_be_spawned() {
    fn spawnable<T: Send>(_: T) {}
    let t = tools();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/h264_aac_moov_end.json");
    let info = flick_media::media_info_from_json(&std::fs::read(&path).unwrap(), 1).unwrap();
    let run = hls_run(Input::Pipe, &info, Plan::Remux, path.clone(), Duration::from_secs(1));
    // Built, never polled: only their types matter.
    spawnable(probe(&t, &path));
    spawnable(probe_stream(&t, trickle(&path, 1024, Duration::ZERO), Demuxer::Mov, 1));
    spawnable(run_hls(&t, &run, None, |_| {}));
    spawnable(thumbnail(&t, &path, &info, &path, Duration::from_secs(1)));
    spawnable(thumbnail_at(&t, &path, Demuxer::Mov, 1.0, &path, Duration::from_secs(1)));
}
