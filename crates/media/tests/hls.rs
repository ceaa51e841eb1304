//! run_hls and thumbnails with the real ffmpeg: outputs are decoded back and measured.

mod common;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{decode, first_sps, fixture, probed_duration, read_playlist, stored_size, stream_field, tools};
use flick_media::{HlsRun, Input, MediaInfo, Plan, PlanSettings, codecs_string, plan, probe, run_hls};

struct Output {
    dir: tempfile::TempDir,
    info: MediaInfo,
    plan: Plan,
    progress: Vec<f64>,
}

/// Probes, plans (or uses `force` to pick a plan), runs HLS with 1 s first / 4 s segments.
async fn hls(name: &str, force: Option<fn(&MediaInfo) -> Plan>) -> Output {
    let t = tools();
    let input = fixture(name);
    let info = probe(&t, &input).await.unwrap_or_else(|e| panic!("{name}: {e}"));
    let plan = match force {
        Some(f) => f(&info),
        None => plan(&info, &PlanSettings::default()).unwrap(),
    };
    let dir = tempfile::tempdir().unwrap();
    let run = HlsRun::new(Input::File(input), dir.path().join("out"), plan.clone(), info.clone());
    let progress = Arc::new(Mutex::new(Vec::new()));
    let sink = progress.clone();
    run_hls(&t, &run, None, move |p| sink.lock().unwrap().push(p)).await.unwrap_or_else(|e| panic!("{name}: {e}"));
    let progress = progress.lock().unwrap().clone();
    let segs: Vec<String> =
        read_playlist(&dir.path().join("out")).iter().map(|s| format!("{:.2}", s.duration)).collect();
    eprintln!("{name}: {plan:?} -> segments {segs:?}");
    Output { dir, info, plan, progress }
}

/// A transcode of anything, as if its video could not be copied.
fn transcode_anyway(info: &MediaInfo) -> Plan {
    let mut pretend = info.clone();
    pretend.video.codec = "hevc".into();
    plan(&pretend, &PlanSettings::default()).unwrap()
}

impl Output {
    fn out(&self) -> std::path::PathBuf {
        self.dir.path().join("out")
    }

    fn playlist(&self) -> std::path::PathBuf {
        self.out().join("ffmpeg.m3u8")
    }

    /// Decodes the whole output and checks it against the source.
    fn check_decodes_fully(&self) {
        let (ok, duration, stderr) = decode(&self.playlist());
        assert!(ok, "decoding the HLS output failed: {stderr}");
        assert!(
            (duration - self.info.duration_seconds).abs() <= 0.5,
            "output lasts {duration}s, source {}s",
            self.info.duration_seconds
        );
        let listed: f64 = read_playlist(&self.out()).iter().map(|s| s.duration).sum();
        assert!((listed - self.info.duration_seconds).abs() <= 0.5, "playlist sums to {listed}s");
        assert_eq!(self.progress.last().copied(), Some(1.0), "progress ends at 1");
        assert!(self.progress.iter().all(|p| (0.0..=1.0).contains(p)));
        let leftovers: Vec<_> = std::fs::read_dir(self.out())
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    }

    /// CODECS says what the first segment's SPS says (profile and level).
    fn check_codecs_match_stream(&self) {
        let segs = read_playlist(&self.out());
        let bytes = std::fs::read(self.out().join(&segs[0].uri)).unwrap();
        let (profile, constraints, level) = first_sps(&bytes).expect("an H.264 SPS in Annex B form");
        let codecs = codecs_string(&self.info, &self.plan);
        let video = codecs.split(',').next().unwrap();
        assert_eq!(&video[..7], &format!("avc1.{profile:02x}"), "{codecs}: profile {profile}");
        assert_eq!(&video[9..11], &format!("{level:02x}"), "{codecs}: level {level}");
        let _ = constraints;
    }
}

#[tokio::test]
async fn remux_with_index_at_the_end() {
    let o = hls("h264_aac_moov_end.mp4", None).await;
    assert_eq!(o.plan, Plan::Remux);
    o.check_decodes_fully();
    o.check_codecs_match_stream();
    assert_eq!(stored_size(&o.playlist()), (1280, 720));
    // The seed has one keyframe, so one segment: a copy cannot cut elsewhere.
    assert_eq!(read_playlist(&o.out()).len(), 1);
}

#[tokio::test]
async fn remux_cuts_a_short_first_segment_at_the_first_keyframe_after_one_second() {
    let o = hls("h264_aac_gop1.mp4", None).await;
    assert_eq!(o.plan, Plan::Remux);
    o.check_decodes_fully();
    let segs = read_playlist(&o.out());
    let durations: Vec<f64> = segs.iter().map(|s| (s.duration * 10.0).round() / 10.0).collect();
    assert!(segs[0].duration <= 1.5, "{durations:?}");
    // A copy cuts at the first keyframe (one a second here) at or after each cut time.
    let mut starts: Vec<f64> = vec![0.0];
    for cut in flick_media::segment_times(1.0, 4, 10.0).into_iter().filter(|c| *c < 10.0) {
        let keyframe = cut.ceil();
        if keyframe < 10.0 && starts.last() != Some(&keyframe) {
            starts.push(keyframe);
        }
    }
    let expected: Vec<f64> = starts.iter().zip(starts.iter().skip(1).chain([&10.0])).map(|(a, b)| b - a).collect();
    assert_eq!(durations, expected, "cut at the keyframes after the cut times");
}

#[tokio::test]
async fn mkv_remux_and_opus_audio_reencode() {
    let o = hls("h264_aac.mkv", None).await;
    assert_eq!(o.plan, Plan::Remux);
    o.check_decodes_fully();
    let o = hls("h264_opus.mkv", None).await;
    assert!(matches!(o.plan, Plan::CopyVideoEncodeAudio { .. }));
    o.check_decodes_fully();
    o.check_codecs_match_stream();
    assert_eq!(stream_field(&o.playlist(), "a:0", "codec_name"), "aac");
}

#[tokio::test]
async fn transcode_honours_rotation_and_starts_with_a_short_segment() {
    let o = hls("hevc_rot90.mov", None).await;
    assert!(matches!(o.plan, Plan::Transcode { .. }), "{:?}", o.plan);
    o.check_decodes_fully();
    o.check_codecs_match_stream();
    let (w, h) = stored_size(&o.playlist());
    assert_eq!((w, h), (360, 640), "640x360 turned a quarter is 360x640");
    let segs = read_playlist(&o.out());
    assert!(segs[0].duration <= 1.5, "first segment {}s", segs[0].duration);
    assert!(segs.len() >= 2);
}

#[tokio::test]
async fn transcodes_of_other_codecs_and_depths_play() {
    for name in ["vp9_opus.webm", "h264_10bit.mp4", "mpeg4_mp3.mov"] {
        let o = hls(name, None).await;
        assert!(matches!(o.plan, Plan::Transcode { .. }), "{name}");
        o.check_decodes_fully();
        o.check_codecs_match_stream();
        assert_eq!(stream_field(&o.playlist(), "v:0", "codec_name,profile,pix_fmt"), "h264,High,yuv420p", "{name}");
    }
}

#[tokio::test]
async fn variable_frame_rate_transcodes_with_regular_segments() {
    let o = hls("vfr_noaudio.mp4", Some(transcode_anyway)).await;
    o.check_decodes_fully();
    let segs = read_playlist(&o.out());
    assert!(segs[0].duration <= 1.5, "{segs:?}");
    assert!(segs.len() >= 2, "{segs:?}");
    // Timing survived: the output is as long as the source.
    assert!((probed_duration(&o.playlist()) - 4.0).abs() < 0.5);
}

#[tokio::test]
async fn playlist_only_ever_lists_complete_segments() {
    // Watch ffmpeg.m3u8 while a transcode writes it: every listed segment exists, and never
    // changes afterwards.
    let t = tools();
    let input = fixture("h264_aac_gop1.mp4");
    let info = probe(&t, &input).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let run = HlsRun {
        segment_seconds: 1,
        first_segment_seconds: 0.5,
        timeout: Duration::from_secs(60),
        ..HlsRun::new(Input::File(input), out.clone(), transcode_anyway(&info), info.clone())
    };
    let watcher = {
        let out = out.clone();
        tokio::spawn(async move {
            let mut seen: Vec<(String, u64)> = Vec::new();
            let mut observations = 0;
            for _ in 0..20_000 {
                if let Ok(text) = std::fs::read_to_string(out.join("ffmpeg.m3u8")) {
                    let segs = flick_packaging::playlist::parse_media(&text).expect("always a valid playlist");
                    assert!(segs.len() >= seen.len(), "segments vanished");
                    for s in segs.iter().skip(seen.len()) {
                        let len = std::fs::metadata(out.join(&s.uri)).expect("listed segment exists").len();
                        assert!(len > 0 && len.is_multiple_of(188), "{} is {len} bytes: not whole TS packets", s.uri);
                        seen.push((s.uri.clone(), len));
                    }
                    observations += 1;
                    if text.contains("ENDLIST") {
                        break;
                    }
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            (seen, observations)
        })
    };
    run_hls(&t, &run, None, |_| {}).await.unwrap();
    let (seen, observations) = watcher.await.unwrap();
    eprintln!("watched the playlist {observations} times; segments {seen:?}");
    assert!(observations > 3, "the playlist was watched while being written");
    assert!(seen.len() >= 5, "{seen:?}");
    for (uri, len) in seen {
        assert_eq!(std::fs::metadata(out.join(&uri)).unwrap().len(), len, "{uri} changed after being listed");
    }
}

fn jpeg_size(path: &Path) -> (u32, u32) {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[..3], &[0xFF, 0xD8, 0xFF], "JPEG magic");
    stored_size(path)
}

#[tokio::test]
async fn thumbnails_are_small_upright_jpegs() {
    let t = tools();
    let dir = tempfile::tempdir().unwrap();
    for (name, expect) in [
        ("h264_aac_moov_end.mp4", (640, 360)),
        ("hevc_rot90.mov", (360, 640)),
        ("short_1s.mp4", (640, 360)),
        ("vfr_noaudio.mp4", (320, 180)),
        ("vp9_opus.webm", (320, 180)),
        ("h264_10bit.mp4", (320, 180)),
    ] {
        let input = fixture(name);
        let info = probe(&t, &input).await.unwrap();
        let out = dir.path().join(format!("{name}.jpg"));
        flick_media::thumbnail(&t, &input, &info, &out, Duration::from_secs(30))
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(jpeg_size(&out), expect, "{name}");
    }
    let leftovers = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .count();
    assert_eq!(leftovers, 0);
}

#[tokio::test]
async fn thumbnail_from_a_segment_heals_a_missing_one() {
    let o = hls("hevc_rot90.mov", None).await;
    let segs = read_playlist(&o.out());
    let out = o.dir.path().join("thumb.jpg");
    flick_media::thumbnail_from_segment(&tools(), &o.out().join(&segs[1].uri), 0.5, &out, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(jpeg_size(&out), (360, 640));
}

#[tokio::test]
async fn thumbnail_of_garbage_fails_cleanly() {
    let t = tools();
    let info = probe(&t, &fixture("short_1s.mp4")).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.jpg");
    let err =
        flick_media::thumbnail(&t, &fixture("random.mp4"), &info, &out, Duration::from_secs(30)).await.unwrap_err();
    assert_eq!(err.code(), "ffmpeg_failed", "{err}");
    assert!(!out.exists());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "no temporary file left");
}

#[tokio::test]
async fn odd_folder_names_are_not_interpreted() {
    // '%' would be a segment-number pattern and ':' a protocol if paths were passed raw.
    let t = tools();
    let input = fixture("short_1s.mp4");
    let info = probe(&t, &input).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("100%d done: http:x");
    let run =
        HlsRun { timeout: Duration::from_secs(30), ..HlsRun::new(Input::File(input), out.clone(), Plan::Remux, info) };
    run_hls(&t, &run, None, |_| {}).await.unwrap();
    let segs = read_playlist(&out);
    assert!(out.join(&segs[0].uri).exists());
}

/// Made for the tests below, once per run, from the seed's fixtures.
fn made(name: &str, args: &[&str]) -> std::path::PathBuf {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    static LOCK: Mutex<()> = Mutex::new(());
    let _one_at_a_time = LOCK.lock().unwrap();
    let out = DIR.get_or_init(|| tempfile::tempdir().unwrap()).path().join(name);
    if !out.exists() {
        let status = std::process::Command::new("ffmpeg")
            .args(["-nostdin", "-v", "error", "-y"])
            .args(args)
            .arg(&out)
            .status()
            .unwrap();
        assert!(status.success(), "making {name}");
    }
    out
}

/// What a camera hides in its H.264: an SEI message with user data.
const SECRET: &str = "flick-secret-gps-48.8583N-2.2945E";

/// h264_aac_gop1.mp4 (x264 made it: its settings are in an SEI of the first frame) in Matroska, with a camera's
/// user-data SEI added to every keyframe; `audio` picks the audio codec (copied AAC, or Opus to encode).
fn h264_with_sei(audio: &str) -> std::path::PathBuf {
    let src = fixture("h264_aac_gop1.mp4");
    let sei = format!("h264_metadata=sei_user_data=086f3693-b7b3-4f2c-9653-21492feee5b8+{SECRET}");
    let (codec, name) = if audio == "opus" { ("libopus", "sei_opus.mkv") } else { ("copy", "sei_aac.mkv") };
    made(name, &["-i", src.to_str().unwrap(), "-c:v", "copy", "-bsf:v", &sei, "-c:a", codec])
}

/// How many NAL units of each type ffmpeg's `trace_headers` finds in the first video stream of a file or playlist.
fn nal_types(path: &Path) -> std::collections::HashMap<u8, usize> {
    let out = std::process::Command::new("ffmpeg")
        .args(["-nostdin", "-hide_banner", "-v", "trace", "-i"])
        .arg(path)
        .args(["-map", "0:v:0", "-c", "copy", "-bsf:v", "trace_headers", "-f", "null", "-"])
        .output()
        .unwrap();
    assert!(out.status.success(), "trace_headers failed on {}", path.display());
    let mut counts = std::collections::HashMap::new();
    for line in String::from_utf8_lossy(&out.stderr).lines().filter(|l| l.contains("[trace_headers")) {
        if let Some(kind) = line.split("nal_unit_type: ").nth(1).and_then(|r| r.split('(').next()) {
            *counts.entry(kind.trim().parse().unwrap()).or_default() += 1;
        }
    }
    counts
}

/// Every segment of an output, end to end.
fn output_bytes(o: &Output) -> Vec<u8> {
    read_playlist(&o.out()).iter().flat_map(|s| std::fs::read(o.out().join(&s.uri)).unwrap()).collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Decoded pictures of the first video stream (ffmpeg's count, not the container's).
fn frames(path: &Path) -> u64 {
    let out = std::process::Command::new("ffprobe")
        .args(["-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries", "stream=nb_read_frames"])
        .args(["-of", "default=nw=1:nk=1"])
        .arg(path)
        .output()
        .unwrap();
    common::first_line(&out.stdout).parse().unwrap_or(0)
}

#[tokio::test]
async fn copied_h264_leaves_every_sei_behind_and_encodes_carry_none_of_the_uploads() {
    for (audio, force, expect) in [
        ("aac", None, "remux"),
        ("opus", None, "copy video"),
        ("aac", Some(transcode_anyway as fn(&MediaInfo) -> Plan), "transcode"),
    ] {
        let input = h264_with_sei(audio);
        let before = std::fs::read(&input).unwrap();
        assert!(nal_types(&input).get(&6).copied().unwrap_or(0) > 0, "the input has SEI");
        assert!(contains(&before, SECRET.as_bytes()) && contains(&before, b"x264 - core"));

        let t = tools();
        let info = probe(&t, &input).await.unwrap();
        let plan = match force {
            Some(f) => f(&info),
            None => plan(&info, &PlanSettings::default()).unwrap(),
        };
        let dir = tempfile::tempdir().unwrap();
        let run = HlsRun {
            timeout: Duration::from_secs(120),
            ..HlsRun::new(Input::File(input.clone()), dir.path().join("out"), plan.clone(), info.clone())
        };
        let copies = expect != "transcode";
        assert_eq!(flick_media::hls_args(&run).unwrap().iter().any(|a| a == flick_media::STRIP_SEI), copies);
        run_hls(&t, &run, None, |_| {}).await.unwrap_or_else(|e| panic!("{expect}: {e}"));
        let o = Output { dir, info, plan, progress: vec![1.0] };
        match expect {
            "remux" => assert_eq!(o.plan, Plan::Remux),
            "copy video" => assert!(matches!(o.plan, Plan::CopyVideoEncodeAudio { .. }), "{:?}", o.plan),
            _ => assert!(matches!(o.plan, Plan::Transcode { .. })),
        }
        let types = nal_types(&o.playlist());
        if copies {
            assert_eq!(types.get(&6), None, "{expect}: SEI in the output: {types:?}");
        }
        assert!(types.get(&5).is_some_and(|&n| n > 0), "{expect}: IDR frames are still there: {types:?}");
        let bytes = output_bytes(&o);
        // Whatever the plan, the camera's SEI is not served (an encode writes only x264's own).
        assert!(!contains(&bytes, SECRET.as_bytes()), "{expect}: the camera's SEI is served");
        if copies {
            assert!(!contains(&bytes, b"x264 - core"), "{expect}: the source's x264 settings are served");
        }
        o.check_decodes_fully();
        assert_eq!(frames(&o.playlist()), frames(&input), "{expect}: frame count");
    }
}

#[tokio::test]
async fn thumbnails_carry_no_comment_or_exif() {
    let t = tools();
    let input = fixture("h264_aac_moov_end.mp4");
    let info = probe(&t, &input).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("thumb.jpg");
    flick_media::thumbnail(&t, &input, &info, &out, Duration::from_secs(30)).await.unwrap();
    let jpeg = std::fs::read(&out).unwrap();
    assert!(!contains(&jpeg, b"Lavc") && !contains(&jpeg, b"Exif"), "an encoder comment or EXIF");
    // Marker segments up to the image data: JFIF, quantisation and Huffman tables, the frame header. No COM (FE),
    // no APP1..APP15 (EXIF, XMP, ICC...).
    let mut at = 2;
    let mut markers = Vec::new();
    while jpeg[at] == 0xFF && jpeg[at + 1] != 0xDA {
        markers.push(jpeg[at + 1]);
        at += 2 + usize::from(u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]]));
    }
    assert!(markers.iter().all(|m| matches!(m, 0xE0 | 0xDB | 0xC4 | 0xC0 | 0xDD)), "markers {markers:x?}");
    assert_eq!(&jpeg[6..11], b"JFIF\0");
}
