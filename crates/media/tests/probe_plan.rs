//! probe + plan on real files made from the seed clip.

mod common;

use common::{fixture, tools};
use flick_media::{AudioPlan, Plan, PlanSettings, plan, probe};

#[tokio::test]
async fn probes_every_good_fixture() {
    let t = tools();
    // (file, codec, width, height, rotation, duration, audio codec)
    type Case<'a> = (&'a str, &'a str, u32, u32, i32, f64, Option<&'a str>);
    let cases: &[Case] = &[
        ("h264_aac_moov_end.mp4", "h264", 1280, 720, 0, 5.31, Some("aac")),
        ("h264_aac_faststart.mp4", "h264", 1280, 720, 0, 5.31, Some("aac")),
        ("h264_aac.mkv", "h264", 1280, 720, 0, 5.31, Some("aac")),
        ("h264_opus.mkv", "h264", 1280, 720, 0, 5.32, Some("opus")),
        ("hevc_rot90.mov", "hevc", 640, 360, 270, 3.0, Some("aac")),
        ("vp9_opus.webm", "vp9", 320, 180, 0, 3.0, Some("opus")),
        ("h264_10bit.mp4", "h264", 320, 180, 0, 3.0, Some("aac")),
        ("mpeg4_mp3.mov", "mpeg4", 320, 180, 0, 3.0, Some("mp3")),
        ("short_1s.mp4", "h264", 1280, 720, 0, 1.0, Some("aac")),
        ("vfr_noaudio.mp4", "h264", 320, 180, 0, 4.0, None),
        ("h264_aac_gop1.mp4", "h264", 640, 360, 0, 10.0, Some("aac")),
    ];
    for &(name, codec, w, h, rot, dur, audio) in cases {
        let info = probe(&t, &fixture(name)).await.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(info.video.codec, codec, "{name}");
        assert_eq!((info.video.width, info.video.height), (w, h), "{name}");
        assert_eq!(info.video.rotation, rot, "{name}");
        assert!((info.duration_seconds - dur).abs() < 0.1, "{name}: duration {}", info.duration_seconds);
        assert_eq!(info.audio.as_ref().map(|a| a.codec.as_str()), audio, "{name}");
        assert!(info.size_bytes > 0);
    }
}

#[tokio::test]
async fn rotation_swaps_the_display_size() {
    let info = probe(&tools(), &fixture("hevc_rot90.mov")).await.unwrap();
    assert_eq!(info.video.rotation % 180, 90, "a quarter turn");
    assert_eq!((info.display_width(), info.display_height()), (360, 640));
}

#[tokio::test]
async fn ten_bit_and_keyframes_are_seen() {
    let t = tools();
    let ten = probe(&t, &fixture("h264_10bit.mp4")).await.unwrap();
    assert_eq!(ten.video.bit_depth, 10);
    assert_eq!(ten.video.pix_fmt.as_deref(), Some("yuv420p10le"));
    let gop = probe(&t, &fixture("h264_aac_gop1.mp4")).await.unwrap();
    let gap = gop.video.max_keyframe_interval.expect("scanned");
    assert!((gap - 1.0).abs() < 0.05, "keyframe every second, got {gap}");
    // The seed has a single keyframe: the gap is the whole clip.
    let seed = probe(&t, &fixture("h264_aac_moov_end.mp4")).await.unwrap();
    assert!((seed.video.max_keyframe_interval.expect("scanned") - 5.28).abs() < 0.1);
}

#[tokio::test]
async fn plans_match_each_input() {
    let t = tools();
    let settings = PlanSettings::default();
    for name in ["h264_aac_moov_end.mp4", "h264_aac_faststart.mp4", "h264_aac.mkv", "short_1s.mp4", "vfr_noaudio.mp4"] {
        let info = probe(&t, &fixture(name)).await.unwrap();
        assert_eq!(plan(&info, &settings).unwrap(), Plan::Remux, "{name}");
    }
    let opus = probe(&t, &fixture("h264_opus.mkv")).await.unwrap();
    assert!(matches!(plan(&opus, &settings).unwrap(), Plan::CopyVideoEncodeAudio { .. }));
    for (name, audio) in [
        ("hevc_rot90.mov", "copy"),
        ("vp9_opus.webm", "encode"),
        ("h264_10bit.mp4", "copy"),
        ("mpeg4_mp3.mov", "encode"),
    ] {
        let info = probe(&t, &fixture(name)).await.unwrap();
        match plan(&info, &settings).unwrap() {
            Plan::Transcode { audio: a, .. } => match (audio, a) {
                ("copy", AudioPlan::Copy) | ("encode", AudioPlan::Encode(_)) => {}
                (want, got) => panic!("{name}: audio {got:?}, expected {want}"),
            },
            other => panic!("{name}: expected a transcode, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn bad_inputs_are_refused_with_sensible_codes() {
    let t = tools();
    for (name, code) in [
        ("empty.mp4", "not_a_video"),
        ("text.mp4", "not_a_video"),
        ("random.mp4", "not_a_video"),
        ("truncated.mp4", "not_a_video"),
        ("audio_only.mp4", "no_video_stream"),
    ] {
        let err = probe(&t, &fixture(name)).await.expect_err(name);
        assert_eq!(err.code(), code, "{name}: {err}");
        assert!(err.is_permanent(), "{name}: bad input is not worth retrying");
        assert!(!err.user_message().contains(name), "no file names in user messages");
    }
}

#[tokio::test]
async fn other_containers_are_refused() {
    // MPEG-TS is a real video format, but not one Flick accepts as an upload.
    let dir = tempfile::tempdir().unwrap();
    let ts = dir.path().join("clip.mp4");
    let ok = std::process::Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-i"])
        .arg(fixture("short_1s.mp4"))
        .args(["-c", "copy", "-f", "mpegts"])
        .arg(&ts)
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let err = probe(&tools(), &ts).await.unwrap_err();
    assert_eq!(err.code(), "unsupported_format", "{err}");
}

#[tokio::test]
async fn missing_tools_are_reported_clearly() {
    let t =
        flick_media::Tools { ffmpeg: "/nonexistent/ffmpeg".into(), ffprobe: "/nonexistent/ffprobe".into(), nice: 0 };
    let err = t.check().await.unwrap_err();
    assert_eq!(err.code(), "tool_missing");
    assert!(err.to_string().contains("/nonexistent/ffprobe"), "{err}");
    tools().check().await.expect("the real tools are usable");
    let err = probe(&t, &fixture("short_1s.mp4")).await.unwrap_err();
    assert_eq!(err.code(), "tool_missing");
}
