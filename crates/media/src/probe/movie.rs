//! [`MediaInfo`] from Flick's own MP4/MOV index parser ([`flick_packaging::mp4`]), in ffprobe's
//! words (codec, profile and pixel format names as ffprobe prints them), so that [`crate::plan`]
//! decides exactly as it does from ffprobe's JSON for the same file. No process runs: the index is
//! all there is to read, which is what lets a video be planned while its upload is still running.

use flick_packaging::mp4::{Codec, Movie, Track, TrackKind};

use super::info::{AudioStreamInfo, MediaInfo, VideoStreamInfo};
use super::limits::{
    accepted_video_codec, check_limits, dimension, sane_aspect, sane_audio_shape, sane_bit_rate, sane_frame_rate,
    usable_audio_codec,
};
use crate::error::MediaError;

/// ffprobe's `format_name` for every file its `mov` demuxer reads.
const MOV_FORMAT_NAME: &str = "mov,mp4,m4a,3gp,3g2,mj2";
/// Stream indexes in what ffmpeg is fed from such a file (an fMP4 of the video track, then the
/// audio track), for `-map 0:{index}`.
const VIDEO_INDEX: u32 = 0;
const AUDIO_INDEX: u32 = 1;

/// Describes a parsed MP4/MOV index of a `size_bytes` file the way [`crate::probe`] would: the first
/// enabled video track, the first enabled audio track Flick decodes, then [`check_limits`].
pub fn media_info_from_movie(movie: &Movie, size_bytes: u64) -> Result<MediaInfo, MediaError> {
    // A fragmented file's index lists no samples: its tracks count anyway.
    let playable = |t: &&Track, kind| t.kind == kind && t.enabled && (movie.fragmented || t.sample_count > 0);
    let video = movie.tracks.iter().find(|t| playable(t, TrackKind::Video)).ok_or(MediaError::NoVideoStream)?;
    let video = video_stream(video)?;
    let audio = movie.tracks.iter().filter(|t| playable(t, TrackKind::Audio)).find_map(audio_stream);
    let d = movie.duration_seconds;
    let duration_seconds = if d.is_finite() && d > 0.0 && d < 1e7 { d } else { 0.0 };
    // ffprobe's overall rate is the file's size over its duration, as here.
    let bit_rate = (duration_seconds > 0.0).then(|| size_bytes as f64 * 8.0 / duration_seconds).and_then(sane_bit_rate);
    let info = MediaInfo { container: MOV_FORMAT_NAME.into(), duration_seconds, size_bytes, bit_rate, video, audio };
    check_limits(&info)?;
    Ok(info)
}

fn video_stream(t: &Track) -> Result<VideoStreamInfo, MediaError> {
    let shape = video_shape(&t.codec).ok_or_else(|| MediaError::UnsupportedCodec {
        codec: fourcc_text(t.fourcc),
        detail: "Flick does not know this video codec".into(),
    })?;
    let codec = accepted_video_codec(shape.codec.to_owned())?;
    Ok(VideoStreamInfo {
        index: VIDEO_INDEX,
        width: dimension(Some(f64::from(t.width)), "width", &codec)?,
        height: dimension(Some(f64::from(t.height)), "height", &codec)?,
        codec,
        profile: shape.profile.map(str::to_owned),
        level: shape.level.filter(|l| *l > 0 && *l < 1000),
        pix_fmt: shape.pix_fmt,
        sample_aspect_ratio: t.pixel_aspect.and_then(|(h, v)| sane_aspect(h, v)),
        // Both clockwise: the index's quarter turn is the one ffmpeg applies when it decodes.
        rotation: t.rotation.rem_euclid(360) / 90 * 90,
        frame_rate: t.frame_rate.and_then(sane_frame_rate),
        bit_depth: shape.bit_depth,
        interlaced: shape.interlaced,
        bit_rate: t.bit_rate.and_then(|b| sane_bit_rate(b as f64)),
        max_keyframe_interval: t.max_keyframe_interval.filter(|g| g.is_finite() && *g >= 0.0),
    })
}

fn audio_stream(t: &Track) -> Option<AudioStreamInfo> {
    let (codec, profile) = match &t.codec {
        Codec::Aac { object_type, .. } => ("aac", aac_profile(*object_type)),
        Codec::Mp3 => ("mp3", None),
        Codec::Opus => ("opus", None),
        Codec::Ac3 => ("ac3", None),
        Codec::Eac3 => ("eac3", None),
        Codec::Flac => ("flac", None),
        Codec::Alac => ("alac", None),
        Codec::Pcm { bits, float } => (pcm_name(t.fourcc, *bits, *float)?, None),
        Codec::Other { fourcc: [b'a', b'l', b'a', b'w'] } => ("pcm_alaw", None),
        Codec::Other { fourcc: [b'u', b'l', b'a', b'w'] } => ("pcm_mulaw", None),
        _ => {
            tracing::warn!(fourcc = %fourcc_text(t.fourcc), "ignoring an unknown audio track");
            return None;
        }
    };
    let (channels, sample_rate) = sane_audio_shape(u64::from(t.channels), u64::from(t.sample_rate))?;
    usable_audio_codec(codec).then(|| AudioStreamInfo {
        index: AUDIO_INDEX,
        codec: codec.to_owned(),
        profile: profile.map(str::to_owned),
        channels,
        sample_rate,
        bit_rate: t.bit_rate.and_then(|b| sane_bit_rate(b as f64)),
    })
}

/// A video codec as ffprobe describes it.
#[derive(Debug, Clone, PartialEq)]
struct VideoShape {
    codec: &'static str,
    profile: Option<&'static str>,
    level: Option<i32>,
    pix_fmt: Option<String>,
    bit_depth: u8,
    interlaced: bool,
}

/// The codec name, profile, level and pixel format ffprobe prints for a sample entry; `None` for a
/// codec it has no name for here.
fn video_shape(codec: &Codec) -> Option<VideoShape> {
    let shape = |codec, profile, level: Option<u8>, pix_fmt, bit_depth| VideoShape {
        codec,
        profile,
        level: level.map(i32::from),
        pix_fmt,
        bit_depth,
        interlaced: false,
    };
    Some(match *codec {
        Codec::H264 { profile_idc, constraint_flags, level_idc, chroma_format_idc, bit_depth, frame_mbs_only } => {
            // ffmpeg's H.264 decoder has no grey output: monochrome decodes as 4:2:0.
            let pix_fmt = yuv_pix_fmt(chroma_format_idc.max(1), bit_depth);
            let profile = h264_profile(profile_idc, constraint_flags);
            VideoShape {
                // Field-coded pictures are possible, which is what ffprobe's field order reports.
                interlaced: !frame_mbs_only,
                ..shape("h264", profile, Some(level_idc), pix_fmt, bit_depth)
            }
        }
        Codec::Hevc { profile_idc, level_idc, chroma_format_idc, bit_depth, .. } => {
            let profile = match profile_idc {
                1 => Some("Main"),
                2 => Some("Main 10"),
                3 => Some("Main Still Picture"),
                4 => Some("Rext"),
                _ => None,
            };
            shape("hevc", profile, Some(level_idc), yuv_pix_fmt(chroma_format_idc, bit_depth), bit_depth)
        }
        Codec::Vp9 { profile, bit_depth, .. } => {
            // Profiles 0 and 2 are 4:2:0; 1 and 3 carry their subsampling elsewhere. ffprobe knows
            // no VP9 level (it prints -99).
            let pix_fmt = if profile % 2 == 0 { yuv_pix_fmt(1, bit_depth) } else { None };
            let name = ["Profile 0", "Profile 1", "Profile 2", "Profile 3"].get(usize::from(profile)).copied();
            shape("vp9", name, None, pix_fmt, bit_depth)
        }
        Codec::Av1 { profile, level, bit_depth, .. } => {
            // Main is 4:2:0, High 4:4:4, Professional either.
            let pix_fmt = match profile {
                0 => yuv_pix_fmt(1, bit_depth),
                1 => yuv_pix_fmt(3, bit_depth),
                _ => None,
            };
            let name = ["Main", "High", "Professional"].get(usize::from(profile)).copied();
            shape("av1", name, Some(level), pix_fmt, bit_depth)
        }
        Codec::Mpeg4Visual { profile_level } => {
            // The VOS byte: profile in the high nibble, level in the low one.
            let profile = profile_level.and_then(|pl| MPEG4_PROFILES.get(usize::from(pl >> 4)).copied());
            shape("mpeg4", profile, profile_level.map(|pl| pl & 0x0f), yuv_pix_fmt(1, 8), 8)
        }
        _ => return None,
    })
}

/// ffmpeg's names of the H.264 profiles, from `profile_idc` and the constraint flags
/// (`constraint_set1` makes Baseline Constrained, `constraint_set3` the High profiles Intra).
fn h264_profile(profile_idc: u8, constraint_flags: u8) -> Option<&'static str> {
    let (set1, set3) = (constraint_flags & 0x40 != 0, constraint_flags & 0x10 != 0);
    Some(match profile_idc {
        66 if set1 => "Constrained Baseline",
        66 => "Baseline",
        77 => "Main",
        88 => "Extended",
        100 => "High",
        110 if set3 => "High 10 Intra",
        110 => "High 10",
        122 if set3 => "High 4:2:2 Intra",
        122 => "High 4:2:2",
        144 => "High 4:4:4",
        244 if set3 => "High 4:4:4 Intra",
        244 => "High 4:4:4 Predictive",
        44 => "CAVLC 4:4:4",
        118 => "Multiview High",
        128 => "Stereo High",
        _ => return None,
    })
}

/// ffmpeg's MPEG-4 Part 2 profile names, by the high nibble of the profile-and-level byte.
const MPEG4_PROFILES: [&str; 16] = [
    "Simple Profile",
    "Simple Scalable Profile",
    "Core Profile",
    "Main Profile",
    "N-bit Profile",
    "Scalable Texture Profile",
    "Simple Face Animation Profile",
    "Basic Animated Texture Profile",
    "Hybrid Profile",
    "Advanced Real Time Simple Profile",
    "Code Scalable Profile",
    "Advanced Coding Profile",
    "Advanced Core Profile",
    "Advanced Scalable Texture Profile",
    "Simple Studio Profile",
    "Advanced Simple Profile",
];

/// The planar pixel format ffmpeg decodes to: `chroma_format_idc` 0 grey, 1 4:2:0, 2 4:2:2, 3 4:4:4,
/// with the bit depth (little-endian names, as ffprobe prints them on the machines Flick runs on).
fn yuv_pix_fmt(chroma_format_idc: u8, bit_depth: u8) -> Option<String> {
    let base = ["gray", "yuv420p", "yuv422p", "yuv444p"].get(usize::from(chroma_format_idc))?;
    match bit_depth {
        8 => Some((*base).to_owned()),
        9..=16 => Some(format!("{base}{bit_depth}le")),
        _ => None,
    }
}

/// ffmpeg's AAC profile names, by audio object type.
fn aac_profile(object_type: u8) -> Option<&'static str> {
    Some(match object_type {
        1 => "Main",
        2 => "LC",
        3 => "SSR",
        4 => "LTP",
        5 => "HE-AAC",
        23 => "LD",
        29 => "HE-AACv2",
        39 => "ELD",
        _ => return None,
    })
}

/// The PCM decoder's name. QuickTime's integer and float entries are big-endian (`sowt` is the
/// little-endian exception), and so are ISO `ipcm`/`fpcm` by default; `lpcm` says so in flags the
/// index parser does not keep, and is little-endian in practice. The name only decides that the
/// audio is PCM (always encoded to AAC); ffmpeg reads the stream itself.
fn pcm_name(fourcc: [u8; 4], bits: u16, float: bool) -> Option<&'static str> {
    let big = !matches!(&fourcc, b"sowt" | b"lpcm");
    Some(match (bits, float, big) {
        (8, false, _) => "pcm_u8",
        (16, false, false) => "pcm_s16le",
        (16, false, true) => "pcm_s16be",
        (24, false, false) => "pcm_s24le",
        (24, false, true) => "pcm_s24be",
        (32, false, false) => "pcm_s32le",
        (32, false, true) => "pcm_s32be",
        (32, true, false) => "pcm_f32le",
        (32, true, true) => "pcm_f32be",
        (64, true, false) => "pcm_f64le",
        (64, true, true) => "pcm_f64be",
        _ => return None,
    })
}

/// A sample entry type for messages: printable ASCII only.
fn fourcc_text(fourcc: [u8; 4]) -> String {
    // Fourccs are padded with spaces ("png "): the name is what comes before them.
    let name: String = fourcc.iter().map(|&b| if b.is_ascii_alphanumeric() { char::from(b) } else { '_' }).collect();
    let trimmed = name.trim_end_matches('_');
    if trimmed.is_empty() { name } else { trimmed.to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h264(profile_idc: u8, constraint_flags: u8, chroma: u8, depth: u8) -> VideoShape {
        let codec = Codec::H264 {
            profile_idc,
            constraint_flags,
            level_idc: 31,
            chroma_format_idc: chroma,
            bit_depth: depth,
            frame_mbs_only: true,
        };
        video_shape(&codec).expect("h264")
    }

    #[test]
    fn h264_profiles_and_pixel_formats_are_named_as_ffprobe_names_them() {
        assert_eq!(h264(66, 0xc0, 1, 8).profile, Some("Constrained Baseline"));
        assert_eq!(h264(66, 0x80, 1, 8).profile, Some("Baseline"));
        assert_eq!(h264(77, 0x40, 1, 8).profile, Some("Main"));
        assert_eq!(h264(100, 0, 1, 8).profile, Some("High"));
        assert_eq!(h264(110, 0, 1, 10).profile, Some("High 10"));
        assert_eq!(h264(110, 0x10, 1, 10).profile, Some("High 10 Intra"));
        assert_eq!(h264(122, 0, 2, 8).pix_fmt.as_deref(), Some("yuv422p"));
        assert_eq!(h264(244, 0, 3, 10).profile, Some("High 4:4:4 Predictive"));
        assert_eq!(h264(244, 0, 3, 10).pix_fmt.as_deref(), Some("yuv444p10le"));
        assert_eq!(h264(100, 0, 0, 8).pix_fmt.as_deref(), Some("yuv420p"), "monochrome H.264 decodes as 4:2:0");
        assert_eq!(h264(200, 0, 1, 8).profile, None);
        assert_eq!(h264(100, 0, 1, 8).level, Some(31));
    }

    #[test]
    fn other_video_codecs_are_named_as_ffprobe_names_them() {
        let hevc = Codec::Hevc {
            profile_space: 0,
            tier_high: false,
            profile_idc: 2,
            compatibility_flags: 0,
            constraint_flags: [0; 6],
            level_idc: 93,
            chroma_format_idc: 0,
            bit_depth: 10,
        };
        let s = video_shape(&hevc).unwrap();
        assert_eq!(
            (s.codec, s.profile, s.level, s.pix_fmt.as_deref()),
            ("hevc", Some("Main 10"), Some(93), Some("gray10le"))
        );
        let vp9 = video_shape(&Codec::Vp9 { profile: 2, level: 31, bit_depth: 10 }).unwrap();
        assert_eq!((vp9.profile, vp9.level, vp9.pix_fmt.as_deref()), (Some("Profile 2"), None, Some("yuv420p10le")));
        let av1 = video_shape(&Codec::Av1 { profile: 0, level: 8, tier_high: false, bit_depth: 8 }).unwrap();
        assert_eq!((av1.codec, av1.profile, av1.level), ("av1", Some("Main"), Some(8)));
        let asp = video_shape(&Codec::Mpeg4Visual { profile_level: Some(0xf5) }).unwrap();
        assert_eq!((asp.profile, asp.level), (Some("Advanced Simple Profile"), Some(5)));
        assert_eq!(video_shape(&Codec::Mp3), None);
        assert_eq!(video_shape(&Codec::Other { fourcc: *b"mjpa" }), None);
    }

    #[test]
    fn audio_names() {
        assert_eq!(aac_profile(2), Some("LC"));
        assert_eq!(aac_profile(5), Some("HE-AAC"));
        assert_eq!(aac_profile(29), Some("HE-AACv2"));
        assert_eq!(aac_profile(42), None);
        assert_eq!(pcm_name(*b"sowt", 16, false), Some("pcm_s16le"));
        assert_eq!(pcm_name(*b"twos", 16, false), Some("pcm_s16be"));
        assert_eq!(pcm_name(*b"in24", 24, false), Some("pcm_s24be"));
        assert_eq!(pcm_name(*b"fl32", 32, true), Some("pcm_f32be"));
        assert_eq!(pcm_name(*b"lpcm", 12, false), None);
        assert_eq!(fourcc_text(*b"ap\x004"), "ap_4");
    }
}
