//! ffprobe's JSON, read defensively into [`MediaInfo`].
//!
//! ffprobe's output is controlled by whoever made the file, so every field is optional, numbers may
//! arrive as strings ("N/A", "nan", "1e308"), and nothing here unwraps or panics: anything unusable
//! becomes a [`MediaError`] or an unknown (`None`) value. The tests read JSON recorded from the
//! fixtures (`tests/data/*.json`, made with the arguments [`super::run`] passes).

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::Value;

use super::info::{AudioStreamInfo, MediaInfo, VideoStreamInfo};
use super::limits::{
    accepted_video_codec, dimension, sane_aspect, sane_audio_shape, sane_bit_rate, sane_frame_rate, usable_audio_codec,
};
use crate::error::MediaError;
use crate::input::MAX_STREAMS;

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawProbe {
    streams: Vec<RawStream>,
    format: Option<RawFormat>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawFormat {
    format_name: Option<String>,
    duration: Value,
    bit_rate: Value,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawStream {
    index: Value,
    codec_type: Option<String>,
    codec_name: Option<String>,
    profile: Value,
    level: Value,
    pix_fmt: Option<String>,
    width: Value,
    height: Value,
    sample_aspect_ratio: Option<String>,
    r_frame_rate: Option<String>,
    avg_frame_rate: Option<String>,
    bits_per_raw_sample: Value,
    field_order: Option<String>,
    duration: Value,
    channels: Value,
    sample_rate: Value,
    bit_rate: Value,
    tags: HashMap<String, Value>,
    disposition: HashMap<String, Value>,
    side_data_list: Vec<RawSideData>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawSideData {
    side_data_type: Option<String>,
    rotation: Value,
}

/// Parses ffprobe's JSON (`-print_format json` with format and streams) into [`MediaInfo`].
/// `size_bytes` is the file's real size. Hostile or nonsensical input gives an error, never a panic.
pub fn media_info_from_json(json: &[u8], size_bytes: u64) -> Result<MediaInfo, MediaError> {
    let raw: RawProbe = serde_json::from_slice(json)
        .map_err(|e| MediaError::NotAVideo { detail: format!("unreadable ffprobe output: {e}") })?;
    let format = raw.format.unwrap_or_default();
    let container = format
        .format_name
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| MediaError::NotAVideo { detail: "no container format detected".into() })?;

    if raw.streams.len() > MAX_STREAMS as usize {
        return Err(MediaError::TooLarge { detail: format!("the file has {} streams", raw.streams.len()) });
    }
    let video_raw = raw
        .streams
        .iter()
        .find(|s| s.codec_type.as_deref() == Some("video") && !is_flag_set(s.disposition.get("attached_pic")))
        .ok_or(MediaError::NoVideoStream)?;
    let video = video_stream(video_raw)?;
    let audio =
        raw.streams.iter().filter(|s| s.codec_type.as_deref() == Some("audio")).find_map(|s| match audio_stream(s) {
            Some(a) => usable_audio_codec(&a.codec).then_some(a),
            None => {
                tracing::warn!(codec = ?s.codec_name, "ignoring an unreadable audio stream");
                None
            }
        });

    let duration_seconds = seconds(&format.duration).or_else(|| seconds(&video_raw.duration)).unwrap_or(0.0);
    Ok(MediaInfo { container, duration_seconds, size_bytes, bit_rate: bits_per_second(&format.bit_rate), video, audio })
}

fn video_stream(s: &RawStream) -> Result<VideoStreamInfo, MediaError> {
    let codec = known_codec(s.codec_name.as_deref()).ok_or_else(|| MediaError::UnsupportedCodec {
        codec: s.codec_name.clone().unwrap_or_else(|| "unknown".into()),
        detail: "ffprobe does not know this video codec".into(),
    })?;
    let codec = accepted_video_codec(codec)?;
    let index = uint(&s.index, u64::from(u32::MAX))
        .ok_or_else(|| MediaError::NotAVideo { detail: "the video stream has no index".into() })?
        as u32;
    let width = dimension(number(&s.width), "width", &codec)?;
    let height = dimension(number(&s.height), "height", &codec)?;
    let pix_fmt = s.pix_fmt.clone().filter(|p| !p.is_empty() && p != "unknown");
    let frame_rate = s
        .avg_frame_rate
        .as_deref()
        .and_then(rational)
        .or_else(|| s.r_frame_rate.as_deref().and_then(rational))
        .and_then(sane_frame_rate);
    let bit_depth = pix_fmt
        .as_deref()
        .and_then(depth_of_pix_fmt)
        .or_else(|| uint(&s.bits_per_raw_sample, 64).map(|b| b as u8))
        .filter(|b| *b > 0)
        .unwrap_or(8);
    let interlaced = matches!(s.field_order.as_deref(), Some("tt" | "bb" | "tb" | "bt"));
    Ok(VideoStreamInfo {
        index,
        codec,
        profile: text(&s.profile).filter(|p| p != "unknown"),
        level: integer(&s.level).filter(|l| *l > 0 && *l < 1000),
        pix_fmt,
        width,
        height,
        sample_aspect_ratio: s.sample_aspect_ratio.as_deref().and_then(aspect),
        rotation: rotation_of(s),
        frame_rate,
        bit_depth,
        interlaced,
        bit_rate: bits_per_second(&s.bit_rate),
        max_keyframe_interval: None,
    })
}

fn audio_stream(s: &RawStream) -> Option<AudioStreamInfo> {
    let codec = known_codec(s.codec_name.as_deref())?;
    let index = uint(&s.index, u64::from(u32::MAX))? as u32;
    let (channels, sample_rate) = sane_audio_shape(uint(&s.channels, u64::MAX)?, uint(&s.sample_rate, u64::MAX)?)?;
    Some(AudioStreamInfo {
        index,
        codec,
        profile: text(&s.profile).filter(|p| p != "unknown"),
        channels,
        sample_rate,
        bit_rate: bits_per_second(&s.bit_rate),
    })
}

fn known_codec(name: Option<&str>) -> Option<String> {
    let name = name?.trim();
    let ok = !name.is_empty()
        && name != "none"
        && name != "unknown"
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    ok.then(|| name.to_owned())
}

/// Clockwise display rotation, normalised to 0/90/180/270. The display matrix (what ffmpeg itself
/// obeys) wins over the legacy `rotate` tag; its angle is counter-clockwise, hence the minus.
fn rotation_of(s: &RawStream) -> i32 {
    let from_matrix = s
        .side_data_list
        .iter()
        .filter(|sd| sd.side_data_type.as_deref() == Some("Display Matrix"))
        .find_map(|sd| number(&sd.rotation))
        .map(|r| -r);
    let from_tag = || s.tags.get("rotate").and_then(number);
    match from_matrix.or_else(from_tag) {
        Some(deg) => normalise_rotation(deg),
        None => 0,
    }
}

/// Any angle to the nearest quarter turn in 0..360 (non-finite: 0).
fn normalise_rotation(deg: f64) -> i32 {
    if !deg.is_finite() {
        return 0;
    }
    let quarters = (deg / 90.0).round().rem_euclid(4.0);
    (quarters as i32) * 90
}

fn is_flag_set(v: Option<&Value>) -> bool {
    v.and_then(number).is_some_and(|n| n != 0.0)
}

/// A finite number from a JSON number or numeric string ("N/A", "nan", "inf" and garbage: `None`).
fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64().filter(|n| n.is_finite()),
        Value::String(s) => number_text(s),
        _ => None,
    }
}

/// A finite number from text as ffprobe prints it ("N/A", "nan", "inf" and garbage: `None`).
pub(super) fn number_text(s: &str) -> Option<f64> {
    let s = s.trim();
    // Rust parses "nan"/"inf"/"infinity"; ffprobe never prints those for a valid value.
    if s.is_empty() || s.len() > 64 || s.bytes().any(|b| b.is_ascii_alphabetic() && b != b'e' && b != b'E') {
        return None;
    }
    s.parse::<f64>().ok().filter(|n| n.is_finite())
}

fn uint(v: &Value, max: u64) -> Option<u64> {
    let n = number(v)?;
    (n >= 0.0 && n.fract() == 0.0 && n <= max as f64).then_some(n as u64)
}

fn integer(v: &Value) -> Option<i32> {
    let n = number(v)?;
    (n.fract() == 0.0 && n.abs() <= f64::from(i32::MAX)).then_some(n as i32)
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() && s.len() <= 128 => Some(s.trim().to_owned()),
        _ => None,
    }
}

/// Non-negative seconds below ~115 days; anything else counts as unknown.
fn seconds(v: &Value) -> Option<f64> {
    number(v).filter(|d| *d > 0.0 && *d < 1e7)
}

fn bits_per_second(v: &Value) -> Option<u64> {
    number(v).and_then(sane_bit_rate)
}

/// "30000/1001" → 29.97; zero, negative or malformed → `None`.
fn rational(s: &str) -> Option<f64> {
    let (n, d) = s.split_once('/')?;
    let n: i64 = n.trim().parse().ok()?;
    let d: i64 = d.trim().parse().ok()?;
    if n <= 0 || d <= 0 {
        return None;
    }
    let r = n as f64 / d as f64;
    r.is_finite().then_some(r)
}

/// "16:11" → Some((16, 11)) when sane and not square.
fn aspect(s: &str) -> Option<(u32, u32)> {
    let (n, d) = s.split_once(':')?;
    sane_aspect(n.trim().parse().ok()?, d.trim().parse().ok()?)
}

/// Bit depth from a pixel format name: `yuv420p10le` → 10, `yuv420p` → 8.
fn depth_of_pix_fmt(p: &str) -> Option<u8> {
    let base = p.strip_suffix("le").or_else(|| p.strip_suffix("be"))?;
    let digits: String =
        base.chars().rev().take_while(char::is_ascii_digit).collect::<Vec<_>>().into_iter().rev().collect();
    let after_p = base.len() > digits.len() && base[..base.len() - digits.len()].ends_with('p');
    if digits.is_empty() || !after_p {
        return None;
    }
    digits.parse().ok().filter(|d| (8..=16).contains(d))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::Demuxer;

    /// ffprobe's answer for a fixture, as recorded in `tests/data` (by its `record.sh`).
    fn recorded(name: &str) -> MediaInfo {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name);
        let json = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        media_info_from_json(&json, 1_000_000).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    #[test]
    fn recorded_mp4_with_aac() {
        let info = recorded("h264_aac_moov_end.json");
        assert_eq!(info.container, "mov,mp4,m4a,3gp,3g2,mj2");
        assert_eq!(info.demuxer(), Some(Demuxer::Mov));
        assert!((info.duration_seconds - 5.312).abs() < 0.01, "{}", info.duration_seconds);
        let v = &info.video;
        assert_eq!((v.codec.as_str(), v.profile.as_deref(), v.level), ("h264", Some("Main"), Some(31)));
        assert_eq!((v.width, v.height, v.rotation, v.bit_depth, v.interlaced), (1280, 720, 0, 8, false));
        assert_eq!(v.pix_fmt.as_deref(), Some("yuv420p"));
        assert_eq!(v.frame_rate, Some(25.0));
        assert_eq!(v.sample_aspect_ratio, None, "1:1 is square");
        let a = info.audio.as_ref().expect("audio");
        assert_eq!((a.index, a.codec.as_str(), a.profile.as_deref(), a.sample_rate), (1, "aac", Some("LC"), 48_000));
    }

    #[test]
    fn recorded_rotated_hevc_and_ten_bit_h264() {
        let hevc = recorded("hevc_rot90.json");
        assert_eq!((hevc.video.codec.as_str(), hevc.video.profile.as_deref()), ("hevc", Some("Main")));
        assert_eq!(hevc.video.rotation, 270, "the display matrix says 90 counter-clockwise");
        assert_eq!(hevc.display_size(), (360, 640));
        let ten = recorded("h264_10bit.json");
        assert_eq!((ten.video.profile.as_deref(), ten.video.bit_depth), (Some("High 10"), 10));
        assert_eq!(ten.video.pix_fmt.as_deref(), Some("yuv420p10le"));
    }

    #[test]
    fn recorded_matroska_webm_and_mov() {
        let webm = recorded("vp9_opus.json");
        assert_eq!(webm.demuxer(), Some(Demuxer::Matroska));
        assert_eq!((webm.video.codec.as_str(), webm.video.level), ("vp9", None), "level -99 is unknown");
        assert_eq!(webm.audio.as_ref().map(|a| (a.codec.as_str(), a.profile.as_deref())), Some(("opus", None)));
        let opus = recorded("h264_opus.json");
        assert_eq!(opus.audio.as_ref().map(|a| a.codec.as_str()), Some("opus"));
        let mov = recorded("mpeg4_mp3.json");
        assert_eq!((mov.video.codec.as_str(), mov.video.profile.as_deref()), ("mpeg4", Some("Simple Profile")));
        assert_eq!(mov.audio.as_ref().map(|a| a.codec.as_str()), Some("mp3"));
        let vfr = recorded("vfr_noaudio.json");
        assert!(vfr.audio.is_none());
        assert!(vfr.video.frame_rate.is_some_and(|f| f < 25.0), "{:?}", vfr.video.frame_rate);
    }

    #[test]
    fn recorded_live_webm_read_through_a_pipe_has_no_duration() {
        // A WebM written to a pipe (as a browser's MediaRecorder does) states no duration, and
        // ffprobe reading it through a pipe cannot measure one.
        let live = recorded("vp9_opus_live_pipe.json");
        assert_eq!(live.duration_seconds, 0.0);
        assert_eq!(live.bit_rate, None);
        assert_eq!((live.video.codec.as_str(), live.video.width, live.video.height), ("vp9", 320, 180));
    }

    #[test]
    fn recorded_cover_art_and_subtitles_are_not_the_video() {
        let info = recorded("cover_art.json");
        assert_eq!(info.video.codec, "h264");
        assert_eq!(info.video.index, 0);
    }

    const GOOD: &str = r#"{
        "streams": [
            {"index": 0, "codec_name": "h264", "profile": "High", "codec_type": "video", "width": 1920, "height": 1080,
             "sample_aspect_ratio": "1:1", "pix_fmt": "yuv420p", "level": 40, "field_order": "progressive",
             "r_frame_rate": "30000/1001", "avg_frame_rate": "30000/1001", "duration": "10.0", "bit_rate": "5000000",
             "disposition": {"attached_pic": 0}, "tags": {},
             "side_data_list": [{"side_data_type": "Display Matrix", "rotation": -90}]},
            {"index": 1, "codec_name": "aac", "profile": "LC", "codec_type": "audio", "sample_rate": "48000",
             "channels": 2, "bit_rate": "128000", "disposition": {"attached_pic": 0}}
        ],
        "format": {"format_name": "mov,mp4,m4a,3gp,3g2,mj2", "duration": "10.010000", "size": "1000", "bit_rate": "5128000"}
    }"#;

    #[test]
    fn parses_a_normal_file() {
        let info = media_info_from_json(GOOD.as_bytes(), 123).unwrap();
        assert_eq!(info.container, "mov,mp4,m4a,3gp,3g2,mj2");
        assert_eq!(info.size_bytes, 123);
        assert!((info.duration_seconds - 10.01).abs() < 1e-9);
        assert_eq!(info.video.codec, "h264");
        assert_eq!(info.video.level, Some(40));
        assert_eq!(info.video.rotation, 90, "display matrix -90 (counter-clockwise) is a clockwise quarter turn");
        assert_eq!((info.display_width(), info.display_height()), (1080, 1920));
        assert!((info.video.frame_rate.unwrap() - 29.97).abs() < 0.01);
        assert_eq!(info.video.bit_depth, 8);
        assert_eq!(info.demuxer(), Some(Demuxer::Mov));
        let audio = info.audio.unwrap();
        assert_eq!((audio.codec.as_str(), audio.channels, audio.sample_rate), ("aac", 2, 48000));
    }

    #[test]
    fn hostile_json_is_an_error_or_unknown_never_a_panic() {
        let cases: &[&str] = &[
            "",
            "null",
            "[]",
            "42",
            "\"text\"",
            "{",
            "{}",
            r#"{"streams": "nope"}"#,
            r#"{"streams": [], "format": {"format_name": "mov"}}"#,
            r#"{"streams": [{"codec_type": "video"}], "format": {"format_name": "mov"}}"#,
            r#"{"streams": [{"codec_type": "video", "codec_name": "h264", "index": 0, "width": "NaN", "height": 1}], "format": {"format_name": "mov"}}"#,
            r#"{"streams": [{"codec_type": "video", "codec_name": "h264", "index": 0, "width": 1e308, "height": 1}], "format": {"format_name": "mov"}}"#,
            r#"{"streams": [{"codec_type": "video", "codec_name": "h264", "index": 0, "width": -5, "height": 1}], "format": {"format_name": "mov"}}"#,
            r#"{"streams": [{"codec_type": "video", "codec_name": "none", "index": 0, "width": 2, "height": 2}], "format": {"format_name": "mov"}}"#,
            r#"{"streams": [{"codec_type": "video", "codec_name": 7, "index": 0, "width": 2, "height": 2}], "format": {"format_name": "mov"}}"#,
            r#"{"streams": [{"codec_type": "audio", "codec_name": "aac", "index": 0}], "format": {"format_name": "mov"}}"#,
            r#"{"streams": [{"codec_type": "video", "codec_name": "h264", "index": 0, "width": 2, "height": 2, "disposition": {"attached_pic": 1}}], "format": {"format_name": "mov"}}"#,
            r#"{"streams": [{"codec_type": "video", "codec_name": "h264", "index": 0, "width": 2, "height": 2}], "format": {}}"#,
            r#"{"streams": [{"codec_type": "video", "codec_name": "h264", "index": 0, "width": 2, "height": 2}], "format": {"format_name": ""}}"#,
        ];
        for case in cases {
            let r = media_info_from_json(case.as_bytes(), 1);
            assert!(r.is_err(), "{case} should be refused, got {r:?}");
        }
        let codes = |json: &str| media_info_from_json(json.as_bytes(), 1).unwrap_err().code();
        assert_eq!(codes(cases[9]), "unsupported_codec");
        assert_eq!(codes(cases[11]), "too_large");
        assert_eq!(codes(cases[15]), "no_video_stream");
        assert_eq!(codes(cases[16]), "no_video_stream", "cover art alone is not a video");
        assert_eq!(codes(cases[0]), "not_a_video");
    }

    #[test]
    fn absurd_values_become_unknown() {
        let json = r#"{"streams": [
            {"codec_type": "video", "codec_name": "h264", "index": 0, "width": "640", "height": "360",
             "level": "-99", "r_frame_rate": "1/0", "avg_frame_rate": "0/0", "sample_aspect_ratio": "0:1",
             "pix_fmt": "yuv420p10le", "duration": "inf", "bit_rate": "nan",
             "tags": {"rotate": "Infinity"}, "side_data_list": [{"side_data_type": "Display Matrix", "rotation": "NaN"}]},
            {"codec_type": "audio", "codec_name": "opus", "index": 1, "channels": 99999, "sample_rate": "48000"},
            {"codec_type": "audio", "codec_name": "mp3", "index": "2", "channels": 2, "sample_rate": 44100}
        ], "format": {"format_name": "matroska,webm", "duration": "N/A", "bit_rate": -1}}"#;
        let info = media_info_from_json(json.as_bytes(), 9).unwrap();
        assert_eq!((info.video.width, info.video.height), (640, 360));
        assert_eq!(info.video.level, None);
        assert_eq!(info.video.frame_rate, None);
        assert_eq!(info.video.sample_aspect_ratio, None);
        assert_eq!(info.video.rotation, 0);
        assert_eq!(info.video.bit_depth, 10);
        assert_eq!(info.duration_seconds, 0.0);
        assert_eq!(info.bit_rate, None);
        assert_eq!(info.audio.as_ref().map(|a| a.codec.as_str()), Some("mp3"), "unusable audio stream skipped");
        assert_eq!(info.demuxer(), Some(Demuxer::Matroska));
    }

    #[test]
    fn rotation_normalises_to_quarter_turns() {
        assert_eq!(normalise_rotation(0.0), 0);
        assert_eq!(normalise_rotation(-90.0), 270);
        assert_eq!(normalise_rotation(90.0), 90);
        assert_eq!(normalise_rotation(-180.0), 180);
        assert_eq!(normalise_rotation(450.0), 90);
        assert_eq!(normalise_rotation(89.6), 90);
        assert_eq!(normalise_rotation(-1e300), 0);
        assert_eq!(normalise_rotation(f64::NAN), 0);
    }

    #[test]
    fn pixel_formats_give_bit_depths() {
        assert_eq!(depth_of_pix_fmt("yuv420p"), None);
        assert_eq!(depth_of_pix_fmt("yuv420p10le"), Some(10));
        assert_eq!(depth_of_pix_fmt("yuv422p12be"), Some(12));
        assert_eq!(depth_of_pix_fmt("rgb48le"), None);
    }
}
