//! What Flick accepts of an upload, checked on what the probe found (whichever way it was found)
//! before anything is decoded: codecs, picture size, frame rate, stream count, and a duration the
//! file's size can back. Also the ranges a value must be in to count as known at all.

use super::info::{MAX_DIMENSION, MediaInfo};
use crate::error::MediaError;
use crate::input::MAX_PIXELS;

/// Video codecs (ffprobe's `codec_name`) Flick processes; anything else is refused before any decode.
pub const VIDEO_CODECS: &[&str] = &["h264", "hevc", "vp8", "vp9", "av1", "mpeg4", "mpeg2video"];
/// Audio codecs (ffprobe's `codec_name`) Flick decodes; other audio streams are ignored.
pub const AUDIO_CODECS: &[&str] = &[
    "aac",
    "mp3",
    "mp2",
    "opus",
    "vorbis",
    "flac",
    "alac",
    "ac3",
    "eac3",
    "pcm_s16le",
    "pcm_s16be",
    "pcm_s24le",
    "pcm_s24be",
    "pcm_s32le",
    "pcm_s32be",
    "pcm_f32le",
    "pcm_f32be",
    "pcm_u8",
    "pcm_alaw",
    "pcm_mulaw",
];

/// Largest width or height accepted (4K DCI), checked on the probe and enforced by every decoder.
pub const MAX_SIDE: u32 = 4096;
/// Highest average frame rate accepted (slow-motion phone video is 240 fps).
pub const MAX_FRAME_RATE: f64 = 300.0;

/// A file must hold at least this many bytes per second of the duration it claims (800 bit/s: below
/// any real video), so a tiny file cannot claim hours and make ffmpeg write them.
const MIN_BYTES_PER_SECOND: f64 = 100.0;
/// ... when it claims more than this many seconds (short clips of a still picture can be tiny).
const MIN_RATE_AFTER_SECONDS: f64 = 60.0;

/// The limits checked on the probe, before anything is decoded: picture size, frame rate, and a
/// duration the file's size can back. (Duration against the configured maximum is the plan's.)
pub fn check_limits(info: &MediaInfo) -> Result<(), MediaError> {
    let v = &info.video;
    if v.width > MAX_SIDE || v.height > MAX_SIDE || u64::from(v.width) * u64::from(v.height) > MAX_PIXELS {
        return Err(MediaError::TooLarge {
            detail: format!("the picture is {}x{} pixels, the limit is 4K ({MAX_SIDE}x2304)", v.width, v.height),
        });
    }
    if let Some(fps) = v.frame_rate
        && fps > MAX_FRAME_RATE
    {
        return Err(MediaError::TooLarge { detail: format!("{fps:.0} frames per second is above {MAX_FRAME_RATE}") });
    }
    let d = info.duration_seconds;
    if d > MIN_RATE_AFTER_SECONDS && (info.size_bytes as f64) < d * MIN_BYTES_PER_SECOND {
        return Err(MediaError::TooLarge {
            detail: format!(
                "the file claims to last {} minutes but holds only {} bytes",
                (d / 60.0).round(),
                info.size_bytes
            ),
        });
    }
    Ok(())
}

/// The video codec, when Flick processes it.
pub(super) fn accepted_video_codec(codec: String) -> Result<String, MediaError> {
    if VIDEO_CODECS.contains(&codec.as_str()) {
        return Ok(codec);
    }
    Err(MediaError::UnsupportedCodec { detail: format!("only {} video is accepted", VIDEO_CODECS.join(", ")), codec })
}

/// A picture dimension: larger than [`MAX_DIMENSION`] is too large; missing, zero or fractional
/// means the codec could not be read.
pub(super) fn dimension(value: Option<f64>, what: &str, codec: &str) -> Result<u32, MediaError> {
    match value {
        Some(n) if n > MAX_DIMENSION as f64 => {
            Err(MediaError::TooLarge { detail: format!("the video {what} is {n} pixels") })
        }
        Some(n) if n >= 1.0 && n.fract() == 0.0 => Ok(n as u32),
        _ => Err(MediaError::UnsupportedCodec {
            codec: codec.to_owned(),
            detail: format!("the video {what} could not be determined (the codec may be unsupported)"),
        }),
    }
}

/// A pixel aspect ratio worth applying: sane (1:10 to 10:1) and not square.
pub(super) fn sane_aspect(num: u32, den: u32) -> Option<(u32, u32)> {
    if num == 0 || den == 0 || num == den {
        return None;
    }
    let r = f64::from(num) / f64::from(den);
    (0.1..=10.0).contains(&r).then_some((num, den))
}

/// Frames per second, when believable.
pub(super) fn sane_frame_rate(fps: f64) -> Option<f64> {
    (fps.is_finite() && fps > 0.0 && fps <= 1000.0).then_some(fps)
}

/// Bits per second, when believable.
pub(super) fn sane_bit_rate(bps: f64) -> Option<u64> {
    (bps > 0.0 && bps < 1e11).then_some(bps as u64)
}

/// An audio stream's channels and sample rate, when both are believable.
pub(super) fn sane_audio_shape(channels: u64, sample_rate: u64) -> Option<(u32, u32)> {
    let channels = u32::try_from(channels).ok().filter(|c| (1..=64).contains(c))?;
    let sample_rate = u32::try_from(sample_rate).ok().filter(|r| (1000..=768_000).contains(r))?;
    Some((channels, sample_rate))
}

/// Whether Flick decodes this audio codec (other audio streams are ignored, with a warning).
pub(super) fn usable_audio_codec(codec: &str) -> bool {
    let usable = AUDIO_CODECS.contains(&codec);
    if !usable {
        tracing::warn!(codec, "ignoring an unusable audio stream");
    }
    usable
}
