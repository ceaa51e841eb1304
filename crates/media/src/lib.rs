//! Flick's media pipeline on top of ffmpeg/ffprobe: probe an upload, plan the cheapest conversion
//! that plays everywhere (remux, copy video + encode audio, or transcode), write HLS as it is made,
//! and grab a thumbnail.
//!
//! The flow the workers follow: [`probe`] → [`plan`] → [`run_hls`] (while it runs, publish what
//! [`parse_media_playlist`] finds in `ffmpeg.m3u8`, re-rendered with [`render_media_playlist`]; the
//! master playlist comes from [`variant_for`] + [`render_master_playlist`]) and [`thumbnail`].
//!
//! Every tool run goes through one process runner: no shell, bounded output, resource limits, its
//! own process group, and a SIGKILL + reap when it times out or its future is dropped.

mod error;
mod hls;
mod plan;
mod probe;
mod process;
mod thumbnail;

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use error::MediaError;
pub use hls::{
    FFMPEG_PLAYLIST, HlsRun, Segment, Variant, hls_args, output_cap_bytes, parse_media_playlist,
    render_master_playlist, render_media_playlist, run_hls, segment_times,
};
pub use plan::{AudioEncode, AudioPlan, Plan, PlanSettings, VideoEncode, codecs_string, plan, variant_for};
pub use probe::{AudioStreamInfo, MediaInfo, VideoStreamInfo, check_limits, media_info_from_json, probe};
pub use thumbnail::{thumbnail, thumbnail_from_segment};

use flick_domain::config::ProcessingConfig;

/// Demuxers an upload may be read with (ffmpeg's names; `mov,...` is one demuxer, `matroska,webm` another).
/// Never `hls`, `concat`, `image2`, `tty` or anything else that opens other files or URLs.
pub const INPUT_FORMATS: &str = "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm";

/// Decoders ffmpeg and ffprobe may open (`-codec_whitelist`; ffmpeg's decoder names, not codec names):
/// the video and audio codecs of phones, cameras, screen recorders and exports, nothing else. Image
/// codecs (PNG, TIFF, EXR...), subtitles and exotic decoders, a large attack surface, cannot be reached.
pub const DECODERS: &str = "h264,hevc,vp8,vp9,libvpx,libvpx-vp9,av1,libdav1d,libaom-av1,mpeg4,mpeg2video,\
aac,aac_fixed,aac_latm,mp3,mp3float,mp2,mp2float,opus,libopus,vorbis,libvorbis,flac,alac,ac3,ac3_fixed,eac3,\
pcm_s16le,pcm_s16be,pcm_s24le,pcm_s24be,pcm_s32le,pcm_s32be,pcm_f32le,pcm_f32be,pcm_u8,pcm_alaw,pcm_mulaw";

/// ffprobe opens a decoder for every stream of a file and fails when one is refused, so it also
/// gets those of cover art and text subtitles, which legitimate files carry (ffmpeg never decodes
/// them: it maps only the video and audio streams). `-max_pixels` bounds the image decoders.
pub const PROBE_DECODERS: &str = concat!(
    "h264,hevc,vp8,vp9,libvpx,libvpx-vp9,av1,libdav1d,libaom-av1,mpeg4,mpeg2video,",
    "aac,aac_fixed,aac_latm,mp3,mp3float,mp2,mp2float,opus,libopus,vorbis,libvorbis,flac,alac,ac3,ac3_fixed,eac3,",
    "pcm_s16le,pcm_s16be,pcm_s24le,pcm_s24be,pcm_s32le,pcm_s32be,pcm_f32le,pcm_f32be,pcm_u8,pcm_alaw,pcm_mulaw,",
    "mjpeg,png,mov_text,subrip,ass,ssa,webvtt,text"
);

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
/// Most pixels per frame: 4096x2304 (4K UHD and DCI fit). Passed as `-max_pixels` to every decoder,
/// so a stream that claims a small size and then switches to a huge one mid-file fails to decode
/// instead of allocating gigabytes.
pub const MAX_PIXELS: u64 = 4096 * 2304;
/// Most streams a file may have (`-max_streams`): phones write 2 to 6.
pub const MAX_STREAMS: u32 = 32;
/// Highest average frame rate accepted (slow-motion phone video is 240 fps).
pub const MAX_FRAME_RATE: f64 = 300.0;

/// The sandboxing options in front of every `-i` (ffmpeg) or input URL (ffprobe): only local files,
/// only the container demuxers Flick accepts (`demuxer` forces one when known), only the decoders it
/// supports, bounded picture size and stream count. The MOV demuxer never follows external data
/// references (`dref`/`alis` atoms naming other files) and never resolves absolute paths.
pub(crate) fn input_args(formats: &str, demuxer: Option<&str>, decoders: &str) -> Vec<std::ffi::OsString> {
    let max_pixels = MAX_PIXELS.to_string();
    let max_streams = MAX_STREAMS.to_string();
    let mut a: Vec<std::ffi::OsString> = [
        "-protocol_whitelist",
        "file",
        "-format_whitelist",
        formats,
        "-codec_whitelist",
        decoders,
        "-max_pixels",
        &max_pixels,
        "-max_streams",
        &max_streams,
    ]
    .iter()
    .map(std::ffi::OsString::from)
    .collect();
    if let Some(d) = demuxer {
        a.extend(["-f".into(), d.into()]);
        if d == "mov" {
            // Both are off by default; stated so no default change or added option can turn them on.
            a.extend(["-enable_drefs", "0", "-use_absolute_path", "0"].map(std::ffi::OsString::from));
        }
    }
    a
}

/// The media tools and how to run them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tools {
    pub ffmpeg: PathBuf,
    pub ffprobe: PathBuf,
    /// Niceness of every child (0..=19), so processing never starves the web server.
    pub nice: i32,
}

impl Tools {
    /// The tools as configured.
    pub fn from_config(c: &ProcessingConfig) -> Self {
        Tools { ffmpeg: c.ffmpeg_path.clone(), ffprobe: c.ffprobe_path.clone(), nice: c.nice }
    }

    /// Checks that ffmpeg and ffprobe run and that ffmpeg has the encoders Flick needs; the error
    /// says which tool is missing and why.
    pub async fn check(&self) -> Result<(), MediaError> {
        for (tool, program) in [("ffprobe", &self.ffprobe), ("ffmpeg", &self.ffmpeg)] {
            self.version_of(tool, program).await?;
        }
        let out = process::run(process::Invocation {
            tool: "ffmpeg",
            program: &self.ffmpeg,
            args: vec!["-hide_banner".into(), "-encoders".into()],
            timeout: Duration::from_secs(20),
            nice: self.nice,
            stdout: process::Stdout::Collect { max_bytes: 1 << 20 },
        })
        .await?
        .success("ffmpeg")?;
        let encoders = String::from_utf8_lossy(&out.stdout);
        for needed in ["libx264", "aac", "mjpeg"] {
            let present = encoders.lines().any(|l| l.split_whitespace().nth(1) == Some(needed));
            if !present {
                return Err(MediaError::ToolMissing {
                    tool: "ffmpeg".into(),
                    detail: format!("{} has no {needed} encoder", self.ffmpeg.display()),
                });
            }
        }
        Ok(())
    }

    async fn version_of(&self, tool: &'static str, program: &Path) -> Result<(), MediaError> {
        let out = process::run(process::Invocation {
            tool,
            program,
            args: vec!["-version".into()],
            timeout: Duration::from_secs(20),
            nice: self.nice,
            stdout: process::Stdout::Collect { max_bytes: 1 << 20 },
        })
        .await?;
        if !out.status.success() {
            return Err(MediaError::ToolMissing {
                tool: tool.into(),
                detail: format!("`{} -version` failed ({}): {}", program.display(), out.status, out.stderr_tail),
            });
        }
        let text = String::from_utf8_lossy(&out.stdout);
        tracing::info!(tool, version = text.lines().next().unwrap_or(""), "found");
        Ok(())
    }
}

/// Wall-clock limit for processing a video of this duration: one minute plus four times its length
/// (a re-encode runs at more than 1.5x real time on two cores, so this only stops the stuck).
/// Unknown or absurd durations are treated as a day at most.
pub fn timeout_for(duration_seconds: f64) -> Duration {
    let d = if duration_seconds.is_finite() && duration_seconds > 0.0 { duration_seconds.min(86_400.0) } else { 0.0 };
    Duration::from_secs_f64(60.0 + 4.0 * d)
}

/// `file:` + absolute path: ffmpeg then never reads a path as a URL or a protocol (`http:`, `concat:`...).
pub(crate) fn file_url(path: &Path) -> Result<std::ffi::OsString, MediaError> {
    let abs = std::path::absolute(path).map_err(|e| MediaError::io(format!("resolving {}", path.display()), e))?;
    let mut url = std::ffi::OsString::from("file:");
    url.push(abs.as_os_str());
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeout_scales_with_duration_and_survives_nonsense() {
        assert_eq!(timeout_for(0.0), Duration::from_secs(60));
        assert_eq!(timeout_for(10.0), Duration::from_secs(100));
        assert_eq!(timeout_for(f64::NAN), Duration::from_secs(60));
        assert_eq!(timeout_for(-5.0), Duration::from_secs(60));
        assert_eq!(timeout_for(1e300), Duration::from_secs(60 + 4 * 86_400));
    }

    #[test]
    fn file_urls_are_absolute() {
        let u = file_url(Path::new("a/b.mp4")).unwrap();
        let s = u.to_string_lossy();
        assert!(s.starts_with("file:/"), "{s}");
        assert!(s.ends_with("/a/b.mp4"), "{s}");
    }
}
