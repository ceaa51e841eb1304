//! Flick's media pipeline on top of ffmpeg/ffprobe: probe an upload, plan the cheapest conversion
//! that plays everywhere (remux, copy video + encode audio, or transcode), write HLS as it is made,
//! and grab a thumbnail, from a file or from the upload as it arrives.
//!
//! The flow the workers follow: [`probe`] (or [`probe_stream`] while the upload arrives, or
//! [`media_info_from_movie`] from an MP4 index) → [`plan`] → [`run_hls`] (while it runs, the worker
//! publishes what it finds in [`FFMPEG_PLAYLIST`]; the master playlist's variant is
//! [`variant_for`]; playlists themselves are `flick_packaging::playlist`'s) and [`thumbnail`].
//!
//! Modules, in the order of the flow:
//! - `tools`: the configured programs, their start-up check, and the constructors of every run.
//! - `process/`: the one process runner (stdin feed, timeout; `child`: rlimits, process group,
//!   SIGKILL + reap; `pipes`: bounded output).
//! - `input`: what a tool reads ([`Input`], [`Demuxer`]) and the sandbox options in front of it.
//! - `probe/`: [`MediaInfo`] from ffprobe (run, sniff, parse, keyframes) or from an MP4 index
//!   (movie), checked against the limits.
//! - `plan`: [`Plan`] from [`MediaInfo`] (and [`rung_plan`] for a lower rendition), and what the output is
//!   ([`codecs_string`], [`variant_for`]).
//! - `hls`: the ffmpeg run that writes the segments.
//! - `thumbnail`: one JPEG frame; `storyboard`: the seek bar's preview tiles, from keyframes; `download`: an MP4
//!   remuxed from the first rendition's segments, for a download whose original is gone.
//! - `error`: [`MediaError`].
//!
//! Every tool run goes through one process runner: no shell, bounded output, resource limits, its
//! own process group, and a SIGKILL + reap when it times out, its input fails or its future is dropped.

mod download;
mod error;
mod hls;
mod input;
mod plan;
mod probe;
mod process;
mod storyboard;
mod thumbnail;
mod tools;

use std::time::Duration;

pub use download::mp4_from_segments;
pub use error::MediaError;
pub use hls::{FFMPEG_PLAYLIST, HlsRun, STRIP_SEI, cpu_budget, hls_args, output_cap_bytes, run_hls, segment_times};
pub use input::{DECODERS, Demuxer, INPUT_FORMATS, Input, MAX_PIXELS, MAX_STREAMS, PROBE_DECODERS};
pub use plan::{AudioEncode, AudioPlan, Plan, PlanSettings, VideoEncode, codecs_string, plan, rung_plan, variant_for};
pub use probe::{
    AUDIO_CODECS, AudioStreamInfo, MAX_FRAME_RATE, MAX_SIDE, MediaInfo, VIDEO_CODECS, VideoStreamInfo, check_limits,
    media_info_from_json, media_info_from_movie, probe, probe_stream,
};
pub use storyboard::{StoryboardPlan, storyboard};
pub use thumbnail::{thumbnail, thumbnail_at, thumbnail_from_segment};
pub use tools::Tools;

/// Wall-clock limit for processing a video of this duration: one minute plus four times its length
/// (a re-encode runs at more than 1.5x real time on two cores, so this only stops the stuck).
/// Unknown or absurd durations are treated as a day at most.
pub fn timeout_for(duration_seconds: f64) -> Duration {
    let d = if duration_seconds.is_finite() && duration_seconds > 0.0 { duration_seconds.min(86_400.0) } else { 0.0 };
    Duration::from_secs_f64(60.0 + 4.0 * d)
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
}
