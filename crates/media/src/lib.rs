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
    FFMPEG_PLAYLIST, HlsRun, Segment, Variant, hls_args, parse_media_playlist, render_master_playlist,
    render_media_playlist, run_hls, segment_times,
};
pub use plan::{AudioEncode, AudioPlan, Plan, PlanSettings, VideoEncode, codecs_string, plan, variant_for};
pub use probe::{AudioStreamInfo, MediaInfo, VideoStreamInfo, media_info_from_json, probe};
pub use thumbnail::{thumbnail, thumbnail_from_segment};

use flick_domain::config::ProcessingConfig;

/// Demuxers an upload may be read with (ffmpeg's names; `mov,...` is one demuxer, `matroska,webm` another).
pub const INPUT_FORMATS: &str = "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm";

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
