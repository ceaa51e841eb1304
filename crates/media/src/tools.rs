//! The media tools as configured, checked at start-up, and the one way to start a run of either:
//! `tools.ffprobe(args, timeout).collect(max).run()`.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use flick_domain::config::ProcessingConfig;

use crate::error::MediaError;
use crate::process::Invocation;

/// Start-up checks are quick; a tool that takes longer to print its version is not usable.
const CHECK_TIMEOUT: Duration = Duration::from_secs(20);
/// `-version` and `-encoders` print a few KiB.
const CHECK_OUTPUT: usize = 1 << 20;

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

    /// A run of ffmpeg with `args`, stopped after `timeout`.
    pub(crate) fn ffmpeg(&self, args: Vec<OsString>, timeout: Duration) -> Invocation<'_> {
        Invocation::new("ffmpeg", &self.ffmpeg, self.nice, args, timeout)
    }

    /// A run of ffprobe with `args`, stopped after `timeout`.
    pub(crate) fn ffprobe(&self, args: Vec<OsString>, timeout: Duration) -> Invocation<'_> {
        Invocation::new("ffprobe", &self.ffprobe, self.nice, args, timeout)
    }

    /// Checks that ffmpeg and ffprobe run and that ffmpeg has the encoders Flick needs; the error
    /// says which tool is missing and why.
    pub async fn check(&self) -> Result<(), MediaError> {
        let version = || vec![OsString::from("-version")];
        for run in [self.ffprobe(version(), CHECK_TIMEOUT), self.ffmpeg(version(), CHECK_TIMEOUT)] {
            let (tool, program) = (run.tool(), run.program().display().to_string());
            let out = run.collect(CHECK_OUTPUT).run().await?;
            if !out.status.success() {
                return Err(MediaError::ToolMissing {
                    tool: tool.into(),
                    detail: format!("`{program} -version` failed ({}): {}", out.status, out.stderr_tail),
                });
            }
            let text = String::from_utf8_lossy(&out.stdout);
            tracing::info!(tool, version = text.lines().next().unwrap_or(""), "found");
        }
        let out = self
            .ffmpeg(vec!["-hide_banner".into(), "-encoders".into()], CHECK_TIMEOUT)
            .collect(CHECK_OUTPUT)
            .run()
            .await?
            .success()?;
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
}
