//! The cheapest conversion to HLS that plays in every browser.
//!
//! - **Remux** (seconds for any length): H.264 8-bit 4:2:0 in a profile browsers decode, upright,
//!   progressive, at most 4K and 60 fps, keyframes at most [`PlanSettings::max_remux_keyframe_interval`]
//!   apart (they are the only places a segment can start), with AAC audio or none.
//! - **CopyVideoEncodeAudio**: such video with other audio (Opus, MP3, AC-3, PCM...): audio to AAC.
//! - **Transcode**: anything else, to H.264 High 8-bit 4:2:0 with libx264.
//!
//! Rotation is always re-encoded: MPEG-TS has no display matrix, so a remuxed rotated video would
//! play sideways. ffmpeg turns the picture upright when it decodes (autorotate), so the transcode
//! writes upright pixels and needs no metadata at all.

use flick_domain::config::{ProcessingConfig, Rung};
use flick_packaging::playlist::Variant;

use crate::error::MediaError;
use crate::input::MAX_PIXELS;
use crate::probe::MediaInfo;

/// Limits and targets of planning.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanSettings {
    /// Re-encodes are scaled down so that their short side is at most this (1080: "1080p"), and
    /// their long side at most 16/9 of it; portrait video keeps the same quality as landscape.
    pub max_output_height: u32,
    /// Longer videos are refused.
    pub max_duration_seconds: f64,
    /// Longer videos are refused when they must be re-encoded (their CPU time grows with their length).
    pub max_reencode_duration_seconds: f64,
    /// Inputs with more pixels per frame are refused (4K is the largest accepted by default; decoders
    /// enforce [`MAX_PIXELS`] whatever this says).
    pub max_input_pixels: u64,
    /// A remux is only chosen when keyframes are at most this many seconds apart; otherwise
    /// segments (which can only start on a keyframe) would be too long to start playback quickly.
    pub max_remux_keyframe_interval: f64,
    /// Faster video is re-encoded at this frame rate.
    pub max_frame_rate: f64,
    /// The input is an upload still arriving, watched while it is encoded: a viewer may start right behind the
    /// encoder, so it encodes one x264 preset faster (a little more bitrate for the same quality, and no stall).
    pub live: bool,
}

impl Default for PlanSettings {
    fn default() -> Self {
        PlanSettings {
            max_output_height: 1080,
            max_duration_seconds: 3.0 * 3600.0,
            max_reencode_duration_seconds: 2.0 * 3600.0,
            max_input_pixels: MAX_PIXELS,
            max_remux_keyframe_interval: 12.0,
            max_frame_rate: 60.0,
            live: false,
        }
    }
}

impl PlanSettings {
    /// Settings from the processing configuration (other limits at their defaults).
    pub fn from_config(c: &ProcessingConfig) -> Self {
        PlanSettings {
            max_output_height: c.max_output_height.max(144),
            max_duration_seconds: f64::from(c.max_duration_seconds.max(1)),
            max_reencode_duration_seconds: f64::from(c.max_reencode_duration_seconds.max(1)),
            ..Default::default()
        }
    }
}

/// What to do with an input.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// Copy video and audio (AAC or none) into MPEG-TS segments unchanged.
    Remux,
    /// Copy the video, encode the audio to AAC.
    CopyVideoEncodeAudio { audio: AudioEncode },
    /// Encode the video with libx264; `reason` says why it could not be copied (for logs).
    Transcode { video: VideoEncode, audio: AudioPlan, reason: String },
}

/// libx264 settings of a transcode.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoEncode {
    /// Output size (even, upright, square pixels).
    pub width: u32,
    pub height: u32,
    /// x264 preset, chosen from the pixel rate so 1080p30 encodes faster than 1.5x real time on two cores.
    pub preset: &'static str,
    pub crf: u8,
    /// VBV cap so no segment is a bandwidth spike.
    pub maxrate_kbps: u32,
    pub bufsize_kbps: u32,
    /// H.264 level_idc (40 = level 4.0), declared in the stream and in CODECS.
    pub level: u8,
    /// Set when the source is faster than [`PlanSettings::max_frame_rate`]: output at this rate.
    pub frame_rate_cap: Option<f64>,
    /// Source is interlaced: deinterlace (yadif) before encoding.
    pub deinterlace: bool,
    /// Expected output frame rate (for FRAME-RATE and the level), when known.
    pub frame_rate: Option<f64>,
}

/// What happens to the audio of a transcode.
#[derive(Debug, Clone, PartialEq)]
pub enum AudioPlan {
    None,
    Copy,
    Encode(AudioEncode),
}

/// AAC-LC encoder settings.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioEncode {
    pub channels: u32,
    pub sample_rate: u32,
    pub bitrate_kbps: u32,
}

/// Chooses how to turn `info` into HLS, or says why it cannot be done.
pub fn plan(info: &MediaInfo, settings: &PlanSettings) -> Result<Plan, MediaError> {
    let v = &info.video;
    let too_long = |limit: f64, what: &str| MediaError::TooLarge {
        detail: format!(
            "it is {} minutes long, the limit is {} minutes{what}",
            (info.duration_seconds / 60.0).ceil(),
            (limit / 60.0).floor()
        ),
    };
    if info.duration_seconds > settings.max_duration_seconds {
        return Err(too_long(settings.max_duration_seconds, ""));
    }
    if u64::from(v.width) * u64::from(v.height) > settings.max_input_pixels {
        return Err(MediaError::TooLarge { detail: format!("the picture is {}x{} pixels", v.width, v.height) });
    }

    let audio = audio_plan(info);
    match video_copy_refusal(info, settings) {
        None => Ok(match audio {
            AudioPlan::None | AudioPlan::Copy => Plan::Remux,
            AudioPlan::Encode(audio) => Plan::CopyVideoEncodeAudio { audio },
        }),
        Some(_) if info.duration_seconds > settings.max_reencode_duration_seconds => Err(too_long(
            settings.max_reencode_duration_seconds,
            " for a video that must be converted (export it as H.264 MP4 to send a longer one)",
        )),
        Some(reason) => Ok(Plan::Transcode { video: video_encode(info, settings), audio, reason }),
    }
}

/// Why the video stream cannot be copied as is, or `None` when it can.
fn video_copy_refusal(info: &MediaInfo, settings: &PlanSettings) -> Option<String> {
    let v = &info.video;
    if v.codec != "h264" {
        return Some(format!("video codec is {}", v.codec));
    }
    if !matches!(v.pix_fmt.as_deref(), Some("yuv420p" | "yuvj420p")) || v.bit_depth != 8 {
        return Some(format!("pixel format is {}", v.pix_fmt.as_deref().unwrap_or("unknown")));
    }
    if h264_profile_idc(v.profile.as_deref()).is_none() {
        return Some(format!("H.264 profile {} is not widely playable", v.profile.as_deref().unwrap_or("unknown")));
    }
    if v.level.is_some_and(|l| l > 52) {
        return Some(format!("H.264 level {:?} is above 5.2", v.level));
    }
    if v.rotation != 0 {
        return Some(format!("video is rotated {} degrees", v.rotation));
    }
    if v.interlaced {
        return Some("video is interlaced".into());
    }
    let (long, short) = (v.width.max(v.height), v.width.min(v.height));
    if long > 4096 || short > 2304 {
        return Some(format!("video is {}x{}, larger than 4K", v.width, v.height));
    }
    if v.frame_rate.is_some_and(|f| f > settings.max_frame_rate + 0.5) {
        return Some(format!("frame rate {:.1} is above {}", v.frame_rate.unwrap_or(0.0), settings.max_frame_rate));
    }
    if let Some(gap) = v.max_keyframe_interval
        && gap > settings.max_remux_keyframe_interval
    {
        return Some(format!("keyframes are up to {gap:.1}s apart"));
    }
    None
}

/// Audio: none, copied (AAC that browsers decode), or encoded to AAC-LC.
fn audio_plan(info: &MediaInfo) -> AudioPlan {
    let Some(a) = &info.audio else { return AudioPlan::None };
    let aac_ok = a.codec == "aac"
        && matches!(a.profile.as_deref(), Some("LC" | "HE-AAC" | "HE-AACv2"))
        && a.channels <= 8
        && (8000..=96_000).contains(&a.sample_rate);
    if aac_ok {
        return AudioPlan::Copy;
    }
    // Stereo at most: downmixing is what every browser plays back anyway.
    let channels = a.channels.clamp(1, 2);
    let sample_rate = if matches!(a.sample_rate, 44_100 | 48_000) { a.sample_rate } else { 48_000 };
    AudioPlan::Encode(AudioEncode { channels, sample_rate, bitrate_kbps: if channels == 1 { 64 } else { 128 } })
}

fn even(x: f64) -> u32 {
    let e = ((x / 2.0).round() * 2.0).max(2.0);
    if e.is_finite() && e < f64::from(u32::MAX) { e as u32 } else { 2 }
}

fn video_encode(info: &MediaInfo, settings: &PlanSettings) -> VideoEncode {
    let (dw, dh) = info.display_size();
    let (dw, dh) = (f64::from(dw.max(1)), f64::from(dh.max(1)));
    let max_short = f64::from(settings.max_output_height);
    let max_long = (max_short * 16.0 / 9.0).round();
    let factor = 1.0_f64.min(max_short / dw.min(dh)).min(max_long / dw.max(dh));
    let (width, height) = (even(dw * factor), even(dh * factor));

    let source_fps = info.video.frame_rate;
    let frame_rate_cap = source_fps.filter(|f| *f > settings.max_frame_rate + 0.5).map(|_| settings.max_frame_rate);
    let frame_rate = frame_rate_cap.or(source_fps);
    let fps = frame_rate.unwrap_or(30.0);

    // Measured on 2 cores, 1080p25 input (tests/bench.rs): veryfast 2.5x real time
    // on clean content but 1.5x on noisy camera-like content; superfast 4.3x / 2.1x; ultrafast 6.6x / 4.3x.
    let pixel_rate = f64::from(width) * f64::from(height) * fps;
    let input_pixel_rate = f64::from(info.video.width) * f64::from(info.video.height) * source_fps.unwrap_or(30.0);
    let mut speed = if pixel_rate <= 1280.0 * 720.0 * 30.5 {
        0
    } else if pixel_rate <= 1920.0 * 1080.0 * 30.5 {
        1
    } else {
        2
    };
    // Decoding a 4K (or 1080p60+) source costs as much again: encode faster to stay ahead of real time.
    if input_pixel_rate > 2.0 * 1920.0 * 1080.0 * 30.5 {
        speed += 1;
    }
    if settings.live {
        speed += 1;
    }
    let preset = ["veryfast", "superfast", "ultrafast"][speed.min(2)];

    let short = width.min(height);
    let base_kbps = match short {
        0..=240 => 600,
        241..=360 => 1000,
        361..=480 => 1600,
        481..=720 => 3500,
        721..=1080 => 6000,
        1081..=1440 => 10_000,
        _ => 16_000,
    };
    let maxrate_kbps = if fps > 31.0 { base_kbps * 3 / 2 } else { base_kbps };
    VideoEncode {
        width,
        height,
        preset,
        crf: 23,
        maxrate_kbps,
        bufsize_kbps: maxrate_kbps * 2,
        level: h264_level(width, height, fps, maxrate_kbps),
        frame_rate_cap,
        deinterlace: info.video.interlaced,
        frame_rate,
    }
}

/// The encode of one lower rendition of the ladder: `info` scaled down to `rung` (its short side), its video capped
/// at the rung's bitrate, its audio as the first rendition has it (AAC copied, or encoded). `None` when the rung is
/// of no use for this video: its picture is not smaller, or the first rendition (at `top_bandwidth` bit/s peak) is not
/// well above the rung's bitrate.
pub fn rung_plan(info: &MediaInfo, rung: &Rung, top_bandwidth: u64) -> Option<Plan> {
    let (dw, dh) = info.display_size();
    if dw.min(dh) <= rung.height || rung.height < 144 || rung.video_kbps == 0 {
        return None;
    }
    if top_bandwidth < u64::from(rung.video_kbps) * 1000 * 3 / 2 {
        return None;
    }
    let settings = PlanSettings { max_output_height: rung.height, ..PlanSettings::default() };
    let mut video = video_encode(info, &settings);
    // The ladder is not racing playback: the best preset for its cost, whatever the size.
    video.preset = "veryfast";
    video.maxrate_kbps = rung.video_kbps;
    video.bufsize_kbps = video.maxrate_kbps * 2;
    let fps = video.frame_rate.unwrap_or(30.0);
    video.level = h264_level(video.width, video.height, fps, video.maxrate_kbps);
    Some(Plan::Transcode { video, audio: audio_plan(info), reason: format!("ladder rung {}p", rung.height) })
}

/// The lowest H.264 level whose frame size, macroblock rate and (High profile) bit rate fit.
fn h264_level(width: u32, height: u32, fps: f64, maxrate_kbps: u32) -> u8 {
    // (level_idc, MaxFS, MaxMBPS, MaxBR in kbit/s for Main; High allows 1.25x)
    const LEVELS: [(u8, u64, f64, u32); 9] = [
        (30, 1620, 40_500.0, 10_000),
        (31, 3600, 108_000.0, 14_000),
        (32, 5120, 216_000.0, 20_000),
        (40, 8192, 245_760.0, 20_000),
        (41, 8192, 245_760.0, 50_000),
        (42, 8704, 522_240.0, 50_000),
        (50, 22_080, 589_824.0, 135_000),
        (51, 36_864, 983_040.0, 240_000),
        (52, 36_864, 2_073_600.0, 240_000),
    ];
    let mbs = u64::from(width.div_ceil(16)) * u64::from(height.div_ceil(16));
    let mbps = mbs as f64 * fps;
    LEVELS
        .iter()
        .find(|(_, max_fs, max_mbps, max_br)| {
            mbs <= *max_fs && mbps <= *max_mbps && u64::from(maxrate_kbps) * 4 <= u64::from(*max_br) * 5
        })
        .map_or(52, |l| l.0)
}

/// profile_idc and the constraint byte for CODECS, for the H.264 profiles browsers decode.
fn h264_profile_idc(profile: Option<&str>) -> Option<(u8, u8)> {
    match profile? {
        "Constrained Baseline" => Some((66, 0x40)),
        "Baseline" => Some((66, 0x00)),
        "Main" => Some((77, 0x00)),
        "High" => Some((100, 0x00)),
        _ => None,
    }
}

/// The CODECS attribute (RFC 6381) of the output, e.g. `avc1.4d001f,mp4a.40.2`: from the source's
/// profile and level when the video is copied, from the encoder settings when it is transcoded.
pub fn codecs_string(info: &MediaInfo, plan: &Plan) -> String {
    let video = match plan {
        Plan::Remux | Plan::CopyVideoEncodeAudio { .. } => {
            let (profile, constraints) = h264_profile_idc(info.video.profile.as_deref()).unwrap_or((77, 0));
            let level = info.video.level.filter(|l| (9..=62).contains(l)).map(|l| l as u8).unwrap_or_else(|| {
                let (w, h) = (info.video.width, info.video.height);
                h264_level(w, h, info.video.frame_rate.unwrap_or(30.0), 0)
            });
            format!("avc1.{profile:02x}{constraints:02x}{level:02x}")
        }
        Plan::Transcode { video, .. } => format!("avc1.6400{:02x}", video.level),
    };
    let audio = match (plan, &info.audio) {
        (Plan::Remux, Some(a)) | (Plan::Transcode { audio: AudioPlan::Copy, .. }, Some(a)) => {
            Some(match a.profile.as_deref() {
                Some("HE-AAC") => "mp4a.40.5",
                Some("HE-AACv2") => "mp4a.40.29",
                _ => "mp4a.40.2",
            })
        }
        (Plan::CopyVideoEncodeAudio { .. }, _) | (Plan::Transcode { audio: AudioPlan::Encode(_), .. }, _) => {
            Some("mp4a.40.2")
        }
        _ => None,
    };
    match audio {
        Some(a) => format!("{video},{a}"),
        None => video,
    }
}

/// The single variant of the master playlist for this plan: peak bandwidth, size, CODECS, frame rate.
pub fn variant_for(info: &MediaInfo, plan: &Plan) -> Variant {
    let overall = info.bit_rate.or_else(|| {
        (info.duration_seconds > 0.0).then(|| (info.size_bytes as f64 * 8.0 / info.duration_seconds) as u64)
    });
    let source_audio = info.audio.as_ref().map_or(0, |a| a.bit_rate.unwrap_or(128_000));
    let source_video = info.video.bit_rate.or_else(|| overall.map(|o| o.saturating_sub(source_audio)));
    // BANDWIDTH is a peak: 1.5x the average for copied video (its VBV is unknown), the VBV cap for
    // encoded video; plus about 10 % of MPEG-TS overhead.
    let (bandwidth, (width, height), frame_rate) = match plan {
        Plan::Remux => {
            let avg = overall.unwrap_or(5_000_000);
            (avg.saturating_mul(3) / 2, info.display_size(), info.video.frame_rate)
        }
        Plan::CopyVideoEncodeAudio { audio } => {
            let video = source_video.unwrap_or(5_000_000).saturating_mul(3) / 2;
            (video + u64::from(audio.bitrate_kbps) * 1000, info.display_size(), info.video.frame_rate)
        }
        Plan::Transcode { video, audio, .. } => {
            let audio_bps = match audio {
                AudioPlan::None => 0,
                AudioPlan::Copy => source_audio,
                AudioPlan::Encode(a) => u64::from(a.bitrate_kbps) * 1000,
            };
            (u64::from(video.maxrate_kbps) * 1000 + audio_bps, (video.width, video.height), video.frame_rate)
        }
    };
    Variant {
        bandwidth: (bandwidth.saturating_mul(11) / 10).max(64_000),
        average_bandwidth: None,
        width,
        height,
        codecs: codecs_string(info, plan),
        frame_rate: frame_rate.filter(|f| f.is_finite() && *f > 0.0 && *f <= 1000.0),
        uri: "index.m3u8".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::{AudioStreamInfo, VideoStreamInfo};

    fn info(codec: &str, w: u32, h: u32) -> MediaInfo {
        MediaInfo {
            container: "mov,mp4,m4a,3gp,3g2,mj2".into(),
            duration_seconds: 60.0,
            size_bytes: 30_000_000,
            bit_rate: Some(4_000_000),
            video: VideoStreamInfo {
                index: 0,
                codec: codec.into(),
                profile: Some("High".into()),
                level: Some(40),
                pix_fmt: Some("yuv420p".into()),
                width: w,
                height: h,
                sample_aspect_ratio: None,
                rotation: 0,
                frame_rate: Some(30.0),
                bit_depth: 8,
                interlaced: false,
                bit_rate: Some(3_800_000),
                max_keyframe_interval: Some(2.0),
            },
            audio: Some(AudioStreamInfo {
                index: 1,
                codec: "aac".into(),
                profile: Some("LC".into()),
                channels: 2,
                sample_rate: 48_000,
                bit_rate: Some(128_000),
            }),
        }
    }

    #[test]
    fn rungs_apply_only_below_the_video_and_well_below_its_bitrate() {
        let hd = info("h264", 1920, 1080);
        let rung = |height, video_kbps| Rung { height, video_kbps };
        let Some(Plan::Transcode { video, audio, .. }) = rung_plan(&hd, &rung(720, 3000), 8_000_000) else {
            panic!("1080p gets a 720p rendition")
        };
        assert_eq!((video.width, video.height, video.maxrate_kbps, video.bufsize_kbps), (1280, 720, 3000, 6000));
        assert_eq!((video.preset, video.level), ("veryfast", 31));
        assert_eq!(audio, AudioPlan::Copy, "AAC is copied, as in the first rendition");
        assert_eq!(rung_plan(&hd, &rung(1080, 6000), 20_000_000), None, "not smaller");
        assert_eq!(rung_plan(&hd, &rung(720, 3000), 4_000_000), None, "the first rendition is barely above it");
        let portrait = info("h264", 1080, 1920);
        let Some(Plan::Transcode { video, .. }) = rung_plan(&portrait, &rung(360, 800), 8_000_000) else {
            panic!("portrait too")
        };
        assert_eq!((video.width, video.height), (360, 640));
    }

    /// ffprobe's answer for a fixture, as recorded in `tests/data` (by its `record.sh`).
    fn recorded(name: &str) -> MediaInfo {
        let json = std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name));
        crate::probe::media_info_from_json(&json.unwrap(), 1_000_000).unwrap()
    }

    #[test]
    fn recorded_files_are_planned_as_their_streams_call_for() {
        let s = PlanSettings::default();
        assert_eq!(plan(&recorded("h264_aac_moov_end.json"), &s).unwrap(), Plan::Remux);
        assert!(matches!(plan(&recorded("h264_opus.json"), &s).unwrap(), Plan::CopyVideoEncodeAudio { .. }));
        for (name, copies_audio) in
            [("hevc_rot90.json", true), ("h264_10bit.json", true), ("vp9_opus.json", false), ("mpeg4_mp3.json", false)]
        {
            match plan(&recorded(name), &s).unwrap() {
                Plan::Transcode { audio: AudioPlan::Copy, .. } if copies_audio => {}
                Plan::Transcode { audio: AudioPlan::Encode(_), .. } if !copies_audio => {}
                other => panic!("{name}: {other:?}"),
            }
        }
    }

    fn transcode(p: &Plan) -> &VideoEncode {
        match p {
            Plan::Transcode { video, .. } => video,
            other => panic!("expected a transcode, got {other:?}"),
        }
    }

    #[test]
    fn h264_aac_is_remuxed_and_other_audio_is_encoded() {
        let s = PlanSettings::default();
        let mut i = info("h264", 1920, 1080);
        assert_eq!(plan(&i, &s).unwrap(), Plan::Remux);
        assert_eq!(codecs_string(&i, &Plan::Remux), "avc1.640028,mp4a.40.2");
        i.audio = None;
        assert_eq!(plan(&i, &s).unwrap(), Plan::Remux);
        assert_eq!(codecs_string(&i, &Plan::Remux), "avc1.640028");
        i.audio = Some(AudioStreamInfo {
            index: 1,
            codec: "opus".into(),
            profile: None,
            channels: 6,
            sample_rate: 48_000,
            bit_rate: None,
        });
        let p = plan(&i, &s).unwrap();
        assert_eq!(
            p,
            Plan::CopyVideoEncodeAudio { audio: AudioEncode { channels: 2, sample_rate: 48_000, bitrate_kbps: 128 } }
        );
        assert_eq!(codecs_string(&i, &p), "avc1.640028,mp4a.40.2");
    }

    #[test]
    fn anything_not_copyable_is_transcoded() {
        let s = PlanSettings::default();
        type Change = Box<dyn Fn(&mut MediaInfo)>;
        let cases: Vec<(&str, Change)> = vec![
            ("hevc", Box::new(|i| i.video.codec = "hevc".into())),
            ("10 bit", Box::new(|i| i.video.pix_fmt = Some("yuv420p10le".into()))),
            ("4:2:2", Box::new(|i| i.video.pix_fmt = Some("yuv422p".into()))),
            ("hi444", Box::new(|i| i.video.profile = Some("High 4:4:4 Predictive".into()))),
            ("rotated", Box::new(|i| i.video.rotation = 90)),
            ("interlaced", Box::new(|i| i.video.interlaced = true)),
            ("120 fps", Box::new(|i| i.video.frame_rate = Some(120.0))),
            ("sparse keyframes", Box::new(|i| i.video.max_keyframe_interval = Some(30.0))),
        ];
        for (name, change) in cases {
            let mut i = info("h264", 1920, 1080);
            change(&mut i);
            let p = plan(&i, &s).unwrap();
            assert!(matches!(p, Plan::Transcode { audio: AudioPlan::Copy, .. }), "{name}: {p:?}");
        }
    }

    #[test]
    fn transcodes_scale_down_keep_aspect_and_honour_rotation() {
        let s = PlanSettings::default();
        let mut i = info("hevc", 3840, 2160);
        let v = transcode(&plan(&i, &s).unwrap()).clone();
        assert_eq!((v.width, v.height), (1920, 1080));
        assert_eq!(v.level, 40);
        assert_eq!(codecs_string(&i, &plan(&i, &s).unwrap()), "avc1.640028,mp4a.40.2");
        i.video.rotation = 90;
        let v = transcode(&plan(&i, &s).unwrap()).clone();
        assert_eq!((v.width, v.height), (1080, 1920), "portrait keeps its 1080p-class size");
        let mut small = info("vp9", 640, 360);
        small.video.rotation = 270;
        let v = transcode(&plan(&small, &s).unwrap()).clone();
        assert_eq!((v.width, v.height), (360, 640));
        assert_eq!(v.preset, "veryfast");
        let mut odd = info("mpeg4", 853, 481);
        odd.video.sample_aspect_ratio = Some((4, 3));
        let v = transcode(&plan(&odd, &s).unwrap()).clone();
        assert_eq!(v.width % 2 + v.height % 2, 0, "{v:?}");
        assert_eq!((v.width, v.height), (1138, 482));
        let tall = PlanSettings { max_output_height: 720, ..Default::default() };
        let v = transcode(&plan(&info("hevc", 1920, 1080), &tall).unwrap()).clone();
        assert_eq!((v.width, v.height), (1280, 720));
        assert_eq!(v.level, 31);
    }

    #[test]
    fn presets_follow_the_pixel_rate() {
        let s = PlanSettings::default();
        assert_eq!(transcode(&plan(&info("hevc", 1280, 720), &s).unwrap()).preset, "veryfast");
        assert_eq!(transcode(&plan(&info("hevc", 1920, 1080), &s).unwrap()).preset, "superfast");
        assert_eq!(transcode(&plan(&info("hevc", 3840, 2160), &s).unwrap()).preset, "ultrafast");
        let mut fast = info("hevc", 1920, 1080);
        fast.video.frame_rate = Some(240.0);
        let v = transcode(&plan(&fast, &s).unwrap()).clone();
        assert_eq!(v.frame_rate_cap, Some(60.0));
        assert_eq!(v.level, 42);
        // Watched while it uploads: one preset faster.
        let live = PlanSettings { live: true, ..PlanSettings::default() };
        assert_eq!(transcode(&plan(&info("hevc", 1280, 720), &live).unwrap()).preset, "superfast");
        assert_eq!(transcode(&plan(&info("hevc", 1920, 1080), &live).unwrap()).preset, "ultrafast");
    }

    #[test]
    fn limits_are_errors() {
        let s = PlanSettings::default();
        let mut long = info("h264", 1920, 1080);
        long.duration_seconds = 3.0 * 3600.0 + 1.0;
        assert_eq!(plan(&long, &s).unwrap_err().code(), "too_large");
        let huge = info("h264", 16_000, 16_000);
        assert_eq!(plan(&huge, &s).unwrap_err().code(), "too_large");
        let eight_k = info("hevc", 7680, 4320);
        assert_eq!(plan(&eight_k, &s).unwrap_err().code(), "too_large");
        // Two and a half hours: remuxed, but too long to re-encode.
        let mut film = info("h264", 1920, 1080);
        film.duration_seconds = 2.5 * 3600.0;
        assert_eq!(plan(&film, &s).unwrap(), Plan::Remux);
        film.video.codec = "hevc".into();
        let refused = plan(&film, &s).unwrap_err();
        assert_eq!(refused.code(), "too_large");
        assert!(refused.user_message().contains("limit is 120 minutes"), "{}", refused.user_message());
    }

    #[test]
    fn variants_describe_the_output() {
        let s = PlanSettings::default();
        let i = info("hevc", 1920, 1080);
        let p = plan(&i, &s).unwrap();
        let v = variant_for(&i, &p);
        assert_eq!((v.width, v.height), (1920, 1080));
        assert_eq!(v.bandwidth, (6_000_000 + 128_000) * 11 / 10);
        assert_eq!(v.uri, "index.m3u8");
        let r = info("h264", 1280, 720);
        let v = variant_for(&r, &Plan::Remux);
        assert_eq!((v.width, v.height), (1280, 720));
        assert_eq!(v.frame_rate, Some(30.0));
    }
}
