//! Everything that can go wrong with media, with a stable code, a sentence for people, and whether
//! trying again could help.

use std::time::Duration;

/// A media failure.
#[derive(thiserror::Error, Debug)]
pub enum MediaError {
    /// ffmpeg or ffprobe cannot be run at all (not installed, not executable, or lacking an encoder).
    #[error("{tool} is not usable: {detail}")]
    ToolMissing { tool: String, detail: String },

    /// ffprobe could not read the file as any media (empty, text, random bytes, truncated...).
    #[error("not a video file: {detail}")]
    NotAVideo { detail: String },

    /// The file is media, but in a container Flick does not accept (only MP4/MOV and Matroska/WebM).
    #[error("unsupported container format {format:?}")]
    UnsupportedFormat { format: String },

    /// The file has no video stream (e.g. audio only, or only cover art).
    #[error("the file has no video stream")]
    NoVideoStream,

    /// The video stream's codec is unknown or cannot be decoded.
    #[error("unsupported video codec {codec:?}: {detail}")]
    UnsupportedCodec { codec: String, detail: String },

    /// Dimensions, duration or similar exceed what Flick processes.
    #[error("too large: {detail}")]
    TooLarge { detail: String },

    /// A tool ran longer than allowed and was killed.
    #[error("{tool} did not finish within {}s and was stopped", after.as_secs())]
    Timeout { tool: String, after: Duration },

    /// A tool used more CPU time than the job's budget and was killed.
    #[error("{tool} used up its CPU-time budget and was stopped")]
    CpuLimit { tool: String },

    /// A tool exited unsuccessfully (or was killed by a signal); `stderr` is the tail of its log.
    #[error("{tool} failed ({status}): {stderr}")]
    FfmpegFailed { tool: String, status: String, signal: Option<i32>, stderr: String },

    /// ffmpeg ran to completion but produced nothing playable.
    #[error("processing produced no HLS segment")]
    NoOutput,

    /// A playlist written by ffmpeg (or fetched back from storage) is malformed or names an unsafe file.
    #[error(transparent)]
    InvalidPlaylist(#[from] flick_packaging::playlist::PlaylistError),

    /// The input fed to a tool failed before its end (the upload was abandoned or broke off): the
    /// tool was stopped, whatever it would have made of a truncated input.
    #[error("the input stopped before its end: {detail}")]
    InputFailed { detail: String },

    /// Local I/O (work directory, pipes, spawning).
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

impl MediaError {
    /// A stable snake_case code for APIs and the database.
    pub fn code(&self) -> &'static str {
        match self {
            MediaError::ToolMissing { .. } => "tool_missing",
            MediaError::NotAVideo { .. } => "not_a_video",
            MediaError::UnsupportedFormat { .. } => "unsupported_format",
            MediaError::NoVideoStream => "no_video_stream",
            MediaError::UnsupportedCodec { .. } => "unsupported_codec",
            MediaError::TooLarge { .. } => "too_large",
            MediaError::Timeout { .. } | MediaError::CpuLimit { .. } => "too_slow",
            MediaError::FfmpegFailed { .. } => "ffmpeg_failed",
            MediaError::NoOutput => "no_output",
            MediaError::InvalidPlaylist(_) => "invalid_playlist",
            MediaError::InputFailed { .. } => "input_failed",
            MediaError::Io { .. } => "io",
        }
    }

    /// A sentence the uploader understands (no paths, no tool output).
    pub fn user_message(&self) -> String {
        match self {
            MediaError::ToolMissing { tool, .. } => {
                format!("The server cannot process videos right now ({tool} is not available). Please try again later.")
            }
            MediaError::NotAVideo { .. } => {
                "This file could not be read as a video. It may be damaged, incomplete, or not a video at all.".into()
            }
            MediaError::UnsupportedFormat { .. } => {
                "This file format is not supported. Please upload an MP4, MOV, MKV or WebM video.".into()
            }
            MediaError::NoVideoStream => "This file has no video in it (it may be audio only).".into(),
            MediaError::UnsupportedCodec { codec, .. } => {
                format!("This video uses a format ({codec}) that cannot be processed. Please export it as H.264 MP4.")
            }
            MediaError::TooLarge { detail } => format!("This video is too large to process: {detail}."),
            MediaError::Timeout { .. } | MediaError::CpuLimit { .. } => {
                "Processing this video took too long and was stopped. Export it as H.264 MP4 (which needs no \
                 conversion) or send a shorter one."
                    .into()
            }
            MediaError::FfmpegFailed { .. } => {
                "This video could not be converted. The file may be damaged or use unusual settings.".into()
            }
            MediaError::NoOutput => "Processing this video produced nothing playable.".into(),
            MediaError::InputFailed { .. } => "The upload stopped before the whole file arrived.".into(),
            MediaError::InvalidPlaylist(_) | MediaError::Io { .. } => {
                "Something went wrong on the server while processing this video.".into()
            }
        }
    }

    /// True when retrying cannot help: the input is at fault, or took all the time or CPU it may have (another try
    /// would cost as much again: one hostile file must not hold a worker three times over). I/O, missing tools and
    /// tools killed by another signal (out of memory, operator) are worth another attempt.
    pub fn is_permanent(&self) -> bool {
        match self {
            MediaError::NotAVideo { .. }
            | MediaError::UnsupportedFormat { .. }
            | MediaError::NoVideoStream
            | MediaError::UnsupportedCodec { .. }
            | MediaError::TooLarge { .. }
            | MediaError::NoOutput
            | MediaError::Timeout { .. }
            | MediaError::CpuLimit { .. } => true,
            MediaError::FfmpegFailed { signal, stderr, .. } => signal.is_none() && !looks_like_resource_trouble(stderr),
            MediaError::ToolMissing { .. }
            | MediaError::InvalidPlaylist(_)
            | MediaError::InputFailed { .. }
            | MediaError::Io { .. } => false,
        }
    }

    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        MediaError::Io { context: context.into(), source }
    }
}

/// ffmpeg reports the machine's trouble (disk full, memory, file limits) like any other error; those
/// are not the input's fault.
fn looks_like_resource_trouble(stderr: &str) -> bool {
    const MARKERS: [&str; 6] = [
        "No space left on device",
        "Cannot allocate memory",
        "Too many open files",
        "Resource temporarily unavailable",
        "File too large",
        "Input/output error",
    ];
    MARKERS.iter().any(|m| stderr.contains(m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable_and_permanence_is_sensible() {
        assert_eq!(MediaError::NoVideoStream.code(), "no_video_stream");
        assert!(MediaError::NoVideoStream.is_permanent());
        let t = MediaError::Timeout { tool: "ffmpeg".into(), after: Duration::from_secs(5) };
        assert_eq!(t.code(), "too_slow");
        assert!(t.is_permanent());
        let cpu = MediaError::CpuLimit { tool: "ffmpeg".into() };
        assert_eq!(cpu.code(), "too_slow");
        assert!(cpu.is_permanent());
        let failed = |signal, stderr: &str| MediaError::FfmpegFailed {
            tool: "ffmpeg".into(),
            status: "exit status 1".into(),
            signal,
            stderr: stderr.into(),
        };
        assert!(failed(None, "Invalid data found when processing input").is_permanent());
        assert!(!failed(None, "av_interleaved_write_frame(): No space left on device").is_permanent());
        assert!(!failed(Some(9), "").is_permanent());
        let missing = MediaError::ToolMissing { tool: "ffmpeg".into(), detail: "not found".into() };
        assert!(!missing.is_permanent());
        assert!(!missing.user_message().contains('/'));
        let cut = MediaError::InputFailed { detail: "connection reset".into() };
        assert_eq!(cut.code(), "input_failed");
        assert!(!cut.is_permanent(), "an abandoned upload may be resumed");
        let playlist = MediaError::from(flick_packaging::playlist::PlaylistError("no #EXTM3U".into()));
        assert_eq!(playlist.to_string(), "invalid playlist: no #EXTM3U");
    }
}
