//! Keyframe spacing (and, when the container does not state it, the duration) from the packet list
//! ffprobe reads without decoding anything.

use std::time::Duration;

use super::parse::number_text;
use crate::error::MediaError;
use crate::input::{Demuxer, Formats, Input, PROBE_DECODERS, input_args};
use crate::tools::Tools;

/// The scan reads packets (no decoding): quick, but a long file has many.
const SCAN_TIMEOUT: Duration = Duration::from_secs(60);
/// Long enough to see the first segments' keyframes; short because it runs before the first segment exists.
const SCAN_WINDOW_SECONDS: u32 = 20;
/// One short line per packet.
const MAX_SCAN_OUTPUT: usize = 64 << 20;

/// Which packets to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Window {
    /// The first [`SCAN_WINDOW_SECONDS`]: enough to judge keyframe spacing.
    Start,
    /// All of them: to measure a duration the container does not state.
    WholeFile,
}

/// Whose packets to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Streams {
    /// Every video stream (before the probe has said which one counts).
    AllVideo,
    /// The stream with this index.
    Index(u32),
}

/// What the packets say.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct KeyframeScan {
    pub max_keyframe_interval: Option<f64>,
    pub duration: Option<f64>,
}

/// `stream_index,pts_time,flags` of the packets of `streams` in `window`.
pub(super) async fn list_packets(
    tools: &Tools,
    input: &Input,
    demuxer: Option<Demuxer>,
    streams: Streams,
    window: Window,
) -> Result<String, MediaError> {
    let mut args: Vec<std::ffi::OsString> = vec!["-v".into(), "error".into(), "-hide_banner".into()];
    args.extend(input_args(input, Formats::Upload(demuxer), PROBE_DECODERS)?);
    let selected = match streams {
        Streams::AllVideo => "v".to_owned(),
        Streams::Index(i) => i.to_string(),
    };
    args.extend([
        "-select_streams".into(),
        selected.into(),
        "-show_entries".into(),
        "packet=stream_index,pts_time,flags".into(),
        "-of".into(),
        "csv=p=0".into(),
    ]);
    if window == Window::Start {
        args.extend(["-read_intervals".into(), format!("%+{SCAN_WINDOW_SECONDS}").into()]);
    }
    let out = tools.ffprobe(args, SCAN_TIMEOUT).collect(MAX_SCAN_OUTPUT).run().await?.success()?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The scan of one stream from a [`list_packets`] listing.
pub(super) fn scan_of(csv: &str, index: u32, frame_rate: Option<f64>) -> KeyframeScan {
    analyse_packets(&packets_of(csv, index), frame_rate)
}

/// The `pts_time,flags` lines of one stream, from `stream_index,pts_time,flags` lines.
fn packets_of(csv: &str, index: u32) -> String {
    let prefix = format!("{index},");
    csv.lines().filter_map(|line| line.strip_prefix(&prefix)).collect::<Vec<_>>().join("\n")
}

/// From `pts_time,flags` lines: the longest gap between keyframes (counting the stretch after the
/// last one), and the span of the timestamps.
fn analyse_packets(csv: &str, frame_rate: Option<f64>) -> KeyframeScan {
    let mut first: Option<f64> = None;
    let mut last: Option<f64> = None;
    let mut keyframes: Vec<f64> = Vec::new();
    for line in csv.lines() {
        let (Some(pts), Some(flags)) = (line.split(',').next(), line.rsplit(',').next()) else { continue };
        let Some(t) = number_text(pts) else { continue };
        first = Some(first.map_or(t, |f: f64| f.min(t)));
        last = Some(last.map_or(t, |l: f64| l.max(t)));
        if flags.starts_with('K') {
            keyframes.push(t);
        }
    }
    let (Some(first), Some(last)) = (first, last) else {
        return KeyframeScan { max_keyframe_interval: None, duration: None };
    };
    let frame = frame_rate.map_or(0.0, |f| 1.0 / f);
    let end = last + frame;
    keyframes.sort_by(f64::total_cmp);
    let max_gap = if keyframes.is_empty() {
        end - first
    } else {
        let inner = keyframes.windows(2).map(|w| w[1] - w[0]).fold(0.0, f64::max);
        let before_first = keyframes[0] - first;
        let after_last = end - keyframes[keyframes.len() - 1];
        inner.max(before_first).max(after_last)
    };
    let duration = end - first;
    KeyframeScan {
        max_keyframe_interval: Some(max_gap).filter(|g| g.is_finite() && *g >= 0.0),
        duration: Some(duration).filter(|d| d.is_finite() && *d > 0.0 && *d < 1e7),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyframe_gaps_include_the_tail() {
        let csv = "0.000000,K_\n0.040000,__\n2.000000,K_\n2.040000,__\n9.960000,__\nN/A,__\ngarbage\n";
        let scan = analyse_packets(csv, Some(25.0));
        let gap = scan.max_keyframe_interval.unwrap();
        assert!((gap - 8.0).abs() < 1e-6, "{gap}");
        assert!((scan.duration.unwrap() - 10.0).abs() < 1e-6);
        let none = analyse_packets("", None);
        assert!(none.max_keyframe_interval.is_none() && none.duration.is_none());
        let no_key = analyse_packets("0.0,__\n5.0,__\n", None);
        assert_eq!(no_key.max_keyframe_interval, Some(5.0));
    }

    #[test]
    fn only_the_chosen_stream_counts() {
        let csv = "0,0.0,K_\n1,0.0,K_\n0,1.0,__\n1,7.0,__\n";
        let scan = scan_of(csv, 0, None);
        assert_eq!(scan.duration, Some(1.0));
        assert_eq!(scan_of(csv, 1, None).duration, Some(7.0));
    }
}
