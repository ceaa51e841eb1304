//! media_info_from_movie (Flick's own MP4 index parser) against probe (ffprobe) on the same files:
//! the same description, and above all the same plan.

mod common;

use common::{fixture, movie_of, tools};
use flick_media::{MediaInfo, PlanSettings, media_info_from_movie, plan, probe};

/// Within `tolerance` (both known), or both unknown.
fn close(a: Option<f64>, b: Option<f64>, tolerance: f64) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => (a - b).abs() <= tolerance,
        (None, None) => true,
        _ => false,
    }
}

fn compare(name: &str, from_index: &MediaInfo, from_ffprobe: &MediaInfo) {
    let (m, p) = (&from_index.video, &from_ffprobe.video);
    eprintln!("{name}:\n  index:   {from_index:?}\n  ffprobe: {from_ffprobe:?}");
    assert_eq!(from_index.container, from_ffprobe.container, "{name}");
    assert_eq!(from_index.size_bytes, from_ffprobe.size_bytes, "{name}");
    assert_eq!((&m.codec, &m.profile, m.level, &m.pix_fmt), (&p.codec, &p.profile, p.level, &p.pix_fmt), "{name}");
    assert_eq!(
        (m.width, m.height, m.sample_aspect_ratio, m.rotation),
        (p.width, p.height, p.sample_aspect_ratio, p.rotation),
        "{name}"
    );
    assert_eq!((m.bit_depth, m.interlaced), (p.bit_depth, p.interlaced), "{name}");
    assert_eq!(from_index.display_size(), from_ffprobe.display_size(), "{name}");
    // ffprobe prints the duration rounded to the microsecond and reads edit lists its own way: a
    // millisecond apart at most.
    assert!((from_index.duration_seconds - from_ffprobe.duration_seconds).abs() < 0.002, "{name}: duration");
    // Rates are averages over the samples: the index counts them over the media's decode span,
    // ffprobe over its own estimate of the duration.
    assert!(close(m.frame_rate, p.frame_rate, 0.05), "{name}: frame rate {:?} vs {:?}", m.frame_rate, p.frame_rate);
    let rel =
        |a: Option<u64>, b: Option<u64>| close(a.map(|a| a as f64), b.map(|b| b as f64), 0.02 * b.unwrap_or(0) as f64);
    assert!(rel(m.bit_rate, p.bit_rate), "{name}: video bit rate {:?} vs {:?}", m.bit_rate, p.bit_rate);
    assert!(rel(from_index.bit_rate, from_ffprobe.bit_rate), "{name}: overall bit rate");
    // ffprobe scans keyframes of H.264 only, and only in the first 20 s (every fixture is shorter);
    // its last gap ends a frame after the last packet's timestamp, the index's at the media's end.
    if p.codec == "h264" {
        assert!(close(m.max_keyframe_interval, p.max_keyframe_interval, 0.05), "{name}: keyframe interval");
    }
    match (&from_index.audio, &from_ffprobe.audio) {
        (Some(a), Some(b)) => {
            assert_eq!((a.index, &a.codec, &a.profile), (b.index, &b.codec, &b.profile), "{name}: audio");
            assert_eq!((a.channels, a.sample_rate), (b.channels, b.sample_rate), "{name}: audio");
            assert!(rel(a.bit_rate, b.bit_rate), "{name}: audio bit rate {:?} vs {:?}", a.bit_rate, b.bit_rate);
        }
        (None, None) => {}
        (a, b) => panic!("{name}: audio {a:?} vs {b:?}"),
    }
    let settings = PlanSettings::default();
    assert_eq!(plan(from_index, &settings).unwrap(), plan(from_ffprobe, &settings).unwrap(), "{name}: plan");
}

#[tokio::test]
async fn the_index_describes_a_file_as_ffprobe_does_and_plans_the_same() {
    let t = tools();
    for name in [
        "h264_aac_moov_end.mp4",
        "h264_aac_faststart.mp4",
        "hevc_rot90.mov",
        "h264_10bit.mp4",
        "mpeg4_mp3.mov",
        "vfr_noaudio.mp4",
        "h264_aac_gop1.mp4",
        "short_1s.mp4",
    ] {
        let path = fixture(name);
        let size = std::fs::metadata(&path).unwrap().len();
        let from_index = media_info_from_movie(&movie_of(&path), size).unwrap_or_else(|e| panic!("{name}: {e}"));
        let from_ffprobe = probe(&t, &path).await.unwrap_or_else(|e| panic!("{name}: {e}"));
        compare(name, &from_index, &from_ffprobe);
    }
}

#[test]
fn audio_only_is_no_video_stream_as_with_ffprobe() {
    let path = fixture("audio_only.mp4");
    let size = std::fs::metadata(&path).unwrap().len();
    let err = media_info_from_movie(&movie_of(&path), size).unwrap_err();
    assert_eq!(err.code(), "no_video_stream", "{err}");
}
