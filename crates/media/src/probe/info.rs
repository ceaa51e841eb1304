//! What Flick knows about an upload, however it was learnt (ffprobe's JSON or Flick's own MP4 index parser).

use crate::input::Demuxer;

/// Largest dimension parsed at all (larger is "too large"; [`super::MAX_SIDE`] is the real limit).
pub(super) const MAX_DIMENSION: u64 = 16_384;

/// What Flick knows about an upload.
#[derive(Debug, Clone, PartialEq)]
pub struct MediaInfo {
    /// ffprobe's `format_name`, e.g. `mov,mp4,m4a,3gp,3g2,mj2` or `matroska,webm`.
    pub container: String,
    /// Seconds; when the file does not say, estimated from its packets (0.0 if even that failed,
    /// or when the upload was probed as it arrived: a live WebM recording states none).
    pub duration_seconds: f64,
    pub size_bytes: u64,
    /// Overall bit rate in bit/s, when known.
    pub bit_rate: Option<u64>,
    pub video: VideoStreamInfo,
    pub audio: Option<AudioStreamInfo>,
}

/// The video stream that will be played (the first one that is not cover art).
#[derive(Debug, Clone, PartialEq)]
pub struct VideoStreamInfo {
    /// Index of the stream in the input ffmpeg reads (for `-map 0:{index}`).
    pub index: u32,
    /// ffmpeg codec name: `h264`, `hevc`, `vp9`, `mpeg4`...
    pub codec: String,
    /// e.g. `High`, `Main`, `Constrained Baseline`, `High 10`.
    pub profile: Option<String>,
    /// ffprobe's level number (H.264: 31 = 3.1); `None` when unknown.
    pub level: Option<i32>,
    pub pix_fmt: Option<String>,
    /// Coded (stored) size, before rotation and pixel aspect.
    pub width: u32,
    pub height: u32,
    /// Pixel aspect ratio (num, den) when known and not square.
    pub sample_aspect_ratio: Option<(u32, u32)>,
    /// Clockwise degrees the picture must be turned for display: 0, 90, 180 or 270. This is the
    /// turn ffmpeg applies itself when it decodes (autorotate).
    pub rotation: i32,
    /// Average frames per second, when known.
    pub frame_rate: Option<f64>,
    /// Bits per sample: 8 for ordinary video, 10 for HDR/10-bit.
    pub bit_depth: u8,
    /// Interlaced (field-coded) video.
    pub interlaced: bool,
    pub bit_rate: Option<u64>,
    /// The longest stretch without a keyframe (in the first 20 s when scanned by ffprobe, over the
    /// whole file when read from the MP4 index; H.264 only: it decides whether remuxed segments can
    /// be short enough).
    pub max_keyframe_interval: Option<f64>,
}

/// The audio stream that will be played (the first usable one).
#[derive(Debug, Clone, PartialEq)]
pub struct AudioStreamInfo {
    pub index: u32,
    /// ffmpeg codec name: `aac`, `opus`, `mp3`, `ac3`, `pcm_s16le`...
    pub codec: String,
    /// For AAC: `LC`, `HE-AAC`, `HE-AACv2`, `Main`...
    pub profile: Option<String>,
    pub channels: u32,
    pub sample_rate: u32,
    pub bit_rate: Option<u64>,
}

impl MediaInfo {
    /// Width as displayed: pixel aspect applied, then rotation.
    pub fn display_width(&self) -> u32 {
        self.display_size().0
    }

    /// Height as displayed: pixel aspect applied, then rotation.
    pub fn display_height(&self) -> u32 {
        self.display_size().1
    }

    /// (width, height) as displayed.
    pub fn display_size(&self) -> (u32, u32) {
        let v = &self.video;
        let mut w = v.width;
        if let Some((num, den)) = v.sample_aspect_ratio {
            let scaled = (f64::from(v.width) * f64::from(num) / f64::from(den)).round();
            if scaled >= 1.0 && scaled <= MAX_DIMENSION as f64 * 4.0 {
                w = scaled as u32;
            }
        }
        if v.rotation % 180 == 90 { (v.height, w) } else { (w, v.height) }
    }

    /// The ffmpeg demuxer to force when reading this file again (`-f`), so a file cannot be
    /// re-detected as something else between probe and processing.
    pub fn demuxer(&self) -> Option<Demuxer> {
        Demuxer::of_format_name(&self.container)
    }
}
